# Data stage: simulate (default data) or read a real file -> canonical listens -> prepared tables.


rule simulate:
    output:
        listens=f"resources/synthetic/{DATASET}/listens.tsv",
        truth=f"resources/synthetic/{DATASET}/truth.parquet",
    params:
        simulate=cfg("simulate"),
    log:
        f"resources/synthetic/{DATASET}/simulate.log",
    benchmark:
        f"resources/synthetic/{DATASET}/simulate.benchmark.tsv"
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
        listens=R("data/listens.parquet"),
        rejected=R("data/rejected.parquet"),
        stats=report(R("data/ingest_stats.json"), caption="../report/data_ingest.rst",
                     category="Data", labels={"table": "ingest"}),
    params:
        format=ingest_format(),
        generic=cfg("input", "generic"),
    log:
        LOG("ingest.log"),
    benchmark:
        BENCH("ingest.tsv")
    threads: 2
    resources:
        # measured: peak RSS 1.8 GB for a 1.6 GB, 17.6M-line Last.fm-360K file (32 MiB blocks)
        mem_mb=lambda w, input: max(2000, int(2 * input.size_mb) + 1500),
        runtime=60,
    script:
        "../../scripts/ingest.py"


rule prepare:
    input:
        listens=R("data/listens.parquet"),
    output:
        interactions=R("data/interactions.parquet"),
        users=R("data/users.parquet"),
        artists=R("data/artists.parquet"),
        songs=R("data/songs.parquet"),
        stats=report(R("data/prepare_stats.json"), caption="../report/data_prepare.rst",
                     category="Data", labels={"table": "prepare filters"}),
    params:
        prepare=cfg("prepare"),
    log:
        LOG("prepare.log"),
    benchmark:
        BENCH("prepare.tsv")
    threads: 2
    resources:
        # measured: 4.5 GB peak for a 216 MB listens.parquet (Last.fm-360K size), i.e. 21x
        mem_mb=lambda w, input: max(2000, int(25 * input.size_mb)),
        runtime=60,
    script:
        "../../scripts/prepare.py"
