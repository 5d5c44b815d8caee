"""Opening an input as it is shipped: plain text, compressed (gzip, bzip2, xz, zstd) or one member
of a zip or tar archive (``.tar``, ``.tar.gz``, ``.tgz``, ...). The kind is found from the
content (magic bytes), never from the file name.

Which member of an archive is read: the member whose file name is the known name of the
format in its shipped archive (its declared ``member``, :data:`KNOWN_MEMBERS`, in any folder of
the archive); without one (``generic``, or a renamed file) the archive's only data file
(README, licence, ``.py``, ``.md``, ``.pdf``, hidden and ``__MACOSX`` files do not count);
otherwise a :class:`~tastemap.data.formats.base.FormatError` naming the archive's files.

Decompression: gzip and zstd through Arrow's ``CompressedInputStream``, bzip2 and xz through
Python's ``bz2`` / ``lzma``, zip members through ``zipfile``, tar members through ``tarfile``
(streamed: one pass over the archive when the member has its known name). The choice of gzip
and bzip2 readers is measured in docs/benchmarks.md ("Compressed inputs").
"""
from __future__ import annotations

import bz2
import contextlib
import lzma
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

import pyarrow as pa

from tastemap.data.formats.base import FormatError
from tastemap.data.formats.registry import KNOWN_MEMBERS  # noqa: F401 (built from the declarations)

COMPRESSED = {b"\x1f\x8b": "gzip", b"BZh": "bzip2", b"\xfd7zXZ\x00": "xz", b"\x28\xb5\x2f\xfd": "zstd"}
ZIP = (b"PK\x03\x04", b"PK\x05\x06")
REFUSED = {b"7z\xbc\xaf\x27\x1c": "7z", b"Rar!\x1a\x07": "RAR", b"PAR1": "Parquet"}
UTF16 = {b"\xff\xfe": "UTF-16 (little-endian)", b"\xfe\xff": "UTF-16 (big-endian)"}
#: How each compression is read (measured: docs/benchmarks.md, "Compressed inputs").
READERS: dict[str, Callable[[Path, BinaryIO], BinaryIO]] = {
    "gzip": lambda path, raw: pa.CompressedInputStream(pa.PythonFile(raw, mode="r"), "gzip"),
    "zstd": lambda path, raw: pa.CompressedInputStream(pa.PythonFile(raw, mode="r"), "zstd"),
    "bzip2": lambda path, raw: bz2.BZ2File(raw),
    "xz": lambda path, raw: lzma.LZMAFile(raw),
}
_NOT_DATA = ("readme", "license", "licence", "copying")
_NOT_DATA_SUFFIX = (".py", ".md", ".pdf", ".html", ".htm")
_CORRUPT = (EOFError, OSError, zlib.error, lzma.LZMAError, zipfile.BadZipFile, tarfile.TarError,
            pa.ArrowException)


@dataclass
class Input:
    """An opened input: ``stream.read(n)`` gives the text bytes (decompressed, the member's).

    ``position()`` is how many bytes of ``path`` were consumed (progress against ``size``).
    """

    path: Path
    stream: BinaryIO
    compression: str | None
    member: str | None
    position: Callable[[], int]
    size: int

    @property
    def label(self) -> str:
        """How messages name the input: the file, and the archive member read."""
        return f"{self.path} (member {self.member})" if self.member else str(self.path)

    def describe(self) -> dict:
        """Stats keys of the input: ``compression`` and ``member`` (None for a plain file)."""
        return {"compression": self.compression, "member": self.member}


class _Peek:
    """A read-only stream that can look at its first bytes without consuming them, and turns
    errors of a decompressor into a :class:`FormatError` naming the file."""

    def __init__(self, stream: BinaryIO, label: str, kind: str | None):
        self.stream, self.label, self.kind = stream, label, kind
        self.buffer, self.done = b"", 0

    def peek(self, n: int) -> bytes:
        while len(self.buffer) < n:
            more = self._read(n - len(self.buffer))
            if not more:
                break
            self.buffer += more
        return self.buffer[:n]

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            out, self.buffer = self.buffer + self._read(-1), b""
            return out
        if self.buffer:
            out, self.buffer = self.buffer[:n], self.buffer[n:]
            return out
        return self._read(n)

    def _read(self, n: int) -> bytes:
        try:
            data = self.stream.read(n) if n >= 0 else self.stream.read()
        except _CORRUPT as exc:
            raise FormatError(f"{self.label}: {self.kind or 'the'} data is corrupt or truncated "
                              f"after {self.done:,} bytes of text ({type(exc).__name__}: {exc})") from None
        self.done += len(data)
        return data


