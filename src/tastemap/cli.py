"""The tastemap command: quick questions to a finished run, without Snakemake.

examples:
    tastemap info        --results results/<dataset>
    tastemap recommend   --results results/<dataset> --user user_000001 [--model als] [-n 10]
    tastemap similar     --results results/<dataset> --artist "Radiohead" [--model als]
    tastemap place-users --results results/<dataset> --listens new_users.tsv [--method umap]

``--results`` may be left out when ``./results`` holds exactly one dataset. Every command
reads the files through :func:`tastemap.load`. Unknown users, artists, models or result
folders end with one line on stderr and exit code 2 (no traceback).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from tastemap import layout as L
from tastemap.loader import NotRun, Results, UnknownName, load

EXIT_USAGE = 2


class CliError(Exception):
    """A user error: printed as one line, exit code 2."""


def _results(path: str | None) -> Results:
    if path is None:
        found = sorted(p for p in Path("results").glob("*") if (p / L.USERS).exists())
        if len(found) != 1:
            raise CliError("--results: give the run's folder (results/<dataset>); ./results holds "
                           + (", ".join(map(str, found)) if found else "no finished run"))
        path = str(found[0])
    return load(path)


def _fmt_score(x: float) -> str:
    return f"{x:.4g}" if np.isfinite(x) else "-inf"


def _print_ranked(title: str, names, values, unit: str = "") -> None:
    print(title)
    names = [str(n) for n in names]
    width = min(60, max((len(n) for n in names), default=0))
    for rank, (name, value) in enumerate(zip(names, values), 1):
        print(f"  {rank:>3}. {name:<{width}}  {value}{unit}")
    if not names:
        print("  (none)")


# ---- recommend -------------------------------------------------------------------------------


def top_played(run: Results, entity: str, uidx: int, n: int) -> pd.DataFrame:
    """The user's ``n`` most played items: ``item_idx, item, plays`` (most played first)."""
    row = run.matrix(entity)[uidx]
    order = np.lexsort((row.indices, -row.data))[:n]
    idx = row.indices[order]
    return pd.DataFrame({"item_idx": idx, "item": run.item_names(entity)[idx],
                         "plays": row.data[order].astype(np.int64)})


def recommend_for(run: Results, user: str, entity: str, model: str, variant: str | None,
                  seed: int, n: int) -> tuple[pd.DataFrame, str]:
    """Top-``n`` recommendations of one user: from the fit's recommendations table when it holds
    ``n`` rows for the user, else from the saved model's ``recommend``. Returns the table
    (``rank, item_idx, item, score``) and where it came from."""
    uidx = run.user_index(user)
    fit = run.run(entity, model, variant, seed, "full")
    table_path = fit.file(L.RECOMMENDATIONS)
    if table_path.exists():
        recs = run.recommendations(entity, model, fit.variant, seed, user=uidx)
        if len(recs) >= n:
            return recs.head(n)[["rank", "item_idx", "item", "score"]], str(table_path)
    rec = run.model(entity, model, fit.variant, seed)
    ids, scores = rec.recommend(np.array([uidx]), k=n)
    ok = ids[0] >= 0
    out = pd.DataFrame({"rank": np.arange(1, ok.sum() + 1), "item_idx": ids[0][ok],
                        "item": run.item_names(entity)[ids[0][ok]], "score": scores[0][ok]})
    return out, str(fit.file(L.MODEL))


def cmd_recommend(args) -> None:
    run = _results(args.results)
    recs, source = recommend_for(run, args.user, args.entity, args.model, args.variant,
                                 args.seed, args.n)  # first: errors before any output
    fit = run.run(args.entity, args.model, args.variant, args.seed)
    uidx = run.user_index(args.user)
    user = run.users.set_index("user_idx").loc[uidx]
    played = top_played(run, args.entity, uidx, args.n)
    n_items = run.matrix(args.entity)[uidx].nnz
    print(f"{user['user']} in {run.path}: {n_items} {args.entity}s played, "
          f"{int(user['n_plays'])} plays in all")
    _print_ranked(f"Top {args.entity}s played:", played["item"],
                  [f"{p} plays" for p in played["plays"]])
    print()
    _print_ranked(f"Recommended by {fit.model} {fit.variant} (seed {fit.seed}, full fit; "
                  f"from {source}):", recs["item"], [_fmt_score(s) for s in recs["score"]])


# ---- similar ---------------------------------------------------------------------------------


def similar_to(run: Results, name: str, entity: str, model: str, variant: str | None,
               seed: int, n: int) -> tuple[int, pd.DataFrame, str]:
    """Index of ``name`` and its ``n`` most similar items (``rank, similar_idx, similar,
    score``) from the fit's similar table, else the saved model's ``similar_items``."""
    idx = run.item_index(name, entity)
    fit = run.run(entity, model, variant, seed, "full")
    path = fit.file(L.SIMILAR)
    if path.exists():
        table = run.similar(entity, model, fit.variant, seed, item=idx)
        if len(table) >= n:
            return idx, table.head(n)[["rank", "similar_idx", "similar", "score"]], str(path)
    rec = run.model(entity, model, fit.variant, seed)
    try:
        ids, scores = rec.similar_items(np.array([idx]), k=n)
    except NotImplementedError:
        raise CliError(f"model {model} has no item similarity (no item factors); "
                       f"try --model als") from None
    ok = ids[0] >= 0
    out = pd.DataFrame({"rank": np.arange(1, ok.sum() + 1), "similar_idx": ids[0][ok],
                        "similar": run.item_names(entity)[ids[0][ok]], "score": scores[0][ok]})
    return idx, out, str(fit.file(L.MODEL))


