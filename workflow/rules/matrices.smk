# Matrices and splits: prepared interactions -> CSR users x items -> per-seed train/test.


rule matrices:
    input:
        interactions=R("data/interactions.parquet"),
        users=R("data/users.parquet"),
        artists=R("data/artists.parquet"),
        songs=R("data/songs.parquet"),
    output:
        matrices=expand(R("matrices/user_{entity}.npz"), entity=ENTITIES),
        stats=report(R("matrices/stats.json"), caption="../report/matrices_stats.rst",
                     category="Data", labels={"table": "matrices"}),
    params:
        entities=ENTITIES,
    log:
        LOG("matrices.log"),
    benchmark:
        BENCH("matrices.tsv")
    threads: 1
    resources:
        # measured: 2,315 MiB peak for the MSD-shaped data (290 MB of prepared tables, 48.5M rows),
        # 950-1,211 MiB at Last.fm-360K size (86 MB)
        mem_mb=lambda w, input: max(1400, int(8 * input.size_mb) + 400),
        runtime=30,
    script:
        "../../scripts/matrices.py"


def _valid_outputs(kind):
    if not cfg("split", "validation"):
        return []
    return expand(R("split/seed{{seed}}/valid/{kind}_{entity}.npz"), kind=kind, entity=ENTITIES)


rule split:
    input:
        matrices=expand(R("matrices/user_{entity}.npz"), entity=ENTITIES),
        # first-listen times, only for the temporal scheme
        interactions=R("data/interactions.parquet") if cfg("split", "scheme") == "temporal" else [],
    output:
        train=expand(R("split/seed{{seed}}/train_{entity}.npz"), entity=ENTITIES),
        test=expand(R("split/seed{{seed}}/test_{entity}.npz"), entity=ENTITIES),
        valid_train=_valid_outputs("train"),
        valid_test=_valid_outputs("test"),
    params:
        entities=ENTITIES,
        scheme=cfg("split", "scheme"),
        test_fraction=cfg("split", "test_fraction"),
        min_user_items=cfg("split", "min_user_items"),
        loo_top_n=cfg("split", "loo_top_n"),
        validation=cfg("split", "validation"),
    log:
        LOG("split/seed{seed}.log"),
    benchmark:
        BENCH("split/seed{seed}.tsv")
    threads: 1
    resources:
        # measured: 3,195 MiB peak for the MSD-shaped matrices (714 MB, artist + song),
        # 635-890 MiB at Last.fm-360K size (122 MB)
        mem_mb=lambda w, input: max(1000, int(4.5 * input.size_mb) + 200),
        runtime=30,
    script:
        "../../scripts/split.py"
