"""Rule topics_map: users and items placed by their topic mixtures (UMAP, Hellinger, when k > 2),
coloured by dominant topic, with randomly chosen labels."""
import numpy as np
import pandas as pd

import tastemap.logs
from tastemap import plots, topics


def main(snakemake):
    log = tastemap.logs.setup(snakemake.log[0])
    w, p, inp, out = snakemake.wildcards, snakemake.params, snakemake.input, snakemake.output
    k, seed = int(w.k), int(w.seed)
    model = topics.load_topics(inp.model)
    summary = pd.read_csv(inp.summary)
    labels = summary.sort_values("topic")["label"].tolist()
    user_table = pd.read_parquet(inp.user_topics)
    items = pd.read_parquet(inp.item_table)
    names = topics.item_names(items, w.entity, len(model.item_users), inp.item_table)
    theta = user_table[[f"topic_{t}" for t in range(k)]].to_numpy()
    item_mix = topics.item_topic_matrix(model.lda)
    umap_opts = dict(n_neighbors=int(p.umap["n_neighbors"]), min_dist=float(p.umap["min_dist"]))
    sides = [
        ("users", theta, user_table["user"].to_numpy(object), model.user_items, out.users_map),
        (f"{w.entity}s", item_mix, names, model.item_users, out.items_map),
    ]
    for side, mix, point_names, activity, path in sides:
        # explore.max_points: a seeded sample of the points (all when null)
        rows, coords = topics.topic_coords(mix, seed, activity=np.log10(1 + activity),
                                           max_points=p.max_points, **umap_opts)
        log.info("map of %d of %d %s in the space of %d topics", len(rows), len(mix), side, k)
        mix, point_names = mix[rows], point_names[rows]
        axes = ("UMAP 1", "UMAP 2") if k > 2 else (
            "p(topic 1)", "log10(1 + items played)" if side == "users" else "log10(1 + listeners)")
        fig = plots.topic_map(
            coords, mix.argmax(axis=1), point_names, k=k, topic_labels=labels,
            title=f"{len(rows)} {side} in LDA topic space (user x {w.entity}, k={k}, seed {seed})",
            xlabel=axes[0], ylabel=axes[1], figsize=p.plots["figsize"], dpi=int(p.plots["dpi"]),
            n_labels=int(p.plots["n_labels"]), seed=seed,
        )
        fig.savefig(path)
        log.info("wrote %s", path)


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
