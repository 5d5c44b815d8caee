# Topics stage: LDA taste topics, one job per (entity, k, seed); a sweep figure per entity over k.
# Adding a value to topics.k schedules only that value's jobs and the sweep that reads them.


def topics_truth():
    """Planted genres for purity / NMI: only simulated data has them."""
    if config["input"]["format"] == "simulate":
        return f"resources/synthetic/{DATASET}/truth.parquet"
    return []


TOPICS_LDA = {
    "counts": cfg("topics", "counts"),
    "max_iter": cfg("topics", "max_iter"),
    "n_init": cfg("topics", "n_init"),
    "doc_topic_prior": cfg("topics", "doc_topic_prior"),
    "topic_word_prior": cfg("topics", "topic_word_prior"),
    "max_users": cfg("topics", "max_users"),
}
TOPICS_DIR = "topics/lda/{entity}/k{k}/seed{seed}"


rule topics_lda:
    input:
        matrix=R("matrices/user_{entity}.npz"),
        users=R("data/users.parquet"),
        item_table=R("data/{entity}s.parquet"),
        truth=topics_truth(),
    output:
        model=R(f"{TOPICS_DIR}/model.npz"),
        user_topics=R(f"{TOPICS_DIR}/user_topics.parquet"),
        topic_items=R(f"{TOPICS_DIR}/topic_items.parquet"),
        top_items=report(R(f"{TOPICS_DIR}/top_items.csv"), caption="../report/topics_top_items.rst",
                         category="Topics",
                         labels={"entity": "{entity}", "k": "{k}", "seed": "{seed}",
                                 "figure": "top items table"}),
        summary=R(f"{TOPICS_DIR}/topics.csv"),
        metrics=R(f"{TOPICS_DIR}/metrics.json"),
    params:
        lda=TOPICS_LDA,
        top_n=cfg("topics", "top_n"),
        coherence_n=cfg("topics", "coherence_n"),
    log:
        LOG(f"{TOPICS_DIR}/lda.log"),
    benchmark:
        BENCH(f"{TOPICS_DIR}/lda.tsv")
    threads: 1
    resources:
        mem_mb=lambda w, input: max(2000, int(20 * input.size_mb)),
        runtime=120,
    script:
        "../../scripts/topics_lda.py"


rule topics_heldout:
    input:
        train=R("split/seed{seed}/train_{entity}.npz"),
        test=R("split/seed{seed}/test_{entity}.npz"),
    output:
        heldout=R(f"{TOPICS_DIR}/heldout.json"),
    params:
        lda=TOPICS_LDA,
    log:
        LOG(f"{TOPICS_DIR}/heldout.log"),
    benchmark:
        BENCH(f"{TOPICS_DIR}/heldout.tsv")
    threads: 1
    resources:
        mem_mb=lambda w, input: max(2000, int(20 * input.size_mb)),
        runtime=120,
    script:
        "../../scripts/topics_heldout.py"


rule topics_map:
    input:
        model=R(f"{TOPICS_DIR}/model.npz"),
        matrix=R("matrices/user_{entity}.npz"),
        user_topics=R(f"{TOPICS_DIR}/user_topics.parquet"),
        summary=R(f"{TOPICS_DIR}/topics.csv"),
        item_table=R("data/{entity}s.parquet"),
        truth=topics_truth(),
    output:
        users_map=report(
            R(f"{TOPICS_DIR}/map.png"),
            caption="../report/topics_map.rst",
            category="Topics",
            labels={"entity": "{entity}", "k": "{k}", "seed": "{seed}", "figure": "users"},
        ),
        items_map=report(
            R(f"{TOPICS_DIR}/items_map.png"),
            caption="../report/topics_map.rst",
            category="Topics",
            labels={"entity": "{entity}", "k": "{k}", "seed": "{seed}", "figure": "items"},
        ),
        users_html=report(
            R(f"{TOPICS_DIR}/map.html"),
            caption="../report/topics_map_html.rst",
            category="Topics",
            labels={"entity": "{entity}", "k": "{k}", "seed": "{seed}",
                    "figure": "users (interactive)"},
        ),
        items_html=report(
            R(f"{TOPICS_DIR}/items_map.html"),
            caption="../report/topics_map_html.rst",
            category="Topics",
            labels={"entity": "{entity}", "k": "{k}", "seed": "{seed}",
                    "figure": "items (interactive)"},
        ),
    params:
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
        LOG(f"{TOPICS_DIR}/map.log"),
    benchmark:
        BENCH(f"{TOPICS_DIR}/map.tsv")
    threads: 1
    resources:
        mem_mb=2000,
        runtime=60,
    script:
        "../../scripts/topics_map.py"


rule topics_sweep:
    input:
        metrics=lambda w: expand(
            R(f"{TOPICS_DIR}/metrics.json"), entity=w.entity, k=cfg("topics", "k"), seed=SEEDS
        ),
        heldout=lambda w: expand(
            R(f"{TOPICS_DIR}/heldout.json"), entity=w.entity, k=cfg("topics", "k"), seed=SEEDS
        ),
    output:
        table=report(
            R("topics/lda/{entity}/sweep.csv"),
            caption="../report/topics_sweep.rst",
            category="Topics",
            labels={"entity": "{entity}", "figure": "sweep table"},
        ),
        figure=report(
            R("topics/lda/{entity}/sweep.png"),
            caption="../report/topics_sweep.rst",
            category="Topics",
            labels={"entity": "{entity}", "figure": "sweep"},
        ),
    params:
        plots={"figsize": cfg("plots", "figsize"), "dpi": cfg("plots", "dpi")},
    log:
        LOG("topics/lda/{entity}/sweep.log"),
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