def _named(member: str, name: str) -> bool:
    """``member`` is ``name`` (a full member path) or a file called ``name`` in any folder."""
    return member == name or PurePosixPath(member).name == name


def _is_tar(head: bytes) -> bool:
    return len(head) >= 262 and head[257:262] == b"ustar"


def _is_data_file(name: str) -> bool:
    p = PurePosixPath(name)
    low = p.name.lower()
    return not (low.startswith(".") or "__MACOSX" in p.parts or low.startswith(_NOT_DATA)
                or low.endswith(_NOT_DATA_SUFFIX))


def _choose_member(path: Path, names: list[str], known: str | None, what: str) -> str:
    """The member to read: the known name of the format, else the only data file."""
    if known:
        hits = [n for n in names if _named(n, known)]
        if hits:
            return hits[0]
    data = [n for n in names if _is_data_file(n)]
    if len(data) == 1:
        return data[0]
    expect = f"a member named {known!r} or " if known else ""
    raise FormatError(f"{path}: cannot tell which file of the archive to read as {what}: expected "
                      f"{expect}exactly one data file; the archive has {names[:20]}"
                      + (f" and {len(names) - 20} more" if len(names) > 20 else "")
                      + ". Extract the file and point the config at it.")


def _zip_member(raw: BinaryIO, path: Path, known: str | None, what: str):
    try:
        archive = zipfile.ZipFile(raw)
        names = [i.filename for i in archive.infolist() if not i.is_dir()]
        member = _choose_member(path, names, known, what)
        return archive.open(member), member
    except zipfile.BadZipFile as exc:  # a zip cut short lost its directory: "not a zip file"
        raise FormatError(f"{path}: cannot read the zip archive: it is corrupt or truncated "
                          f"({exc})") from None
    except (zipfile.LargeZipFile, NotImplementedError) as exc:
        raise FormatError(f"{path}: cannot read the zip archive ({exc})") from None


class _SecondPass(Exception):
    """The tar archive has no member with the known name: read it again, to ``member``."""

    def __init__(self, member: str):
        super().__init__(member)
        self.member = member


def _tar_member(stream: _Peek, path: Path, known: str | None, what: str):
    """Stream through a tar archive to the member named ``known``; without one, raise
    :class:`_SecondPass` with the only data file (or a :class:`FormatError`)."""
    try:
        archive = tarfile.open(fileobj=stream, mode="r|")
        names = []
        for info in archive:
            if not info.isfile():
                continue
            if known and _named(info.name, known):
                return archive.extractfile(info), info.name
            names.append(info.name)
    except tarfile.TarError as exc:
        raise FormatError(f"{path}: cannot read the tar archive ({exc})") from None
    raise _SecondPass(_choose_member(path, names, known, what))


def _refuse(head: bytes, label: str, what: str, allow_parquet: bool, inside: str | None) -> None:
    for magic, kind in REFUSED.items():
        if not head.startswith(magic) or (kind == "Parquet" and allow_parquet and not inside):
            continue
        if kind == "Parquet" and inside:
            hint = "extract it: Parquet is read as a plain file, and is compressed already"
        else:
            hint = ("use input.format: generic" if kind == "Parquet" else
                    f"{kind} archives are not read: extract the file")
        raise FormatError(f"{label}: line 1: the file is {kind} data, not {what} text ({hint})")
    if inside and (head.startswith(ZIP) or any(head.startswith(m) for m in COMPRESSED)):
        raise FormatError(f"{label}: the {inside} data holds compressed data again; decompress it")
    name = next((n for bom, n in UTF16.items() if head.startswith(bom)), None) or _utf16(head)
    if name:
        raise FormatError(f"{label}: line 1: the file is {name} text; tastemap reads UTF-8: "
                          f"convert it (e.g. iconv -f UTF-16 -t UTF-8)")


