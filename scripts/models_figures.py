"""Rule model_figures: every training-curve figure of one seed (torch runs, full and train fits)
and the biased-MF latent-size sweep of each entity: one process for many small figures."""
import matplotlib.pyplot as plt

import tastemap.logs
from models_loss_curve import draw as draw_curve
from models_mf_sweep import draw as draw_mf_sweep


def main(snakemake):
    log = tastemap.logs.setup(snakemake.log[0])
    p, inp, out, seed = snakemake.params, snakemake.input, snakemake.output, snakemake.wildcards.seed
    for run, history, figure in zip(p.runs, inp.histories, out.curves):
        draw_curve(history, figure, run, seed, p.plots, log)
        plt.close("all")
    per_entity = len(p.factors)
    for i, entity in enumerate(p.mf_entities):
        draw_mf_sweep(inp.mf_histories[i * per_entity:(i + 1) * per_entity], p.factors, entity,
                      seed, out.mf_tables[i], out.mf_figures[i], p.plots, log)
        plt.close("all")


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
