"""The optional download rule and tastemap.data.download, against a local HTTP server on 127.0.0.1
(no test reaches the network)."""
from __future__ import annotations

import hashlib
import http.server
import io
import json
import tarfile
import threading
import zipfile
from functools import partial

import pytest
import yaml
from conftest import run_snakemake

from tastemap.data.download import DownloadError, download, md5sum

U1 = "00000c289a1829a808ac09c00daf10bc3c4e223b"
U2 = "00001411dc427966b17297bf4d69e7e193135d89"
TSV = "".join(f"{u}\t\tartist {a}\t{p}\n" for u in (U1, U2) for a, p in ((1, 5), (2, 3), (3, 1))).encode()
MEMBER = "lastfm-dataset-360K/usersha1-artmbid-artname-plays.tsv"


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A local HTTP server serving a raw TSV, a tar.gz and a zip holding it."""
    root = tmp_path_factory.mktemp("www")
    (root / "plays.tsv").write_bytes(TSV)
    with tarfile.open(root / "lastfm-dataset-360K.tar.gz", "w:gz") as tar:
        info = tarfile.TarInfo(MEMBER)
        info.size = len(TSV)
        tar.addfile(info, io.BytesIO(TSV))
    with zipfile.ZipFile(root / "data.zip", "w") as zf:
        zf.writestr("user_artists.dat", TSV)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


MD5 = hashlib.md5(TSV).hexdigest()


def test_plain_file_md5_verified(server, tmp_path):
    stats = download(f"{server}/plays.tsv", tmp_path / "x.tsv", md5=MD5.upper())
    assert (tmp_path / "x.tsv").read_bytes() == TSV
    assert stats["md5"] == MD5 and stats["md5_verified"] and stats["bytes_downloaded"] == len(TSV)
    assert not list(tmp_path.glob("*.part"))


@pytest.mark.parametrize("name,member", [("lastfm-dataset-360K.tar.gz", MEMBER),
                                         ("data.zip", "user_artists.dat")])
def test_archive_member_extracted(server, tmp_path, name, member):
    download(f"{server}/{name}", tmp_path / "x.tsv", md5=MD5, member=member)
    assert md5sum(tmp_path / "x.tsv") == MD5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.tsv"]  # archive removed


def test_md5_mismatch_deletes_file(server, tmp_path):
    with pytest.raises(DownloadError, match=r"x.tsv .*plays.tsv.*: MD5 .* does not match "
                                            r".*0{32}.*input.download.md5"):
        download(f"{server}/plays.tsv", tmp_path / "x.tsv", md5="0" * 32)
    assert not (tmp_path / "x.tsv").exists()


def test_http_error_and_missing_member(server, tmp_path):
    with pytest.raises(DownloadError, match=r"download of .*/nothing.tsv failed: HTTP Error 404"):
        download(f"{server}/nothing.tsv", tmp_path / "x.tsv")
    with pytest.raises(DownloadError, match=r"no member 'nope.tsv' \(input.download.member\)"):
        download(f"{server}/lastfm-dataset-360K.tar.gz", tmp_path / "x.tsv", member="nope.tsv")
    assert not list(tmp_path.iterdir())


def _config(tmp_path, server, md5):
    cfg = {"dataset": "dl", "entities": ["artist"],
           "input": {"format": "lastfm-360k", "path": "resources/dl/plays.tsv",
                     "download": {"url": f"{server}/lastfm-dataset-360K.tar.gz", "member": MEMBER,
                                  "md5": md5}}}
    path = tmp_path / "dl.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.mark.workflow
def test_download_rule_then_ingest(server, tmp_path):
    """The rule fetches the archive from 127.0.0.1, checks the MD5, and ingest reads the file."""
    # targets before --configfile (its nargs would swallow them)
    run_snakemake(tmp_path, "results/dl/data/ingest_stats.json", "--configfile",
                  str(_config(tmp_path, server, MD5)), configfile=None)
    assert md5sum(tmp_path / "resources/dl/plays.tsv") == MD5
    stats = json.loads((tmp_path / "results/dl/data/ingest_stats.json").read_text())
    assert (stats["lines"], stats["kept"], stats["rejected"]) == (6, 6, 0)
    assert "md5_verified': True" in (tmp_path / "results/dl/logs/download.log").read_text()


@pytest.mark.workflow
def test_download_rule_bad_md5_fails_clearly(server, tmp_path):
    proc = run_snakemake(tmp_path, "results/dl/data/ingest_stats.json", "--configfile",
                         str(_config(tmp_path, server, "f" * 32)), configfile=None, check=False)
    assert proc.returncode != 0
    text = (tmp_path / "results/dl/logs/download.log").read_text()
    assert "does not match the expected " + "f" * 32 in text
    assert not (tmp_path / "resources/dl/plays.tsv").exists()
