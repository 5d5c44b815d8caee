# Explore stage: 2-D maps (pca, umap, tsne) of users and items (artists, songs) and their
# clusters. Files: tastemap.core.layout (SVD_*, MAP_*, METHODS_FIGURE, EXPLORE_SUMMARY, PLACED*) and
# docs/results.md. {entity} is the matrix (artist|song); {side} is users (rows) or items
# (columns). One job per map makes the projection, its clusterings and the figure; one job per
# side makes the SVD representation and its clusterings; one job per seed draws the methods
# side by side and writes the summary.


wildcard_constraints:
    side=r"users|items",


def explore_names(w):
    """The id <-> name table of the points of a map."""
    return R(L.USERS) if w.side == "users" else R(L.ITEMS, entity=w.entity)


# mem_mb of the explore jobs: maps work on at most explore.max_points rows, so the input matrix
# sets the memory only up to a small factor: 0.9-1.6 GiB at MSD size (550 MB of input), 1.8 GiB
# for a Last.fm-1K t-SNE of 20,000 items
EXPLORE_MEM = mem_by_input(3, base=2500, extra=500)


MAP_LABELS = {"entity": "{entity}", "side": "{side}", "method": "{method}", "seed": "{seed}"}


def cluster_metrics_report(template, labels):
    return report(
        R(template),
        caption="../report/explore_clusters.rst",
        category="Maps",
        subcategory="{entity} {side}",
        labels=labels | {"table": "cluster metrics"},
    )


def topic_tables(w):
    """Topic runs (every topics.k of the seed) that colour a map by dominant topic, if enabled."""
    if not config["topics"]["enabled"]:
        return []
    sides = cfg("explore", "sides")
    tables = {"users": L.USER_TOPICS, "items": L.TOPIC_ITEMS}
    return [
        R(t, entity=w.entity, k=k, seed=w.seed)
        for k in config["topics"]["k"]
        for t in [L.TOPICS_TABLE] + [tables[s] for s in sides]
    ]


rule explore_svd:
    input:
        matrix=R(L.MATRIX),
        names=explore_names,
        truth=simulated_truth(),
    output:
        model=R(L.SVD_MODEL),
        embedding=R(L.SVD_EMBEDDING),
        # the rows (user / item indices) this side maps: all, or explore.max_points of them
        points=R(L.SVD_POINTS),
        clusters=R(L.SVD_CLUSTERS),
        metrics=cluster_metrics_report(L.SVD_CLUSTER_METRICS, MAP_LABELS | {"method": "svd"}),
    params:
        n_components=cfg("explore", "svd", "n_components"),
        max_points=cfg("explore", "max_points"),
        cluster=cfg("explore", "cluster"),
    log:
        LOG(f"{L.SVD_DIR}/svd"),
    benchmark:
        BENCH(f"{L.SVD_DIR}/svd")
    # explore_html waits for every projection and topic run of its entity: with these started
    # after the fits (priority 2) but before the 1-s jobs (figures, sweeps, explanations), those
    # fill the end of a run instead of explore_html running alone (docs/benchmarks.md)
    priority: 1
    # BLAS is single-threaded in every job (common.smk) and k-means' OpenMP threads spin-wait on
    # a busy machine (docs/explore.md, "Speed"): a second core would sit idle
    threads: 1
    resources:
        mem_mb=EXPLORE_MEM,
        runtime=60,
    script:
        "../../scripts/explore_svd.py"


rule explore_project:
    input:
        matrix=R(L.MATRIX),
        svd=R(L.SVD_MODEL),
        points=R(L.SVD_POINTS),
        names=explore_names,
        truth=simulated_truth(),
    output:
        coords=R(L.MAP_COORDS),
        model=R(L.MAP_MODEL),
        clusters=R(L.MAP_CLUSTERS),
        metrics=cluster_metrics_report(L.MAP_CLUSTER_METRICS, MAP_LABELS),
        png=report(
            R(L.MAP_FIGURE),
            caption="../report/explore_map.rst",
            category="Maps",
            subcategory="{entity} {side}",
            labels=MAP_LABELS | {"figure": "map"},
        ),
    wildcard_constraints:
        method=r"pca|umap",
    params:
        # only the method's own section: changing UMAP options reruns UMAP jobs only
        options=lambda w: cfg("explore", w.method) if w.method in config["explore"] else {},
        cluster=cfg("explore", "cluster"),
        plots=cfg("plots"),
    log:
        LOG(f"{L.MAP_DIR}/project"),
    benchmark:
        BENCH(f"{L.MAP_DIR}/project")
    # before the small jobs, as explore_svd
    priority: 1
    # UMAP with random_state=seed runs single-threaded (reproducible); PCA is one BLAS call;
    # openTSNE's second thread cost 7x the CPU for no gain on the 2-core machine (docs/explore.md)
    threads: 1
    resources:
        mem_mb=EXPLORE_MEM,
        runtime=120,
    script:
        "../../scripts/explore_project.py"


