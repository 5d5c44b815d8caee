"""Last-epoch train and validation RMSE of every MF latent size (drawn by models_figures.py)."""
import pandas as pd

from tastemap.models.mf import last_epoch_metric
from tastemap.plots import factor_sweep


def draw(history_paths, factors, entity, seed, table_path, figure_path, plots, log):
    """The sweep table (csv) and figure of the train fits of every latent size in ``factors``."""
    histories = {int(f): pd.read_parquet(path) for f, path in zip(factors, history_paths)}
    table = last_epoch_metric(histories, "rmse")
    log.info("RMSE (log(1 + plays)) by latent size:\n%s", table.to_string(index=False))
    table.to_csv(table_path, index=False)
    width = plots["figsize"][0]
    fig = factor_sweep(
        table, metric="rmse", figsize=(max(6.0, width * 0.6), max(4.0, width * 0.4)),
        dpi=plots["dpi"],
        title=f"biased MF, user x {entity} (seed {seed}, train fits)\n"
              "RMSE of log(1 + plays) vs latent size",
    )
    fig.savefig(figure_path)
