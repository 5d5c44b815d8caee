"""Rule split: one seed's train/test (and validation) split of every entity matrix.

A split in which no user gets a test item stops the job with one line naming the keys to change
(tastemap.split.NoTestUsers), instead of an evaluation that scores nothing later.
"""
import sys
import zlib

import pandas as pd

from tastemap import logs
from tastemap._exit import finish
from tastemap.matrices import build_times, load_matrix, save_matrix
from tastemap.split import NoTestUsers, check_split, restrict, split


def main(snakemake):
    log = logs.setup(snakemake.log[0])
    p = snakemake.params
    seed = int(snakemake.wildcards.seed)
    opts = dict(test_fraction=p.test_fraction, min_user_items=p.min_user_items, loo_top_n=p.loo_top_n)
    inter = pd.read_parquet(snakemake.input.interactions) if p.scheme == "temporal" else None
    try:
        for i, entity in enumerate(p.entities):
            full = load_matrix(snakemake.input.matrices[i])
            times = build_times(inter, entity, full) if inter is not None else None
            # One independent stream per (seed, entity, test/validation): adding an entity changes
            # nothing else.
            stream = zlib.crc32(entity.encode())
            train, test = split(full, p.scheme, seed=[seed, stream, 0], first_listen=times, **opts)
            n_test = check_split(full, train, test, entity, p.min_user_items, "test", p.prepare)
            save_matrix(snakemake.output.train[i], train)
            save_matrix(snakemake.output.test[i], test)
            log.info("%s: %s split, train nnz %d, test nnz %d, %d test users", entity, p.scheme,
                     train.nnz, test.nnz, n_test)
            if p.validation:
                vtimes = restrict(full, times, train) if times is not None else None
                vtrain, vtest = split(train, p.scheme, seed=[seed, stream, 1], first_listen=vtimes,
                                      **opts)
                check_split(train, vtrain, vtest, entity, p.min_user_items, "validation", p.prepare)
                save_matrix(snakemake.output.valid_train[i], vtrain)
                save_matrix(snakemake.output.valid_test[i], vtest)
                log.info("%s: validation train nnz %d, validation test nnz %d", entity, vtrain.nnz,
                         vtest.nnz)
    except NoTestUsers as exc:
        log.error("split failed: %s", exc)
        print(f"tastemap: split failed: {exc}", file=sys.stderr)  # Snakemake's console too
        sys.exit(1)
    finish()  # the process ends here, without the interpreter's teardown: tastemap/_exit.py


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
