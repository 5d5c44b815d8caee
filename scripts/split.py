"""Rule split: one seed's train/test (and validation) split of every entity matrix.

A split in which no user gets a test item stops the job with one line naming the keys to change
(tastemap.data.split.NoTestUsers), instead of an evaluation that scores nothing later.
"""
import sys
import zlib

import pandas as pd

from tastemap.core import logs
from tastemap.core.exit import finish
from tastemap.data.matrices import build_times, load_matrix, save_matrix
from tastemap.data.split import (
    NoTestUsers,
    check_split,
    given,
    given_ids,
    given_splits,
    hold_out_users,
    restrict,
    split,
)


def main(snakemake):
    log = logs.setup(snakemake.log[0])
    p = snakemake.params
    seed = int(snakemake.wildcards.seed)
    opts = dict(test_fraction=p.test_fraction, min_user_items=p.min_user_items, loo_top_n=p.loo_top_n)
    inter = pd.read_parquet(snakemake.input.interactions) if p.scheme == "temporal" else None
    try:
        if p.scheme == "given":  # the files' parts on prepare's ids (entity artist only)
            full = load_matrix(snakemake.input.matrices[0])
            pairs_path, users_path, items_path = snakemake.input.given
            pairs = pd.read_parquet(pairs_path)
            rows, cols = given_ids(pairs, pd.read_parquet(users_path),
                                   pd.read_parquet(items_path))
            parts = given(full, rows, cols, pairs["part"].to_numpy())
            out = given_splits(full, parts, p.validation, [seed, zlib.crc32(b"artist"), 1],
                               p.test_fraction, p.min_user_items)
            n_test = check_split(full, out["train"], out["test"], "artist", 1, "test")
            log.info("artist: given split (%s), train nnz %d, test nnz %d, %d test users",
                     ", ".join(parts), out["train"].nnz, out["test"].nnz, n_test)
            for key in ("train", "test", "valid_train", "valid_test"):
                if key in out:
                    save_matrix(getattr(snakemake.output, key)[0], out[key])
            if p.validation:
                check_split(out["train"], out["valid_train"], out["valid_test"], "artist",
                            p.min_user_items, "validation", p.prepare)
                log.info("artist: validation train nnz %d, test nnz %d (%s)",
                         out["valid_train"].nnz, out["valid_test"].nnz,
                         "the validation file" if "validation" in parts else "holdout of train")
            finish()
        for i, entity in enumerate(p.entities):
            full = load_matrix(snakemake.input.matrices[i])
            times = build_times(inter, entity, full) if inter is not None else None
            # One independent stream per (seed, entity, test/validation): adding an entity changes
            # nothing else.
            stream = zlib.crc32(entity.encode())
            if p.held_out["fraction"] > 0:  # users no fit sees, drawn before the split
                rest, valid, test = hold_out_users(full, p.held_out["fraction"],
                                                   p.held_out["max_users"], p.min_user_items,
                                                   [seed, stream, 2])
                save_matrix(snakemake.output.held_valid[i], valid)
                save_matrix(snakemake.output.held_test[i], test)
                log.info("%s: %d validation and %d test users held out, %d users left to split",
                         entity, valid.getnnz(axis=1).astype(bool).sum(),
                         test.getnnz(axis=1).astype(bool).sum(), rest.getnnz(axis=1).astype(bool).sum())
                times = restrict(full, times, rest) if times is not None else None
                full = rest
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
    finish()  # the process ends here, without the interpreter's teardown: tastemap/core/exit.py


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
