"""Rule download: fetch the raw dataset file named in config input.download (optional, explicit)."""

import sys

from tastemap.core import logs
from tastemap.core.exit import finish
from tastemap.data.download import DownloadError, download


def main(snakemake):
    log = logs.setup(snakemake.log[0])
    p = snakemake.params
    log.info("download %s -> %s%s", p.url, snakemake.output[0], f" (member {p.member})" if p.member else "")
    try:
        stats = download(p.url, snakemake.output[0], md5=p.md5, member=p.member, timeout=p.timeout)
    except DownloadError as exc:
        log.error("download failed: %s", exc)
        sys.exit(1)
    log.info("done: %s", stats)
    finish()  # the process ends here, without the interpreter's teardown: tastemap/core/exit.py


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
