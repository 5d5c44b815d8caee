# tastemap: raw listening logs -> tables, matrices, maps, topics, recommenders, evaluation, report.
# Thin entry point: config + schema validation, includes, and the default target.
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
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/topics.smk"
include: "workflow/rules/explore.smk"


rule all:
    default_target: True
    input:
        all_targets(),
