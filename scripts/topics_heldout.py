"""Held-out score of LDA (drawn by topics_lda.py): fit on the split's train matrix and score
the users' held-out test items (document-completion perplexity, next to the popularity
baseline)."""
import json

from tastemap import topics
from tastemap.matrices import load_matrix
from tastemap.models.lda import LDA


def heldout(train_path, test_path, entity, k, seed, lda, out_path, log):
    train, test = load_matrix(train_path), load_matrix(test_path)
    if train.shape != test.shape:
        raise ValueError(f"{train_path} is {train.shape} but {test_path} is {test.shape}")
    model = LDA(k=k, random_state=seed, **dict(lda)).fit(train)
    report = topics.heldout_report(model.theta_, model.phi_, model.transform(train),
                                   model.transform(test))
    report = {"entity": entity, "k": k, "seed": seed, "counts": lda["counts"],
              "n_iter": int(model.lda_.n_iter_)} | report
    with open(out_path, "w") as fh:
        json.dump(report, fh, indent=2)
    log.info("held-out: %s", report)
