# Matrices and splits: prepared interactions -> CSR users x items -> per-seed train/test.


rule matrices:
    input:
        interactions=R(L.INTERACTIONS),
        users=R(L.USERS),
        artists=R(L.ARTISTS),
        songs=R(L.SONGS),
    output:
        matrices=[R(L.MATRIX, entity=e) for e in ENTITIES],
        stats=report(R(L.MATRIX_STATS), caption="../report/matrices_stats.rst",
                     category="Data", labels={"table": "matrices"}),
    params:
        entities=ENTITIES,
    log:
        LOG("matrices"),
    benchmark:
        BENCH("matrices")
    threads: 1
    resources:
        mem_mb=lambda w, input: max(2000, int(8 * input.size_mb)),
        runtime=30,
    script:
        "../../scripts/matrices.py"


def _split_outputs(template):
    """One seed's files of every entity ({seed} stays a wildcard); [] for the validation
    templates without split.validation."""
    if template in (L.VALID_TRAIN, L.VALID_TEST) and not cfg("split", "validation"):
        return []
    return [R(template, entity=e) for e in ENTITIES]


rule split:
    input:
        matrices=[R(L.MATRIX, entity=e) for e in ENTITIES],
        # first-listen times, only for the temporal scheme
        interactions=R(L.INTERACTIONS) if cfg("split", "scheme") == "temporal" else [],
    output:
        train=_split_outputs(L.TRAIN),
        test=_split_outputs(L.TEST),
        valid_train=_split_outputs(L.VALID_TRAIN),
        valid_test=_split_outputs(L.VALID_TEST),
    params:
        entities=ENTITIES,
        scheme=cfg("split", "scheme"),
        test_fraction=cfg("split", "test_fraction"),
        min_user_items=cfg("split", "min_user_items"),
        loo_top_n=cfg("split", "loo_top_n"),
        validation=cfg("split", "validation"),
    log:
        LOG(L.SPLIT_DIR),
    benchmark:
        BENCH(L.SPLIT_DIR)
    threads: 1
    resources:
        mem_mb=lambda w, input: max(2000, int(6 * input.size_mb)),
        runtime=30,
    script:
        "../../scripts/split.py"
