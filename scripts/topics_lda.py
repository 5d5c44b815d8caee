"""Rule topics_lda: fit LDA with k topics on the full user x item matrix; write the model, the
user-topic and topic-item tables, each topic's top items, a per-topic summary and the metrics;
draw the users and items maps; fit again on the split's train part for the held-out score."""

import json

import pandas as pd

from tastemap.core import logs
from tastemap.core.exit import finish
from tastemap.data.matrices import load_matrix
from tastemap.models.lda import LDA
from tastemap.pipeline import topics_run
from tastemap.topics import model as topics


def main(snakemake):
    log = logs.setup(snakemake.log[0])
    w, p, inp, out = snakemake.wildcards, snakemake.params, snakemake.input, snakemake.output
    k, seed = int(w.k), int(w.seed)
    plays = load_matrix(inp.matrix)
    log.info("%s: %d users x %d items, %d entries; LDA k=%d seed=%d %s", inp.matrix,
             *plays.shape, plays.nnz, k, seed, dict(p.lda))
    model = LDA(k=k, random_state=seed, **dict(p.lda)).fit(plays)
    model.save(out.model)
    truth_files = [inp.truth] if isinstance(inp.truth, str) else list(inp.truth)
    truth = pd.read_parquet(truth_files[0]) if truth_files else None
    tables, metrics = topics.describe(
        model.transform(plays), model.theta_, model.lda_, pd.read_parquet(inp.users),
        pd.read_parquet(inp.item_table), w.entity, truth=truth, top_n=int(p.top_n),
        coherence_n=int(p.coherence_n),
    )
    for name in ("user_topics", "topic_items"):
        tables[name].to_parquet(getattr(out, name), index=False)
    tables["top_items"].to_csv(out.top_items, index=False)
    tables["topics"].to_csv(out.summary, index=False)
    metrics |= {"seed": seed, "counts": p.lda["counts"]}
    with open(out.metrics, "w") as fh:
        json.dump(metrics, fh, indent=2)
    log.info("metrics: %s", metrics)
    for row in tables["topics"].itertuples():
        log.info("topic %d (%.1f%% of plays, NPMI %.3f): %s", row.topic, 100 * row.share, row.npmi,
                 row.label)
    # the maps read what was written, as a separate job would (the saved model and tables)
    sides = topics_run.map_sides(LDA.load(out.model), plays, pd.read_parquet(out.user_topics),
                                 pd.read_parquet(inp.item_table), inp.item_table, w.entity, k)
    labels = pd.read_csv(out.summary).sort_values("topic")["label"].tolist()
    topics_run.draw_maps(sides, labels, w.entity, k, seed, p,
                         [(out.users_map, out.users_html), (out.items_map, out.items_html)], truth)
    report = topics_run.heldout(inp.train, inp.test, w.entity, k, seed, p.lda)
    with open(out.heldout, "w") as fh:
        json.dump(report, fh, indent=2)
    finish()  # the process ends here, without the interpreter's teardown: tastemap/core/exit.py


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
