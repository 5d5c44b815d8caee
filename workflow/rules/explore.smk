# Explore stage: 2-D maps (pca, umap, tsne) of users and items (artists, songs) and their clusters.
#
# Paths (under results/<dataset>/explore/):
#   {entity}/svd/seed{seed}/{side}/model.npz, embedding.npy         high-dim representation (SVD)
#   {entity}/svd/seed{seed}/{side}/points.npy                       rows mapped (explore.max_points)
#   {entity}/svd/seed{seed}/{side}/clusters.parquet, clusters_metrics.csv   its clusters
#   {entity}/{method}/seed{seed}/{side}/coords.parquet               the 2-D map (idx, name, x, y)
#   {entity}/{method}/seed{seed}/{side}/model.npz                   pca/umap only: places new rows
#   {entity}/{method}/seed{seed}/{side}/clusters.parquet, clusters_metrics.csv, map.png
#   {entity}/{method}/seed{seed}/users/placed.parquet, placed.png     new users (place_users)
#   {entity}/seed{seed}/{side}/methods.png                            small multiples of the methods
#   seed{seed}/summary.csv                                            chosen runs of every map
# {entity} is the matrix (artist|song); {side} is users (rows) or items (columns).

EXPLORE_DIR = "explore/{entity}/{method}/seed{seed}/{side}"
SVD_DIR = "explore/{entity}/svd/seed{seed}/{side}"


wildcard_constraints:
    side=r"users|items",


def explore_names(w):
    """The id <-> name table of the points of a map."""
    if w.side == "users":
        return R("data/users.parquet")
    return R("data/artists.parquet") if w.entity == "artist" else R("data/songs.parquet")


def explore_truth(w):
    """Planted genres: only simulated data has them (optional input)."""
    if config["input"]["format"] == "simulate":
        return [f"resources/synthetic/{DATASET}/truth.parquet"]
    return []


def explore_mem(factor, base=2000):
    return lambda w, input: max(base, int(factor * input.size_mb))


rule explore_svd:
    input:
        matrix=R("matrices/user_{entity}.npz"),
    output:
        model=R(f"{SVD_DIR}/model.npz"),
        embedding=R(f"{SVD_DIR}/embedding.npy"),
        # the rows (user / item indices) this side maps: all, or explore.max_points of them
        points=R(f"{SVD_DIR}/points.npy"),
    params:
        n_components=cfg("explore", "svd", "n_components"),
        max_points=cfg("explore", "max_points"),
    log:
        LOG(f"{SVD_DIR}/svd.log"),
    benchmark:
        BENCH(f"{SVD_DIR}/svd.tsv")
    # BLAS is single-threaded in every job (common.smk): a second core would sit idle
    threads: 1
    resources:
        mem_mb=explore_mem(60),
        runtime=30,
    script:
        "../../scripts/explore_svd.py"


rule explore_project:
    input:
        matrix=R("matrices/user_{entity}.npz"),
        svd=R(f"{SVD_DIR}/model.npz"),
        points=R(f"{SVD_DIR}/points.npy"),
        names=explore_names,
    output:
        coords=R(f"{EXPLORE_DIR}/coords.parquet"),
        model=R(f"{EXPLORE_DIR}/model.npz"),
    wildcard_constraints:
        method=r"pca|umap",
    params:
        # only the method's own section: changing UMAP options reruns UMAP jobs only
        options=lambda w: cfg("explore", w.method) if w.method in config["explore"] else {},
    log:
        LOG(f"{EXPLORE_DIR}/project.log"),
    benchmark:
        BENCH(f"{EXPLORE_DIR}/project.tsv")
    # UMAP with random_state=seed runs single-threaded (reproducible); TruncatedSVD is one BLAS call
    threads: 1
    resources:
        mem_mb=explore_mem(80),
        runtime=120,
    script:
        "../../scripts/explore_project.py"


rule explore_tsne:
    input:
        matrix=R("matrices/user_{entity}.npz"),
        svd=R(f"{SVD_DIR}/model.npz"),
        points=R(f"{SVD_DIR}/points.npy"),
        names=explore_names,
    output:
        # no model: t-SNE has no transform, it cannot place new points
        coords=R(f"{EXPLORE_DIR}/coords.parquet"),
    wildcard_constraints:
        method=r"tsne",
    params:
        options=cfg("explore", "tsne"),
    log:
        LOG(f"{EXPLORE_DIR}/project.log"),
    benchmark:
        BENCH(f"{EXPLORE_DIR}/project.tsv")
    # openTSNE's second thread cost 7x the CPU for no gain on the 2-core machine (docs/explore.md)
    threads: 1
    resources:
        mem_mb=explore_mem(80),
        runtime=120,
    script:
        "../../scripts/explore_project.py"


rule explore_cluster:
    input:
        coords=R(f"{EXPLORE_DIR}/coords.parquet"),
        truth=explore_truth,
    output:
        clusters=R(f"{EXPLORE_DIR}/clusters.parquet"),
        metrics=report(R(f"{EXPLORE_DIR}/clusters_metrics.csv"), caption="../report/explore_clusters.rst",
                       category="Maps", subcategory="{entity} {side}",
                       labels={"entity": "{entity}", "side": "{side}", "method": "{method}",
                               "seed": "{seed}", "table": "cluster metrics"}),
    params:
        cluster=cfg("explore", "cluster"),
    log:
        LOG(f"{EXPLORE_DIR}/cluster.log"),
    benchmark:
        BENCH(f"{EXPLORE_DIR}/cluster.tsv")
    threads: 1  # k-means with two OpenMP threads: 20x the wall time on a busy machine
    resources:
        mem_mb=explore_mem(40),
        runtime=60,
    script:
        "../../scripts/explore_cluster.py"


