"""Write the bad-input corpus (run once; the files are committed): python make_corpus.py

Every file is small and deterministic. tests/test_bad_input.py holds the expected outcome of
each case and README.md the table of cases -> outcomes.
"""
from __future__ import annotations

import bz2
import gzip
import io
import lzma
import tarfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

A1 = "f1b1cf71-bd35-4e99-8624-24a6e15f133a"
A2 = "a7f7df4a-77d8-4f12-8acd-5c60c93f4de8"
T1 = "db16d0b3-b8ce-4aa8-a11a-e4d53cc7f8a6"
U1 = "00000c289a1829a808ac09c00daf10bc3c4e223b"
U2 = "00001411dc427966b17297bf4d69e7e193135d89"


def k1(user="user_000001", ts="2009-05-04T23:08:57Z", amb=A1, artist="Deep Dish", tmb=T1,
       track="Fuck Me Im Famous"):
    return "\t".join([user, ts, amb, artist, tmb, track])


def k360(user=U1, mbid=A1, artist="betty blowtorch", plays="2137"):
    return "\t".join([user, mbid, artist, plays])


GOOD_1K = [k1(), k1(user="user_000002", ts="2009-05-03T10:00:00Z", artist="坂本龍一",
                   track="Composition 0919"),
           k1(user="user_000003", amb="", artist="Björk", tmb="", track="Jóga"),
           k1(user="user_000004", ts="2008-01-01T00:00:00Z", artist="Air", track="La Femme d'Argent")]
#: Hostile archive member names: path traversal, an absolute path, markup, a very long name, a
#: newline (all data files by name: hostile_names.zip lists them and reads none)
HOSTILE_NAMES = ["../../etc/passwd", "/abs/path.tsv", "<img src=x onerror=alert(1)>.tsv",
                 "long_" + "x" * 250 + ".tsv", "new\nline.tsv"]
#: hostile_names.tar: its only data file (read), next to a README and a LICENSE out of the folder
HOSTILE_MEMBER = "../../<img src=x onerror=alert(1)>\n" + "y" * 200 + ".tsv"
GOOD_360K = [k360(), k360(user=U2, mbid="", artist="die Ärzte", plays="1099"),
             k360(user=U2, mbid=A2, artist='"Weird Al" Yankovic', plays="1"),
             k360(artist="Melanie C", plays="897")]


def lines(*ls: str, end: str = "\n") -> bytes:
    return "".join(line + end for line in ls).encode("utf-8")


def lastfm_1k_tar_gz(plays: bytes) -> bytes:
    """``lastfm-dataset-1K.tar.gz`` as shipped: a folder with README, profiles and the plays."""
    return _tar_gz({
        "lastfm-dataset-1K/README.txt": b"Last.fm Dataset - 1K users\n",
        "lastfm-dataset-1K/userid-profile.tsv": lines("#id\tgender\tage\tcountry\tregistered",
                                                      "user_000001\tm\t\tJapan\tAug 13, 2006"),
        "lastfm-dataset-1K/userid-timestamp-artid-artname-traid-traname.tsv": plays})


def hetrec_zip(user_artists: bytes) -> bytes:
    """``hetrec2011-lastfm-2k.zip`` as shipped: every .dat file and the readme at the zip root."""
    return _zip({
        "artists.dat": lines(
            "id\tname\turl\tpictureURL",
            "51\tDuran Duran\thttp://www.last.fm/music/Duran+Duran\thttp://x/51.jpg",
            "52\tMorcheeba\thttp://www.last.fm/music/Morcheeba\thttp://x/52.jpg"),
        "readme.txt": b"hetrec2011-lastfm-2k\r\n",
        "tags.dat": "tagID\ttagValue\n1\tmetal\n2\tMot\xf6rhead\n".encode("latin-1"),
        "user_artists.dat": user_artists,
        "user_friends.dat": lines("userID\tfriendID", "2\t275"),
        "user_taggedartists-timestamps.dat": lines("userID\tartistID\ttagID\ttimestamp",
                                                   "2\t52\t13\t1238536800000"),
        "user_taggedartists.dat": lines("userID\tartistID\ttagID\tday\tmonth\tyear",
                                        "2\t52\t13\t01\t04\t2009")})


