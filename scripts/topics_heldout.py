"""Rule topics_heldout: fit LDA on the split's train matrix and score the users' held-out test
items (document-completion perplexity, next to the popularity baseline)."""
import json

import tastemap.logs
from tastemap import topics
from tastemap.matrices import load_matrix
from tastemap.models.lda import LDA


def main(snakemake):
    log = tastemap.logs.setup(snakemake.log[0])
    w, p, inp = snakemake.wildcards, snakemake.params, snakemake.input
    k, seed = int(w.k), int(w.seed)
    train, test = load_matrix(inp.train), load_matrix(inp.test)
    if train.shape != test.shape:
        raise ValueError(f"{inp.train} is {train.shape} but {inp.test} is {test.shape}")
    model = LDA(k=k, random_state=seed, **dict(p.lda)).fit(train)
    report = topics.heldout_report(model.theta_, model.phi_, model.transform(train),
                                   model.transform(test))
    report = {"entity": w.entity, "k": k, "seed": seed, "counts": p.lda["counts"],
              "n_iter": int(model.lda_.n_iter_)} | report
    with open(snakemake.output.heldout, "w") as fh:
        json.dump(report, fh, indent=2)
    log.info("held-out: %s", report)


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
