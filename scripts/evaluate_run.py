"""Per-user metrics of one model run (one fit of one variant on one seed's split)."""
import json

import pandas as pd

import tastemap.logs
from tastemap import metrics
from tastemap.matrices import load_matrix
from tastemap.models.run import load_model

log = tastemap.logs.setup(snakemake.log[0])
w = snakemake.wildcards
ks = [int(k) for k in snakemake.params.ks]

train = load_matrix(snakemake.input.train)
test = load_matrix(snakemake.input.test)
recs = pd.read_parquet(snakemake.input.recs, columns=["user_idx", "rank", "item_idx"])
log.info("%s %s/%s seed %s (%s): %d recommendation rows, train %s nnz %d, test nnz %d",
         w.entity, w.model, w.variant, w.seed, w.fit, len(recs), train.shape, train.nnz, test.nnz)

per_user, catalogue = metrics.evaluate_recommendations(
    recs, train, test, ks, source=snakemake.input.recs
)
if snakemake.input.model:  # families that predict ratings (predicts_ratings): RMSE too
    model = load_model(snakemake.input.model[0], w.model, snakemake.params.module)
    per_user["rmse"] = metrics.rmse_per_user(model.predict, test, per_user["user_idx"].to_numpy())
log.info("evaluated %d test users; means: %s", len(per_user),
         json.dumps({c: round(float(per_user[c].mean()), 6) for c in per_user.columns[1:]}))
log.info("catalogue: %s", catalogue)

keys = dict(entity=w.entity, seed=int(w.seed), model=w.model, variant=w.variant)
metrics.to_long(per_user, **keys).to_parquet(snakemake.output.per_user, index=False)
pd.DataFrame(
    [{**keys, "metric": m, "value": v} for m, v in catalogue.items()]
).to_csv(snakemake.output.catalogue, index=False)