def files() -> dict[str, bytes]:
    f: dict[str, bytes] = {}
    # ---- lastfm-1k ----
    f["lastfm-1k/stray_tabs.tsv"] = lines(
        *GOOD_1K,
        k1(track="Fuck Me\tIm Famous"),                        # tab in track name: recovered
        k1(amb="", artist="Guns\tN' Roses", tmb=T1),             # tab in artist name: recovered
        k1(amb=A1, artist="A\tB", tmb="", track="C\tD"),       # tabs in both names: recovered
        k1(amb="", artist="A\t", tmb="", track="B"),            # two empty candidates: ambiguous
    )
    f["lastfm-1k/missing_fields.tsv"] = lines(
        *GOOD_1K, "user_000005\t2009-05-04T23:08:57Z\t\tArtist\tTrack", "user_000005\t2009-05-04T23:08:57Z")
    f["lastfm-1k/extra_column.tsv"] = lines(*GOOD_1K, k1() + "\textra")
    f["lastfm-1k/bad_timestamps.tsv"] = lines(
        *GOOD_1K, k1(ts="2009-13-45T99:00:00Z"), k1(ts="yesterday"), k1(ts=""))
    f["lastfm-1k/empty_names.tsv"] = lines(
        *GOOD_1K, k1(user=""), k1(artist=""), k1(track=""))
    f["lastfm-1k/bad_utf8.tsv"] = (lines(*GOOD_1K)
                                   + b"user_000009\t2009-05-04T23:08:57Z\t\tMot\xf6rhead\t\tAce\n")
    f["lastfm-1k/bom_crlf.tsv"] = b"\xef\xbb\xbf" + lines(*GOOD_1K, end="\r\n")
    f["lastfm-1k/blank_lines.tsv"] = lines(GOOD_1K[0], "", GOOD_1K[1], "   ", GOOD_1K[2], "\t", GOOD_1K[3])
    f["lastfm-1k/very_long_line.tsv"] = lines(*GOOD_1K, k1(track="la" * 40_000), k1(track="x" * 60_000))
    f["lastfm-1k/duplicates.tsv"] = lines(*GOOD_1K, GOOD_1K[0], GOOD_1K[0])
    f["lastfm-1k/no_final_newline.tsv"] = lines(*GOOD_1K)[:-1]
    f["lastfm-1k/empty.tsv"] = b""
    f["lastfm-1k/only_blank_lines.tsv"] = b"\n\n  \n"
    f["lastfm-1k/is_lastfm360k.tsv"] = lines(*GOOD_360K)
    f["lastfm-1k/gzip.tsv"] = gzip.compress(lines(*GOOD_1K), mtime=0)
    f["lastfm-1k/utf16.tsv"] = "".join(line + "\n" for line in GOOD_1K).encode("utf-16")  # with a BOM
    f["lastfm-1k/truncated.tsv.gz"] = gzip.compress(lines(*GOOD_1K * 50), mtime=0)[:-30]
    f["lastfm-1k/truncated.tsv.bz2"] = bz2.compress(lines(*GOOD_1K * 50))[:-30]
    f["lastfm-1k/truncated.tsv.xz"] = lzma.compress(lines(*GOOD_1K * 50))[:-30]
    f["lastfm-1k/truncated.tsv.zst"] = _zstd(lines(*GOOD_1K * 50))[:-30]
    # a decompression bomb: 48 MiB of one line without a tab in 47 KB of gzip, between good lines
    f["lastfm-1k/bomb.tsv.gz"] = gzip.compress(
        lines(*GOOD_1K) + b"x" * (48 << 20) + b"\n" + lines(*GOOD_1K), compresslevel=9, mtime=0)
    # a runaway writer: a million empty lines (and spaces-only ones) between good lines
    f["lastfm-1k/runaway_blank_lines.tsv.gz"] = gzip.compress(
        lines(*GOOD_1K) + b"\n" * 1_000_000 + b"  \n" * 1000 + lines(*GOOD_1K), compresslevel=9,
        mtime=0)
    f["lastfm-1k/lastfm-dataset-1K.tar.gz"] = lastfm_1k_tar_gz(lines(*GOOD_1K))
    # a download cut short inside the plays file
    f["lastfm-1k/truncated_lastfm-dataset-1K.tar.gz"] = lastfm_1k_tar_gz(lines(*GOOD_1K * 50))[:-30]
    f["lastfm-1k/hostile_names.zip"] = _zip({name: lines(*GOOD_1K) for name in HOSTILE_NAMES})
    f["lastfm-1k/hostile_names.tar"] = _tar({"/abs/README.txt": b"about the data\n",
                                             "../../etc/LICENSE": b"public domain\n",
                                             HOSTILE_MEMBER: lines(*GOOD_1K)})
    # ---- lastfm-360k ----
    f["lastfm-360k/junk_date_users.tsv"] = lines(
        *GOOD_360K, k360(user="sep 20, 2008"), k360(user="2008-09-20"))
    f["lastfm-360k/play_counts.tsv"] = lines(
        *GOOD_360K, *GOOD_360K, k360(plays="abc"), k360(plays="12.5"), k360(plays="-3"), k360(plays="0"),
        k360(plays="99999999999999999999"), k360(plays="2147483648"), k360(plays="2147483647"),
        k360(plays=" 42 "), k360(plays=""))
    f["lastfm-360k/fields.tsv"] = lines(
        *GOOD_360K, k360() + "\textra", f"{U1}\t{A1}\tno plays", f"{U1}\t{A1}\t\t5", f"\t{A1}\tArtist\t5")
    f["lastfm-360k/quotes.tsv"] = lines(
        k360(artist='"'), k360(artist='"Weird Al" Yankovic'), k360(artist="Guns N' Roses"),
        k360(artist='say "hi'))
    f["lastfm-360k/crlf_bom.tsv"] = b"\xef\xbb\xbf" + lines(*GOOD_360K, end="\r\n")
    f["lastfm-360k/is_lastfm1k.tsv"] = lines(*GOOD_1K)
    f["lastfm-360k/gzip.tsv"] = gzip.compress(lines(*GOOD_360K), mtime=0)
    f["lastfm-360k/plays_parser.tsv"] = lines(
        *GOOD_360K, *(k360(plays=p) for p in ("+5", "0x10", "1e3", "\u0663", "1_000", "0005", "+0", " +7 ")))
    f["lastfm-360k/utf16_no_bom.tsv"] = "".join(line + "\n" for line in GOOD_360K).encode("utf-16-le")
    f["lastfm-360k/lastfm-dataset-360K.tar.gz"] = _tar_gz({
        "lastfm-dataset-360K/README.txt": b"Last.fm Dataset - 360K users\n",
        "lastfm-dataset-360K/usersha1-profile.tsv": lines(f"{U1}\tm\t22\tGermany\tFeb 1, 2007"),
        "lastfm-dataset-360K/usersha1-artmbid-artname-plays.tsv": lines(*GOOD_360K)})
    f["lastfm-360k/empty.tsv"] = b""
    # ---- msd-triplets ----
    f["msd-triplets/unique_tracks.txt"] = lines(
        "TRMMMYQ128F932D901<SEP>SOQMMHC12AB0180CB8<SEP>Faster Pussy cat<SEP>Silent Night",
        "TRMMMKD128F425225D<SEP>SOVFVAK12A8C1350D9<SEP>Karkkiautomaatti<SEP>Tanssi vaan",
        "TRMMMRX128F93187D9<SEP>SOGTUKN12AB017F4F1<SEP>Hudson Mohawke<SEP>No One Could Ever",
        "TRDUPLICATE000000A<SEP>SOGTUKN12AB017F4F1<SEP>Someone Else<SEP>Other Title",  # duplicate song id
        "TRMMMCH128F425532C<SEP>SOBNYVR12A8C13558C<SEP>Yerba Brava<SEP>",              # empty title
        "TRBROKEN<SEP>SOBROKEN<SEP>only three",                                       # 3 fields
    )
    f["msd-triplets/triplets.txt"] = lines(
        f"{U1}\tSOQMMHC12AB0180CB8\t1", f"{U1}\tSOVFVAK12A8C1350D9\t2", f"{U2}\tSOGTUKN12AB017F4F1\t5",
        f"{U2}\tSOBNYVR12A8C13558C\t3", f"{U2}\tSOQMMHC12AB0180CB8\t1",
        f"{U2}\tSONOTINTRACKLIST00\t4", f"{U2}\tSOVFVAK12A8C1350D9\tx", f"{U2}\tSOVFVAK12A8C1350D9",
        f"{U2}\tSOVFVAK12A8C1350D9\t1\textra")
    f["msd-triplets/is_lastfm1k.txt"] = lines(*GOOD_1K)
    f["msd-triplets/hex_counts.txt"] = lines(
        f"{U1}\tSOQMMHC12AB0180CB8\t1", f"{U1}\tSOVFVAK12A8C1350D9\t12", f"{U2}\tSOGTUKN12AB017F4F1\t5",
        f"{U2}\tSOBNYVR12A8C13558C\t0x10")  # Arrow's cast alone reads 0x10 as 16
    f["msd-triplets/train_triplets.7z"] = b"7z\xbc\xaf\x27\x1c\x00\x04" + bytes(24)
    shipped = [f"{U1}\tSOQMMHC12AB0180CB8\t1", f"{U1}\tSOVFVAK12A8C1350D9\t2",
               f"{U2}\tSOGTUKN12AB017F4F1\t5"]
    f["msd-triplets/train_triplets.txt.zip"] = _zip({"train_triplets.txt": lines(*shipped)})
    f["msd-triplets/truncated_train_triplets.txt.zip"] = _zip(
        {"train_triplets.txt": lines(*shipped * 50)})[:-30]
    # ---- hetrec-2k ----
    f["hetrec-2k/artists.dat"] = (
        lines("id\tname\turl\tpictureURL", "1\tMALICE MIZER\thttp://www.last.fm/music/MALICE+MIZER\thttp://x/1.jpg",
              "2\tDiary of Dreams\thttp://www.last.fm/music/Diary+of+Dreams\thttp://x/2.jpg")
        + "3\tMot\xf6rhead\thttp://www.last.fm/music/Motorhead\thttp://x/3.jpg\n".encode("latin-1")
        + lines("4\tBjörk\thttp://www.last.fm/music/Bjork\thttp://x/4.jpg",
                "2\tDuplicate id\thttp://a\thttp://b", ""))
    f["hetrec-2k/user_artists.dat"] = lines(
        "userID\tartistID\tweight", "2\t1\t13883", "2\t2\t11690", "2\t3\t11351", "3\t4\t228", "3\t1\t5",
        "4\t99\t10", "4\t2\t-1", "4\t2\tlots", "", "4\t3\t7")
    f["hetrec-2k/header_only.dat"] = lines("userID\tartistID\tweight")
    f["hetrec-2k/no_header.dat"] = lines("2\t1\t13883", "2\t2\t11690")
    f["hetrec-2k/artists_as_listens.dat"] = lines("id\tname\turl\tpictureURL", "1\tMALICE MIZER\thttp://a\thttp://b")
    f["hetrec-2k/hetrec2011-lastfm-2k.zip"] = hetrec_zip(lines(
        "userID\tartistID\tweight", "2\t51\t13883", "2\t52\t11690", "3\t51\t228", "3\t99\t5"))
    f["hetrec-2k/crlf.dat"] = lines("userID\tartistID\tweight", "2\t1\t13883", "2\t2\t11690", end="\r\n")
    # ---- generic ----
    f["generic/listens.csv"] = lines(
        "listener,band,song,when,count",
        'alice,"Earth, Wind & Fire",September,2009-05-04T23:08:57Z,3',
        "alice,Air,La Femme,2009-05-04 10:00:00,1",
        "bob,Air,,2009-05-04,2",
        "bob,Air,La Femme,2009-05-04T23:08:57Z,-2",
        "bob,Air,La Femme,not a date,2",
        "",
        "carol,Air,La Femme,2009-05-04T23:08:57Z,1,extra",
        ",Air,La Femme,2009-05-04T23:08:57Z,1",
        "carol,Air,La Femme,2009-05-04T23:08:57Z,1",
        "dave,Air,La Femme,2009-05-04T23:08:57Z,1",
        "erin,Air,La Femme,2009-05-04T23:08:57Z,1",
        "frank,Air,La Femme,2009-05-04T23:08:57Z,1",
    )
    f["generic/positions.tsv"] = lines("u1\tArtist A\t1241388537000", "u2\tArtist B\t1241388537999",
                                       "u3\tArtist C\tsoon")
    f["generic/listens.parquet"] = _parquet()
    f["generic/one_csv.zip"] = _zip({"README": b"columns: listener, band\n",
                                     "data/plays.csv": lines("listener,band", "alice,Air", "bob,Air")})
    f["generic/two_csv.zip"] = _zip({"a.csv": lines("listener,band", "alice,Air"),
                                     "b.csv": lines("listener,band", "bob,Air")})
    return f


def _write_tar(fileobj, members: dict[str, bytes]) -> None:
    with tarfile.open(fileobj=fileobj, mode="w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            tar.addfile(info, io.BytesIO(data))


def _tar(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    _write_tar(out, members)
    return out.getvalue()


def _tar_gz(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as gz:
        _write_tar(gz, members)
    return out.getvalue()


def _zstd(data: bytes) -> bytes:
    import pyarrow as pa

    sink = pa.BufferOutputStream()
    with pa.CompressedOutputStream(sink, "zstd") as out:
        out.write(data)
    return sink.getvalue().to_pybytes()


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), data,
                             compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def _parquet() -> bytes:
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({
        "uid": pa.array([1, 1, 2, None, 3], pa.int64()),
        "name": ["Air", "Björk", None, "Air", "Air"],
        "n": pa.array([3, -1, 2, 1, 4], pa.int32()),
        "t": pa.array([1241388537, 1241388538, 1241388539, 1241388540, 1241388541],
                      pa.timestamp("s")),
    })
    out = io.BytesIO()
    pq.write_table(table, out)
    return out.getvalue()


if __name__ == "__main__":
    for name, data in files().items():
        path = HERE / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    print(f"wrote {len(files())} files under {HERE}")
