"""The training curves (history.parquet) of one fit as a figure (drawn by models_figures.py)."""
import pandas as pd

from tastemap.plots import loss_curves


def draw(history_path, figure_path, run, seed, plots, log):
    """Draw ``history_path`` of ``run`` = (entity, model, variant, fit) into ``figure_path``."""
    entity, model, variant, fit = run
    history = pd.read_parquet(history_path)
    log.info("%s: %d rows, metrics %s", history_path, len(history), sorted(set(history["metric"])))
    width = plots["figsize"][0]
    fig = loss_curves(
        history, figsize=(max(8.0, width), max(3.5, width * 0.4)), dpi=plots["dpi"],
        title=f"{model} {variant}, user x {entity} (seed {seed}, {fit} fit): training curves",
    )
    fig.savefig(figure_path)
    fig.clf()
    log.info("wrote %s", figure_path)
