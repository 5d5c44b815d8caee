# Data stage: simulate (default data) or read a real file -> canonical listens -> prepared tables.
from tastemap.data.formats.source import text_size


def _ingest_mem_mb(wildcards, input):
    """800 MB + 10 % of the text inside the inputs (see rule ingest)."""
    input.size_mb  # noqa: B018 (a missing input defers this, as input.size_mb does elsewhere)
    return 800 + int(0.1 * sum(text_size(f) for f in input) / 1e6)


rule simulate:
    output:
        listens=SIM(L.SIMULATED_LISTENS),
        truth=SIM(L.SIMULATED_TRUTH),
    params:
        simulate=cfg("simulate"),
    log:
        SIM(L.SIMULATED_LOG),
    benchmark:
        SIM(L.SIMULATED_BENCHMARK)
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    script:
        "../../scripts/simulate.py"


rule ingest:
    input:
        listens=raw_input_path(),
        tracks=lambda w: config["input"]["tracks_path"] or [],
    output:
        listens=R(L.LISTENS),
        rejected=R(L.REJECTED),
        given=R(L.GIVEN_SPLIT) if given_split() else [],
        stats=report(
            R(L.INGEST_STATS),
            caption="../report/data_ingest.rst",
            category="Data",
            labels={"table": "ingest"},
        ),
    params:
        format=ingest_format(),
        module=cfg("input", "module"),
        generic=cfg("input", "generic"),
        given=cfg("split", "given"),
    log:
        LOG("ingest"),
    benchmark:
        BENCH("ingest")
    threads: threads_for(2)
    resources:
        # measured (docs/benchmarks.md, "Data stages at MSD scale"): kept rows are written block
        # by block, so memory no longer grows with the file: 669 MiB peak (time -v) for the
        # 3.0 GB, 48.5M-line MSD-shaped triplets + 104 MB track list, 511 MiB at Last.fm-360K
        # size. Rejected lines are streamed too (a 300-million-line damaged file: 413 MiB,
        # docs/benchmarks.md "Ingest of a damaged file"). The 10 % of the text (compressed
        # inputs estimated by tastemap.data.formats.source.text_size) is for the generic format,
        # which reads its whole file at once.
        mem_mb=_ingest_mem_mb,
        runtime=60,
    script:
        "../../scripts/ingest.py"


rule prepare:
    input:
        listens=R(L.LISTENS),
    output:
        interactions=R(L.INTERACTIONS),
        users=R(L.USERS),
        artists=R(L.ARTISTS),
        songs=R(L.SONGS),
        stats=report(
            R(L.PREPARE_STATS),
            caption="../report/data_prepare.rst",
            category="Data",
            labels={"table": "prepare filters"},
        ),
    params:
        prepare=cfg("prepare"),
    log:
        LOG("prepare"),
    benchmark:
        BENCH("prepare")
    threads: threads_for(2)
    resources:
        # measured: 5,126 MiB peak (/usr/bin/time -v) for the 768 MB listens.parquet of the
        # MSD-shaped file (48.5M rows; was 14.2 GB before names were read as dictionaries),
        # 1,612 MiB at Last.fm-360K size (207 MB), 584 MiB for the 1/8 MSD file (75 MB)
        mem_mb=lambda w, input: max(1000, int(7 * input.size_mb) + 500),
        runtime=60,
    script:
        "../../scripts/prepare.py"
