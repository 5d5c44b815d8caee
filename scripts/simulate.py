"""Rule simulate: the simulated listening log with planted genres (the default data) + its truth table."""
import json

from tastemap.core import logs
from tastemap.core.exit import finish
from tastemap.data.simulate import SimulationSpec, simulate_to_files


def main(snakemake):
    log = logs.setup(snakemake.log[0])
    spec = SimulationSpec.from_params(dict(snakemake.params.simulate))
    log.info("simulate: %s", spec)
    stats = simulate_to_files(snakemake.output.listens, snakemake.output.truth, spec)
    log.info("stats: %s", json.dumps(stats))
    finish()  # the process ends here, without the interpreter's teardown: tastemap/core/exit.py


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
