# tastemap: raw listening logs -> tables, matrices, maps, topics, recommenders, evaluation, report.
# Thin entry point: the config (checked by tastemap.config, see common.smk), includes, and the
# default target.
from snakemake.utils import min_version

min_version("9.20")


configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/download.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/matrices.smk"
include: "workflow/rules/models.smk"
include: "workflow/rules/models_torch.smk"
include: "workflow/rules/search.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/topics.smk"
include: "workflow/rules/explore.smk"


# Light plotting and aggregation: on a cluster these run in the Snakemake process itself, not
# as sbatch jobs (each reads a few small tables and draws figures, in seconds). Each is one job
# per seed (or per run): many small figures share one process.
localrules:
    all,
    explore_summary,
    evaluate_sweeps,
    evaluate_across_seeds,
    search_summary,
    model_figures,
    topics_sweep,


rule all:
    default_target: True
    input:
        all_targets(),


# One target rule per stage: `snakemake --cores all models` runs that stage and what it needs.
# (`topics` is defined with its stage in workflow/rules/topics.smk.)
rule data:
    """Only the data stages: tables, matrices and splits."""
    localrule: True
    input:
        data_targets() + split_targets(),


rule models:
    """Every enabled recommender: fits, recommendations, similar items, maps, loss curves."""
    localrule: True
    input:
        models_targets() + models_torch_targets(),


rule evaluate:
    """The offline evaluation of every enabled recommender (fits what it needs)."""
    localrule: True
    input:
        evaluate_targets() + search_targets(),


rule explore:
    """Only the explore stage: maps and clusters of users and items."""
    localrule: True
    input:
        explore_targets(),
