"""Rule topics_map: users and items placed by their topic mixtures (UMAP, Hellinger, when k > 2),
coloured by dominant topic, with randomly chosen labels."""
import numpy as np
import pandas as pd

import tastemap.logs
from tastemap import interactive, plots, topics
from tastemap.matrices import load_matrix
from tastemap.models.lda import LDA


def main(snakemake):
    log = tastemap.logs.setup(snakemake.log[0])
    w, p, inp, out = snakemake.wildcards, snakemake.params, snakemake.input, snakemake.output
    k, seed = int(w.k), int(w.seed)
    model = LDA.load(inp.model)
    summary = pd.read_csv(inp.summary)
    labels = summary.sort_values("topic")["label"].tolist()
    user_table = pd.read_parquet(inp.user_topics)
    items = pd.read_parquet(inp.item_table)
    names = topics.item_names(items, w.entity, model.n_items, inp.item_table)
    theta = user_table[[f"topic_{t}" for t in range(k)]].to_numpy()
    item_mix = topics.item_topic_matrix(model.lda_)
    umap_opts = dict(n_neighbors=int(p.umap["n_neighbors"]), min_dist=float(p.umap["min_dist"]))
    seen = load_matrix(inp.matrix)  # the matrix the model was fit on: activity of each point
    # (side, mixtures, names, activity, png, html, hover label, truth kind, truth keys: songs
    # take their artist's genre)
    sides = [
        ("users", theta, user_table["user"].to_numpy(object), np.diff(seen.indptr),
         out.users_map, out.users_html, "user", "user", user_table["user"].to_numpy(object)),
        (f"{w.entity}s", item_mix, names, np.bincount(seen.indices, minlength=model.n_items),
         out.items_map, out.items_html, w.entity, "artist",
         items.sort_values(f"{w.entity}_idx")["artist"].to_numpy(object)),
    ]
    truth = pd.read_parquet(inp.truth) if inp.truth else None
    for side, mix, point_names, activity, path, html_path, kind, truth_kind, keys in sides:
        # explore.max_points: a seeded sample of the points (all when null)
        rows, coords = topics.topic_coords(mix, seed, activity=np.log10(1 + activity),
                                           max_points=p.max_points, **umap_opts)
        log.info("map of %d of %d %s in the space of %d topics", len(rows), len(mix), side, k)
        mix, point_names, keys = mix[rows], point_names[rows], keys[rows]
        axes = ("UMAP 1", "UMAP 2") if k > 2 else (
            "p(topic 1)", "log10(1 + items played)" if side == "users" else "log10(1 + listeners)")
        title = f"{len(rows)} {side} in LDA topic space (user x {w.entity}, k={k}, seed {seed})"
        fig = plots.topic_map(
            coords, mix.argmax(axis=1), point_names, k=k, topic_labels=labels, title=title,
            xlabel=axes[0], ylabel=axes[1], figsize=p.plots["figsize"], dpi=int(p.plots["dpi"]),
            n_labels=int(p.plots["n_labels"]), seed=seed,
        )
        fig.savefig(path)
        log.info("wrote %s", path)
        colourings = [interactive.Colouring(
            "dominant topic", mix.argmax(axis=1),
            legend={t: f"topic {t}: {label}" for t, label in enumerate(labels)})]
        if truth is not None:
            colourings.append(interactive.genre_colouring(keys, truth, truth_kind))
        size = interactive.write_map(html_path, coords[:, 0], coords[:, 1], point_names,
                                     colourings, title=title, xlabel=axes[0], ylabel=axes[1],
                                     kind=kind)
        log.info("wrote %s (%.1f MB)", html_path, size / 1e6)


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