use rule explore_project as explore_tsne with:
    output:
        # no model: t-SNE has no transform, it cannot place new points
        coords=R(L.MAP_COORDS),
        clusters=R(L.MAP_CLUSTERS),
        metrics=cluster_metrics_report(L.MAP_CLUSTER_METRICS, MAP_LABELS),
        png=report(
            R(L.MAP_FIGURE),
            caption="../report/explore_map.rst",
            category="Maps",
            subcategory="{entity} {side}",
            labels=MAP_LABELS | {"figure": "map"},
        ),
    wildcard_constraints:
        method=r"tsne",
    params:
        options=cfg("explore", "tsne"),
        cluster=cfg("explore", "cluster"),
        plots=cfg("plots"),


def _maps():
    """(side, method) of every map of one (entity, seed)."""
    return [(s, m) for s in cfg("explore", "sides") for m in cfg("explore", "methods")]


rule explore_html:
    """Every interactive map of one (entity, seed), drawn from the maps' clusters tables: a new
    topic count redraws these files only, no projection."""
    input:
        clusters=[R(L.MAP_CLUSTERS, side=s, method=m) for s, m in _maps()],
        # colourings: LDA topics (when the topics stage is on), planted genres (simulated data)
        topics=topic_tables,
        truth=simulated_truth(),
    output:
        html=[
            report(
                R(L.MAP_HTML, side=s, method=m),
                caption="../report/explore_map_html.rst",
                category="Maps",
                subcategory=f"{{entity}} {s}",
                labels={
                    "entity": "{entity}",
                    "side": s,
                    "method": m,
                    "seed": "{seed}",
                    "figure": "interactive map",
                },
            )
            for s, m in _maps()
        ],
    params:
        maps=_maps(),
    log:
        LOG(L.path(L.ENTITY_SEED_JOB, stage="explore", job="html")),
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    script:
        "../../scripts/explore_html.py"


def _sides():
    """(entity, side) of every methods figure; the same for every seed."""
    return [(e, s) for e in ENTITIES for s in cfg("explore", "sides")]


if config["explore"]["enabled"]:

    rule explore_summary:
        input:
            clusters=[
                R(L.MAP_CLUSTERS, entity=e, side=s, method=m)
                for e, s in _sides()
                for m in cfg("explore", "methods")
            ],
            metrics=[
                R(t, entity=e, side=s, method=m)
                for e, s in _sides()
                for m in cfg("explore", "methods") + ["svd"]
                for t in ([L.SVD_CLUSTER_METRICS] if m == "svd" else [L.MAP_CLUSTER_METRICS])
            ],
        output:
            figures=[
                report(
                    R(L.METHODS_FIGURE, entity=e, side=s),
                    caption="../report/explore_methods.rst",
                    category="Maps",
                    subcategory=f"{e} {s}",
                    labels={"entity": e, "side": s, "method": "all", "seed": "{seed}"},
                )
                for e, s in _sides()
            ],
            summary=report(
                R(L.EXPLORE_SUMMARY),
                caption="../report/explore_summary.rst",
                category="Maps",
                subcategory="summary",
                labels={"seed": "{seed}", "table": "chosen clusterings"},
            ),
        params:
            sides=_sides(),
            methods=cfg("explore", "methods"),
            plots=cfg("plots"),
        log:
            LOG(L.path(L.SEED_JOB, stage="explore", job="summary")),
        threads: 1
        resources:
            mem_mb=2000,
            runtime=20,
        script:
            "../../scripts/explore_summary.py"


rule place_users:
    input:
        model=R(L.MAP_MODEL, side="users"),
        clusters=R(L.MAP_CLUSTERS, side="users"),
        item_names=R(L.ITEMS),
        listens=lambda w: cfg("explore", "place_users", "listens"),
    output:
        placed=R(L.PLACED),
        png=report(
            R(L.PLACED_FIGURE),
            caption="../report/explore_placed.rst",
            category="Maps",
            subcategory="{entity} users",
            labels=MAP_LABELS | {"side": "users", "figure": "placed users"},
        ),
    wildcard_constraints:
        method=r"pca|umap",
    params:
        plots=cfg("plots"),
    log:
        LOG(f"{L.path(L.MAP_DIR, side='users')}/place_users"),
    threads: 1
    resources:
        mem_mb=EXPLORE_MEM,
        runtime=20,
    script:
        "../../scripts/place_users.py"
