"""Rule search_model: one family's validation search on one entity and seed (tastemap.pipeline.search):
the trials table and the chosen values. Resumes from the Optuna journal a killed job left."""
from pathlib import Path

from tastemap.core import logs
from tastemap.core.exit import finish
from tastemap.data.matrices import load_matrix
from tastemap.models.space import space_from_description
from tastemap.pipeline.search import Search, chosen_record, run_search, write_chosen


def main(snakemake):
    log = logs.setup(snakemake.log[0])
    w, p, out = snakemake.wildcards, snakemake.params, snakemake.output
    search = Search(w.model, dict(p.base), space_from_description(p.space), trials=int(p.trials),
                    startup_trials=int(p.startup_trials), metric=p.metric,
                    ks=[int(k) for k in p.ks], users=int(p.users), module=p.module,
                    threads=snakemake.threads)
    log.info("%s/%s seed %s: %d trials of %s on %s", w.entity, w.model, w.seed, search.trials,
             p.space, snakemake.input.train)
    train, test = load_matrix(snakemake.input.train), load_matrix(snakemake.input.test)
    table = run_search(search, train, test, int(w.seed), Path(p.journal))
    table.to_parquet(out.trials, index=False)
    record = chosen_record(table, search, int(w.seed))
    write_chosen(record, out.chosen)
    log.info("chosen (trial %d, %s %.5f): %s", record["best_trial"], search.metric,
             record["score"], record["searched"])
    finish()  # the process ends here, without the interpreter's teardown: tastemap/core/exit.py


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
