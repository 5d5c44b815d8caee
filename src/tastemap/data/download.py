"""Optional download of a raw dataset file, with MD5 verification.

The only code in tastemap that touches the network; the workflow calls it only through the
explicit ``download`` rule (config ``input.download.url``). The published MD5s of the Last.fm
files (in each dataset's README) are of the extracted TSV files, so the checksum is verified
on the file written to ``dest``, after extraction from the archive when ``member`` is given.
"""
from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tarfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

from tastemap.core.logs import Progress

log = logging.getLogger("tastemap.data.download")

#: Published MD5s of the raw files (from the datasets' READMEs), for the ready config files.
PUBLISHED_MD5 = {
    "userid-timestamp-artid-artname-traid-traname.tsv": "64747b21563e3d2aa95751e0ddc46b68",
    "usersha1-artmbid-artname-plays.tsv": "be672526eb7c69495c27ad27803148f1",
}


class DownloadError(RuntimeError):
    """A failed download, a missing archive member or a checksum mismatch; names URL and file."""


def md5sum(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex MD5 of a file, read in chunks (constant memory)."""
    digest = hashlib.md5()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def fetch(url: str, dest: str | Path, timeout: float = 60.0, chunk: int = 1 << 20) -> int:
    """Stream ``url`` to ``dest`` (written as ``dest.part`` and renamed when complete, so an
    interrupted download never looks finished). Returns the number of bytes."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(part, "wb") as out:
            total = response.headers.get("Content-Length")
            progress = Progress(f"download {url}", total=int(total) if total else None, logger=log)
            done = 0
            while block := response.read(chunk):
                out.write(block)
                done += len(block)
                progress.update(done)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        part.unlink(missing_ok=True)
        raise DownloadError(f"download of {url} failed: {exc}") from exc
    if total is not None and done != int(total):
        part.unlink(missing_ok=True)
        raise DownloadError(f"download of {url} incomplete: {done} of {total} bytes")
    os.replace(part, dest)
    return done


def extract_member(archive: str | Path, member: str, dest: str | Path) -> None:
    """Copy one file out of a tar (any compression) or zip archive to ``dest``."""
    archive, dest = Path(archive), Path(dest)
    part = dest.with_name(dest.name + ".part")
    if tarfile.is_tarfile(archive):
        with tarfile.open(archive) as tar:
            try:
                info = tar.getmember(member)
            except KeyError:
                names = [m.name for m in tar.getmembers() if m.isfile()][:20]
                raise DownloadError(f"{archive}: no member {member!r} (input.download.member); "
                                    f"files: {names}") from None
            src = tar.extractfile(info)
            if src is None:
                raise DownloadError(f"{archive}: member {member!r} is not a regular file")
            with src, open(part, "wb") as out:
                shutil.copyfileobj(src, out, 1 << 20)
    elif zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            if member not in zf.namelist():
                raise DownloadError(f"{archive}: no member {member!r} (input.download.member); "
                                    f"files: {zf.namelist()[:20]}")
            with zf.open(member) as src, open(part, "wb") as out:
                shutil.copyfileobj(src, out, 1 << 20)
    else:
        raise DownloadError(f"{archive}: not a tar or zip archive, but input.download.member is set")
    os.replace(part, dest)


def download(url: str, dest: str | Path, md5: str | None = None, member: str | None = None,
             timeout: float = 60.0) -> dict:
    """Download ``url`` to ``dest`` (extracting ``member`` when the URL is an archive) and check
    the MD5 of ``dest``. On a mismatch ``dest`` is deleted and :class:`DownloadError` raised.

    Returns stats: ``url, file, bytes_downloaded, md5, md5_verified``.
    """
    dest = Path(dest)
    if member:
        archive = dest.with_name(dest.name + ".archive")
        n = fetch(url, archive, timeout)
        try:
            extract_member(archive, member, dest)
        finally:
            archive.unlink(missing_ok=True)
    else:
        n = fetch(url, dest, timeout)
    got = md5sum(dest)
    if md5 and got.lower() != md5.lower():
        dest.unlink(missing_ok=True)
        raise DownloadError(f"{dest} (from {url}): MD5 {got} does not match the expected "
                            f"{md5.lower()} (input.download.md5); the file was deleted")
    if not md5:
        log.warning("%s: no input.download.md5 given, checksum not verified (MD5 %s)", dest, got)
    return {"url": url, "file": str(dest), "bytes_downloaded": n, "md5": got,
            "md5_verified": bool(md5)}
