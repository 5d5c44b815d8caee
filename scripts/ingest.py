"""Rule ingest: raw listening log (any supported format) -> canonical listens + rejected lines + stats."""

import json
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tastemap.core import logs
from tastemap.core.exit import finish
from tastemap.data.formats import FormatError, ListensWriter, RejectedWriter, read_listens
from tastemap.data.formats.given import read_given


def main(snakemake):
    log = logs.setup(snakemake.log[0])
    pa.set_cpu_count(max(1, int(snakemake.threads)))  # the Arrow CSV reader's threads
    fmt = snakemake.params.format
    tracks = getattr(snakemake.input, "tracks", None) or None
    if tracks is not None and not isinstance(tracks, str):  # the rule gives [] without a side file
        tracks = str(tracks[0]) if len(tracks) else None
    log.info("ingest %s as %s%s", snakemake.input.listens, fmt,
             f" with names from {tracks}" if tracks else "")
    for path in (snakemake.output.listens, snakemake.output.rejected, snakemake.output.stats):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    out = snakemake.output
    generic = dict(snakemake.params.generic or {})
    try:  # kept and rejected rows go to their files block by block: memory is one block
        with ListensWriter(out.listens) as sink, RejectedWriter(out.rejected) as rejected_sink:
            if fmt == "given":  # split.scheme given: the split's files, each pair's part beside
                given = snakemake.params.given
                pairs, _, stats = read_given(given, given["shape"], generic, sink=sink,
                                             rejected_sink=rejected_sink)
                pq.write_table(pairs, out.given)
                for what, found in stats["unknown"].items():
                    if found["count"]:
                        log.warning("%s: %d (in %d rows), e.g. %s - kept", what.replace("_", " "),
                                    found["count"], found["rows"], ", ".join(found["first"]))
            else:
                _, _, stats = read_listens(fmt, snakemake.input.listens, tracks_path=tracks,
                                           generic=generic, sink=sink,
                                           rejected_sink=rejected_sink,
                                           module=snakemake.params.module)
    except FormatError as exc:
        for path in (out.listens, out.rejected, *([out.given] if fmt == "given" else [])):
            Path(path).unlink(missing_ok=True)
        log.error("ingest failed: %s", exc)
        print(f"tastemap: ingest failed: {exc}", file=sys.stderr)  # Snakemake's console too
        sys.exit(1)
    log.info("%s: %d lines = %d kept + %d rejected (header lines: %d)", stats["file"], stats["lines"],
             stats["kept"], stats["rejected"], stats.get("header_lines", 0))
    for reason, count in stats["rejected_by_reason"].items():
        log.info("  rejected %d: %s", count, reason)
    for side in ("tracks", "artists"):
        if side in stats:
            log.info("side file %s: %s", side, json.dumps(stats[side]))
    if "recovered_stray_tabs" in stats:
        log.info("lines recovered from stray tabs inside names: %d", stats["recovered_stray_tabs"])
    with open(snakemake.output.stats, "w", encoding="utf-8") as f:
        json.dump(stats, f, indent=2, ensure_ascii=False)
        f.write("\n")
    finish()  # the process ends here, without the interpreter's teardown: tastemap/core/exit.py


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
