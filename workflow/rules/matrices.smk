# Matrices and splits: prepared interactions -> CSR users x items -> per-seed train/test.


rule matrices:
    input:
        interactions=R(L.INTERACTIONS),
        users=R(L.USERS),
        artists=R(L.ARTISTS),
        songs=R(L.SONGS),
    output:
        matrices=[R(L.MATRIX, entity=e) for e in ENTITIES],
        stats=report(
            R(L.MATRIX_STATS),
            caption="../report/matrices_stats.rst",
            category="Data",
            labels={"table": "matrices"},
        ),
    params:
        entities=ENTITIES,
    log:
        LOG("matrices"),
    benchmark:
        BENCH("matrices")
    threads: 1
    resources:
        # measured: 2,315-4,124 MiB peak for the MSD-shaped data (290 MB of prepared tables,
        # 48.5M rows), 950-1,321 MiB at Last.fm-360K size (86 MB)
        mem_mb=lambda w, input: max(1400, int(15 * input.size_mb) + 400),
        runtime=30,
    script:
        "../../scripts/matrices.py"


def _split_outputs(template):
    """One seed's files of every entity ({seed} stays a wildcard); [] for the validation
    templates without split.validation."""
    if template in (L.VALID_TRAIN, L.VALID_TEST) and not cfg("split", "validation"):
        return []
    if template in (L.HELD_OUT_VALID, L.HELD_OUT_TEST) and not held_out_users():
        return []
    return [R(template, entity=e) for e in ENTITIES]


rule split:
    input:
        matrices=[R(L.MATRIX, entity=e) for e in ENTITIES],
        # first-listen times, only for the temporal scheme
        interactions=R(L.INTERACTIONS) if cfg("split", "scheme") == "temporal" else [],
        # split.scheme given: each pair's part, and the ids prepare gave the names
        given=[R(L.GIVEN_SPLIT), R(L.USERS), R(L.ARTISTS)] if given_split() else [],
    output:
        train=_split_outputs(L.TRAIN),
        test=_split_outputs(L.TEST),
        valid_train=_split_outputs(L.VALID_TRAIN),
        valid_test=_split_outputs(L.VALID_TEST),
        # split.held_out_users: the rows of the users no fit sees
        held_valid=_split_outputs(L.HELD_OUT_VALID),
        held_test=_split_outputs(L.HELD_OUT_TEST),
    params:
        entities=ENTITIES,
        scheme=cfg("split", "scheme"),
        test_fraction=cfg("split", "test_fraction"),
        min_user_items=cfg("split", "min_user_items"),
        loo_top_n=cfg("split", "loo_top_n"),
        validation=cfg("split", "validation"),
        held_out=cfg("split", "held_out_users"),
        # named (with their values) when a split gets no test user: they take items from users
        prepare={k: cfg("prepare", k) for k in ("min_artist_listeners", "min_track_listeners")},
    log:
        LOG(L.SPLIT_DIR),
    benchmark:
        BENCH(L.SPLIT_DIR)
    threads: 1
    resources:
        # measured: 3,195 MiB peak for the MSD-shaped matrices (714 MB, artist + song),
        # 635-890 MiB at Last.fm-360K size (122 MB)
        mem_mb=lambda w, input: max(1000, int(4.5 * input.size_mb) + 200),
        runtime=30,
    script:
        "../../scripts/split.py"
