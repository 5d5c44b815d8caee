"""Paired Wilcoxon and t-tests of every pair of models, Holm-corrected; table + heatmap."""
from tastemap import plots, stats


def significance(per_user, runs, entity, seed, primary, alpha, dpi, table_path, figure_path, log):
    """``runs``: the validation-selected (model, variant) table, or None to compare every run."""
    if runs is not None:
        log.info("comparing each model's validation-selected variant: %s",
                 ", ".join(f"{m}/{v}" for m, v in zip(runs["model"], runs["variant"])))
    values = stats.run_values(per_user, primary, runs)
    log.info("%d users x %d runs on %s", *values.shape, primary)
    table = stats.pairwise_significance(values)
    table.insert(0, "metric", primary)
    table.insert(0, "seed", int(seed))
    table.insert(0, "entity", entity)
    log.info("pairs:\n%s", table[["a", "b", "mean_diff", "wilcoxon_p_holm", "t_p_holm"]].to_string(index=False))
    table.to_csv(table_path, index=False)
    order = values.mean().sort_values(ascending=False).index.tolist()
    fig = plots.significance_matrix(
        table, order, metric=primary, alpha=float(alpha), dpi=int(dpi),
        title=f"{entity}, seed {seed}: paired Wilcoxon on {primary}, Holm-corrected p (A vs B)",
    )
    fig.savefig(figure_path)
