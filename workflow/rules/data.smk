# Data stage: simulate (default data) or read a real file -> canonical listens -> prepared tables.


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
        stats=report(R(L.INGEST_STATS), caption="../report/data_ingest.rst",
                     category="Data", labels={"table": "ingest"}),
    params:
        format=ingest_format(),
        generic=cfg("input", "generic"),
    log:
        LOG("ingest"),
    benchmark:
        BENCH("ingest")
    threads: threads_for(2)
    resources:
        # measured: peak RSS 1.8 GB for a 1.6 GB, 17.6M-line Last.fm-360K file (32 MiB blocks)
        mem_mb=lambda w, input: max(2000, int(2 * input.size_mb) + 1500),
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
        stats=report(R(L.PREPARE_STATS), caption="../report/data_prepare.rst",
                     category="Data", labels={"table": "prepare filters"}),
    params:
        prepare=cfg("prepare"),
    log:
        LOG("prepare"),
    benchmark:
        BENCH("prepare")
    threads: threads_for(2)
    resources:
        # measured: 4.5 GB peak for a 216 MB listens.parquet (Last.fm-360K size), i.e. 21x
        mem_mb=lambda w, input: max(2000, int(25 * input.size_mb)),
        runtime=60,
    script:
        "../../scripts/prepare.py"