def _utf16(head: bytes) -> str | None:
    """UTF-16 without a byte-order mark: ASCII text with a zero byte after (little-endian) or
    before (big-endian) every character."""
    sample = head[:200]
    if len(sample) < 8:
        return None
    for start, name in ((1, "UTF-16 (little-endian)"), (0, "UTF-16 (big-endian)")):
        if sample[start::2].count(0) == len(sample) // 2 and sample[1 - start::2].count(0) == 0:
            return name
    return None


def check_file(path: Path, what: str) -> None:
    """Missing, a directory or 0 bytes: a :class:`FormatError` naming the file."""
    if not path.exists():
        raise FormatError(f"{path}: file not found")
    if path.is_dir():
        raise FormatError(f"{path}: is a directory, expected a {what} file")
    if path.stat().st_size == 0:
        raise FormatError(f"{path}: file is empty (0 bytes), expected a {what} file")


@contextlib.contextmanager
def open_input(path: str | Path, what: str, known: str | None = None,
               allow_parquet: bool = False) -> Iterator[Input]:
    """Open ``path`` for reading text (see the module docstring for what is accepted).

    ``what`` names the expected content in messages; ``known`` is the member name of the format
    in its shipped archive (:data:`KNOWN_MEMBERS`). Raises :class:`FormatError` for a missing,
    empty, refused (7z, RAR, Parquet unless ``allow_parquet``), UTF-16 or corrupt input, and an
    archive without a clear member.
    """
    path = Path(path)
    check_file(path, what)
    try:
        with _open(path, what, known, allow_parquet) as opened:
            yield opened
    except _SecondPass as again:  # a tar archive without the known name: its only data file
        with _open(path, what, again.member, allow_parquet) as opened:
            yield opened


@contextlib.contextmanager
def _open(path: Path, what: str, known: str | None, allow_parquet: bool) -> Iterator[Input]:
    with contextlib.ExitStack() as stack:
        raw = stack.enter_context(open(path, "rb"))
        head = raw.read(8)
        raw.seek(0)
        _refuse(head, str(path), what, allow_parquet, None)
        kind = next((k for m, k in COMPRESSED.items() if head.startswith(m)), None)
        name = None
        if head.startswith(ZIP):
            inner, name = _zip_member(raw, path, known, what)
            kind = "zip"
        else:
            inner = READERS[kind](path, raw) if kind else raw
        if inner is not raw:
            stack.enter_context(contextlib.closing(inner))
        stream = _Peek(inner, f"{path} (member {name})" if name else str(path), kind)
        if name is None and _is_tar(stream.peek(512)):
            inner, name = _tar_member(stream, path, known, what)
            kind = f"{kind} tar" if kind else "tar"
            stream = _Peek(inner, f"{path} (member {name})", kind)
        if not stream.peek(1):
            raise FormatError(f"{stream.label}: file is empty (no bytes after decompression), "
                              f"expected a {what} file")
        if kind:
            _refuse(stream.peek(512), stream.label, what, False, kind)
        yield Input(path, stream, kind, name, raw.tell, path.stat().st_size)


def text_size(path: str | Path) -> int:
    """Bytes of text a reader will get from ``path``, estimated without reading it (for memory
    requests): the file size of a plain file or tar; the largest member of a zip (exact); the
    gzip trailer (size mod 4 GiB, raised by 4 GiB steps to at least twice the file size); 6x the
    file size for bzip2, xz and zstd. A missing file counts 0."""
    path = Path(path)
    if not path.is_file():
        return 0
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(8)
        if head.startswith(ZIP):
            try:
                return max((i.file_size for i in zipfile.ZipFile(f).infolist()), default=0)
            except zipfile.BadZipFile:
                return size
        kind = next((k for m, k in COMPRESSED.items() if head.startswith(m)), None)
        if kind != "gzip":
            return size if kind is None else 6 * size
        f.seek(-4, 2)
        text = int.from_bytes(f.read(4), "little")
    while size > (1 << 20) and text < 2 * size:
        text += 1 << 32
    return text