def cmd_similar(args) -> None:
    run = _results(args.results)
    entity, name = ("artist", args.artist) if args.artist is not None else ("song", args.song)
    idx, table, source = similar_to(run, name, entity, args.model, args.variant, args.seed, args.n)
    fit = run.run(entity, args.model, args.variant, args.seed)
    info = run.items(entity).set_index(f"{entity}_idx").loc[idx]
    print(f"{run.item_names(entity)[idx]}: {int(info['n_users'])} listeners, "
          f"{int(info['n_plays'])} plays")
    _print_ranked(f"Most similar {entity}s by {fit.model} {fit.variant} (seed {fit.seed}, "
                  f"full fit; from {source}):", table["similar"],
                  [_fmt_score(s) for s in table["score"]])


# ---- place-users -----------------------------------------------------------------------------


def cmd_place_users(args) -> None:
    run = _results(args.results)
    if not Path(args.listens).exists():
        raise CliError(f"--listens: file not found: {args.listens}")
    placed = run.place_users(args.listens, args.entity, args.method, args.seed)
    if args.out:
        out = Path(args.out)
        placed.to_parquet(out, index=False) if out.suffix == ".parquet" else \
            placed.to_csv(out, index=False, sep="\t" if out.suffix == ".tsv" else ",")
    print(f"{len(placed)} users placed into the {args.method} users map of user x {args.entity}"
          f" (seed {args.seed}) in {run.path}")
    with pd.option_context("display.width", 200, "display.max_rows", 200):
        print(placed.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    lost = placed.loc[placed["n_items"] == 0, "user"].tolist()
    if lost:
        print(f"warning: {len(lost)} user(s) play no {args.entity} the map knows and sit at its "
              f"origin, which means nothing: {', '.join(map(str, lost[:10]))}")
    if args.out:
        print(f"written to {args.out}")


# ---- info ------------------------------------------------------------------------------------


def cmd_info(args) -> None:
    run = _results(args.results)
    s = run.summary()
    print(f"dataset {s['dataset']} ({run.path}); seeds {s['seeds'] or 'none'}")
    for name, m in s["matrices"].items():
        print(f"  {name}: {m['shape'][0]} users x {m['shape'][1]} items, {m['nnz']} pairs, "
              f"density {m['density']:.4g}")
    runs = run.models()
    full = runs[runs["fit"] == "full"]
    print(f"models: {len(runs)} fits ({len(full)} full)")
    for entity, group in full.groupby("entity"):
        names = [f"{m}/{v}" for m, v in group[["model", "variant"]].drop_duplicates().to_numpy()]
        print(f"  {entity}: {', '.join(names)}")
    print(f"maps: {len(s['maps'])}" + (f" ({', '.join(s['maps'])})" if s["maps"] else ""))
    print(f"topics: {', '.join(s['topics']) or 'none'}")
    for entity in ("artist", "song"):
        try:
            best = run.best(entity)
        except NotRun:
            continue
        metric = best["metric"].iloc[0] if len(best) else "?"
        print(f"best {entity} models by {metric} (mean over seeds):")
        for row in best.head(args.top).itertuples():
            sd = f" ± {row.sd:.4f}" if pd.notna(row.sd) else ""
            print(f"  {row.model} {row.variant}: {row.mean:.4f}{sd}")


# ---- entry point -----------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    head, _, rest = __doc__.partition("\n\n")
    p = argparse.ArgumentParser(prog="tastemap", description=head,
                                epilog=rest.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name, func, help_):
        c = sub.add_parser(name, help=help_, description=help_)
        c.add_argument("--results", help="results/<dataset> of a finished run (default: the only "
                                         "one under ./results)")
        c.set_defaults(func=func)
        return c

    def model_options(c):
        c.add_argument("--model", default="als", help="model family (default als)")
        c.add_argument("--variant", help="variant folder, e.g. f64 (default: the only one, else the "
                                         "one chosen on validation)")
        c.add_argument("--seed", type=int, default=0, help="seed of the fit (default 0)")
        c.add_argument("-n", type=int, default=10, help="how many to show (default 10)")

    c = command("recommend", cmd_recommend, "a user's top played items and recommendations")
    c.add_argument("--user", required=True, help="user id as in the raw data (users.parquet)")
    c.add_argument("--entity", choices=("artist", "song"), default="artist")
    model_options(c)

    c = command("similar", cmd_similar, "the items most similar to an artist or song")
    which = c.add_mutually_exclusive_group(required=True)
    which.add_argument("--artist", help="artist name (case-insensitive)")
    which.add_argument("--song", help='"artist - track" (case-insensitive)')
    model_options(c)

    c = command("place-users", cmd_place_users, "place new users into a saved users map")
    c.add_argument("--listens", required=True,
                   help="TSV/CSV with a header (user, artist[, track][, plays]) or a listens parquet")
    c.add_argument("--entity", choices=("artist", "song"), default="artist")
    c.add_argument("--method", choices=("umap", "pca"), default="umap")
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--out", help="also write the table (.csv, .tsv or .parquet)")

    c = command("info", cmd_info, "what the run holds: sizes, models, maps, topics, best models")
    c.add_argument("--top", type=int, default=3, help="best models shown per entity (default 3)")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code (0, or 2 for a user error)."""
    try:
        args = parser().parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2, argparse printed why)
        return int(exc.code or 0)
    if getattr(args, "n", 1) < 1:
        print("tastemap: error: -n must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    try:
        args.func(args)
    except (CliError, NotRun, UnknownName, ValueError) as exc:
        print(f"tastemap {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # `tastemap ... | head`
        sys.stderr.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