rule explore_cluster_svd:
    input:
        embedding=R(f"{SVD_DIR}/embedding.npy"),
        points=R(f"{SVD_DIR}/points.npy"),
        names=explore_names,
        truth=explore_truth,
    output:
        clusters=R(f"{SVD_DIR}/clusters.parquet"),
        metrics=report(R(f"{SVD_DIR}/clusters_metrics.csv"), caption="../report/explore_clusters.rst",
                       category="Maps", subcategory="{entity} {side}",
                       labels={"entity": "{entity}", "side": "{side}", "method": "svd",
                               "seed": "{seed}", "table": "cluster metrics"}),
    params:
        cluster=cfg("explore", "cluster"),
    log:
        LOG(f"{SVD_DIR}/cluster.log"),
    benchmark:
        BENCH(f"{SVD_DIR}/cluster.tsv")
    threads: 1
    resources:
        mem_mb=explore_mem(40),
        runtime=60,
    script:
        "../../scripts/explore_cluster.py"


def topic_tables(w):
    """Topic runs (every topics.k of the seed) that colour a map by dominant topic, if enabled."""
    if not config["topics"]["enabled"]:
        return []
    sides = [w.side] if hasattr(w, "side") else ["users", "items"]
    files = ["topics.csv"] + [{"users": "user_topics.parquet", "items": "topic_items.parquet"}[s]
                              for s in sides]
    return [R(f"topics/lda/{w.entity}/k{k}/seed{w.seed}/{f}") for k in config["topics"]["k"]
            for f in files]


rule explore_map:
    input:
        clusters=R(f"{EXPLORE_DIR}/clusters.parquet"),
        truth=explore_truth,
        topics=topic_tables,
    output:
        png=report(
            R(f"{EXPLORE_DIR}/map.png"),
            caption="../report/explore_map.rst",
            category="Maps",
            subcategory="{entity} {side}",
            labels={"entity": "{entity}", "side": "{side}", "method": "{method}", "seed": "{seed}",
                    "figure": "map"},
        ),
        html=report(
            R(f"{EXPLORE_DIR}/map.html"),
            caption="../report/explore_map_html.rst",
            category="Maps",
            subcategory="{entity} {side}",
            labels={"entity": "{entity}", "side": "{side}", "method": "{method}", "seed": "{seed}",
                    "figure": "interactive map"},
        ),
    params:
        plots=cfg("plots"),
    log:
        LOG(f"{EXPLORE_DIR}/map.log"),
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    script:
        "../../scripts/explore_map.py"


rule explore_methods:
    input:
        clusters=lambda w: expand(
            R("explore/{{entity}}/{method}/seed{{seed}}/{{side}}/clusters.parquet"),
            method=cfg("explore", "methods"),
        ),
    output:
        png=report(
            R("explore/{entity}/seed{seed}/{side}/methods.png"),
            caption="../report/explore_methods.rst",
            category="Maps",
            subcategory="{entity} {side}",
            labels={"entity": "{entity}", "side": "{side}", "method": "all", "seed": "{seed}"},
        ),
    params:
        methods=cfg("explore", "methods"),
        plots=cfg("plots"),
    log:
        LOG("explore/{entity}/seed{seed}/{side}/methods.log"),
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    script:
        "../../scripts/explore_methods.py"


def explore_metric_tables(seed):
    spaces = cfg("explore", "methods") + ["svd"]
    return [
        R(f"explore/{e}/{m}/seed{seed}/{s}/clusters_metrics.csv")
        for e in ENTITIES
        for s in cfg("explore", "sides")
        for m in spaces
    ]


rule explore_summary:
    input:
        metrics=lambda w: explore_metric_tables(w.seed),
    output:
        summary=report(R("explore/seed{seed}/summary.csv"), caption="../report/explore_summary.rst",
                       category="Maps", subcategory="summary",
                       labels={"seed": "{seed}", "table": "chosen clusterings"}),
    log:
        LOG("explore/seed{seed}/summary.log"),
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../../scripts/explore_summary.py"


rule place_users:
    input:
        model=R("explore/{entity}/{method}/seed{seed}/users/model.npz"),
        clusters=R("explore/{entity}/{method}/seed{seed}/users/clusters.parquet"),
        item_names=lambda w: R("data/artists.parquet") if w.entity == "artist" else R("data/songs.parquet"),
        listens=lambda w: cfg("explore", "place_users", "listens"),
    output:
        placed=R("explore/{entity}/{method}/seed{seed}/users/placed.parquet"),
        png=report(R("explore/{entity}/{method}/seed{seed}/users/placed.png"),
                   caption="../report/explore_placed.rst", category="Maps",
                   subcategory="{entity} users",
                   labels={"entity": "{entity}", "side": "users", "method": "{method}",
                           "seed": "{seed}", "figure": "placed users"}),
    wildcard_constraints:
        method=r"pca|umap",
    params:
        plots=cfg("plots"),
    log:
        LOG("explore/{entity}/{method}/seed{seed}/users/place_users.log"),
    threads: 1
    resources:
        mem_mb=explore_mem(40),
        runtime=20,
    script:
        "../../scripts/explore_place.py"
