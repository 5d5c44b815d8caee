"""download: fetch the raw dataset file named in config input.download (optional, explicit)."""

import sys

from tastemap import logs
from tastemap.download import DownloadError, download


def main(snakemake) -> None:
    log = logs.setup(snakemake.log[0])
    p = snakemake.params
    log.info("download %s -> %s%s", p.url, snakemake.output[0], f" (member {p.member})" if p.member else "")
    try:
        stats = download(p.url, snakemake.output[0], md5=p.md5, member=p.member, timeout=p.timeout)
    except DownloadError as exc:
        log.error("download failed: %s", exc)
        sys.exit(1)
    log.info("done: %s", stats)


if __name__ == "__main__":
    if "snakemake" in globals():
        main(snakemake)  # noqa: F821 (injected by Snakemake)
    else:  # by hand: python scripts/download.py URL DEST [MD5] [MEMBER]
        from types import SimpleNamespace as NS

        url, dest = sys.argv[1:3]
        md5 = sys.argv[3] if len(sys.argv) > 3 else None
        member = sys.argv[4] if len(sys.argv) > 4 else None
        main(NS(output=[dest], log=[f"{dest}.download.log"],
                params=NS(url=url, md5=md5, member=member, timeout=60.0)))
