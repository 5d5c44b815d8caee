"""Each model's best variant on the validation split, with its test score."""
import pandas as pd

import tastemap.logs
from tastemap import stats

log = tastemap.logs.setup(snakemake.log[0])
valid = pd.read_csv(snakemake.input.valid, dtype={"model": str, "variant": str})
test = pd.read_csv(snakemake.input.test, dtype={"model": str, "variant": str})
selected = stats.select_variants(valid, test, snakemake.params.primary)
log.info("selected on validation:\n%s", selected.to_string(index=False))
selected.to_csv(snakemake.output.selected, index=False)
