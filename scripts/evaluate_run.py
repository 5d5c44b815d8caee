"""Per-user metrics of one model run (one fit of one variant on one seed's split)."""
import json

import pandas as pd

from tastemap import metrics
from tastemap.models.run import load_model


def evaluate_run(recs_path, train, test, ks, keys, model_path, module, log):
    """The run's per-user metrics (long format) and its catalogue metrics (rows of
    ``keys`` + metric, value); ``model_path``: the fitted model for the RMSE (families that
    predict ratings), or None; ``module``: its module if outside tastemap."""
    recs = pd.read_parquet(recs_path, columns=["user_idx", "rank", "item_idx"])
    log.info("%s: %d recommendation rows, train %s nnz %d, test nnz %d", recs_path, len(recs),
             train.shape, train.nnz, test.nnz)
    per_user, catalogue = metrics.evaluate_recommendations(recs, train, test, ks, source=recs_path)
    if model_path is not None:
        model = load_model(model_path, keys["model"], module)
        per_user["rmse"] = metrics.rmse_per_user(model.predict, test, per_user["user_idx"].to_numpy())
    log.info("evaluated %d test users; means: %s", len(per_user),
             json.dumps({c: round(float(per_user[c].mean()), 6) for c in per_user.columns[1:]}))
    log.info("catalogue: %s", catalogue)
    return (metrics.to_long(per_user, **keys),
            pd.DataFrame([{**keys, "metric": m, "value": v} for m, v in catalogue.items()]))
