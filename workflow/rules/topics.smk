# Topics stage: LDA taste topics, one job per (entity, k, seed) - the fit on the full matrix,
# its tables, the users and items maps, and the held-out score of a fit on the train split -
# and one sweep job over k for every entity. Adding a value to topics.k runs only that value's
# jobs and the sweep that reads them.

TOPICS_LDA = {
    "counts": cfg("topics", "counts"),
    "max_iter": cfg("topics", "max_iter"),
    "n_init": cfg("topics", "n_init"),
    "doc_topic_prior": cfg("topics", "doc_topic_prior"),
    "topic_word_prior": cfg("topics", "topic_word_prior"),
    "max_users": cfg("topics", "max_users"),
}
TOPIC_LABELS = {"entity": "{entity}", "k": "{k}", "seed": "{seed}"}


rule topics_lda:
    input:
        matrix=R(L.MATRIX),
        users=R(L.USERS),
        item_table=R(L.ITEMS),
        truth=simulated_truth(),
        train=R(L.TRAIN),
        test=R(L.TEST),
    output:
        model=R(L.TOPICS_MODEL),
        user_topics=R(L.USER_TOPICS),
        topic_items=R(L.TOPIC_ITEMS),
        top_items=report(
            R(L.TOP_ITEMS),
            caption="../report/topics_top_items.rst",
            category="Topics",
            labels=TOPIC_LABELS | {"figure": "top items table"},
        ),
        summary=R(L.TOPICS_TABLE),
        metrics=R(L.TOPICS_METRICS),
        heldout=R(L.TOPICS_HELDOUT),
        users_map=report(
            R(L.TOPICS_USERS_MAP),
            caption="../report/topics_map.rst",
            category="Topics",
            labels=TOPIC_LABELS | {"figure": "users"},
        ),
        items_map=report(
            R(L.TOPICS_ITEMS_MAP),
            caption="../report/topics_map.rst",
            category="Topics",
            labels=TOPIC_LABELS | {"figure": "items"},
        ),
        users_html=report(
            R(L.TOPICS_USERS_MAP_HTML),
            caption="../report/topics_map_html.rst",
            category="Topics",
            labels=TOPIC_LABELS | {"figure": "users (interactive)"},
        ),
        items_html=report(
            R(L.TOPICS_ITEMS_MAP_HTML),
            caption="../report/topics_map_html.rst",
            category="Topics",
            labels=TOPIC_LABELS | {"figure": "items (interactive)"},
        ),
    params:
        lda=TOPICS_LDA,
        top_n=cfg("topics", "top_n"),
        coherence_n=cfg("topics", "coherence_n"),
        umap={
            "n_neighbors": cfg("topics", "umap_n_neighbors"),
            "min_dist": cfg("topics", "umap_min_dist"),
        },
        # at most this many users / items per topic map (seeded sample; null = all)
        max_points=cfg("explore", "max_points"),
        plots={
            "figsize": cfg("plots", "figsize"),
            "dpi": cfg("plots", "dpi"),
            "n_labels": cfg("plots", "n_labels"),
        },
    log:
        LOG(f"{L.TOPICS_DIR}/lda"),
    benchmark:
        BENCH(f"{L.TOPICS_DIR}/lda")
    # explore_html reads every topic run of its entity: before the small jobs (explore.smk)
    priority: 1
    threads: 1
    resources:
        # measured: 3.65 GiB for the MSD-shaped user x song (1M users, 46M entries; 763 MB of
        # input), 1.3-1.7 GiB at Last.fm-360K size; twice on a retry
        mem_mb=mem_by_input(5),
        runtime=240,
    script:
        "../../scripts/topics_lda.py"


if config["topics"]["enabled"]:

    rule topics_sweep:
        input:
            metrics=[
                R(L.TOPICS_METRICS, entity=e, k=k, seed=s)
                for e in ENTITIES
                for k in cfg("topics", "k")
                for s in SEEDS
            ],
            heldout=[
                R(L.TOPICS_HELDOUT, entity=e, k=k, seed=s)
                for e in ENTITIES
                for k in cfg("topics", "k")
                for s in SEEDS
            ],
        output:
            tables=[
                report(
                    R(L.TOPICS_SWEEP, entity=e),
                    caption="../report/topics_sweep.rst",
                    category="Topics",
                    labels={"entity": e, "figure": "sweep table"},
                )
                for e in ENTITIES
            ],
            figures=[
                report(
                    R(L.TOPICS_SWEEP_FIGURE, entity=e),
                    caption="../report/topics_sweep.rst",
                    category="Topics",
                    labels={"entity": e, "figure": "sweep"},
                )
                for e in ENTITIES
            ],
        params:
            entities=ENTITIES,
            plots={"figsize": cfg("plots", "figsize"), "dpi": cfg("plots", "dpi")},
        log:
            LOG("topics/lda/sweep"),
        threads: 1
        resources:
            mem_mb=1000,
            runtime=10,
        script:
            "../../scripts/topics_sweep.py"


rule topics:
    """Only the topics stage: `snakemake topics` (and everything it needs)."""
    localrule: True
    input:
        topics_targets(),
