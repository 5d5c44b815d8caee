"""The tastemap command: quick questions to a finished run, without Snakemake.

examples:
    tastemap info        --results results/<dataset>
    tastemap recommend   --results results/<dataset> --user user_000001 [--model als] [-n 10]
    tastemap recommend   --results results/<dataset> --likes "Radiohead" "Muse" [--explain]
    tastemap explain     --results results/<dataset> --user user_000001 --item "Portishead"
    tastemap similar     --results results/<dataset> --artist "Radiohead" [--model als]
    tastemap place-users --results results/<dataset> --listens new_users.tsv [--method umap]
    tastemap search      --results results/<dataset> [--model ease]

``--results`` may be left out when ``./results`` holds exactly one dataset. Every command
reads the files through :func:`tastemap.load`. Names are matched forgivingly (case, accents,
punctuation); unknown or ambiguous names, unknown models or result folders end with one line on
stderr and exit code 2 (no traceback).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from tastemap.app.explain import CannotExplain
from tastemap.app.loader import NotRun, Results, UnknownName, load
from tastemap.core import layout as L

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
    return out, str(fit.model_file)


def read_likes(path: str) -> dict[str, float | None]:
    """A likes file: one name per line, optionally a tab and a play count; blank lines and
    lines starting with ``#`` are skipped. Returns name -> count (``None``: the default)."""
    file = Path(path)
    if not file.exists():
        raise CliError(f"--likes-file: file not found: {path}")
    likes: dict[str, float | None] = {}
    for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, _, count = line.partition("\t")
        try:
            likes[name.strip()] = float(count) if count.strip() else None
        except ValueError:
            raise CliError(f"{path}:{number}: play count {count.strip()!r} is not a number "
                           f"(expected: name<TAB>count)") from None
    if not likes:
        raise CliError(f"{path}: no names (one name per line, optionally <TAB>count)")
    return likes


def _likes(args) -> list[str] | dict[str, float | None] | None:
    """The liked names of ``--likes`` / ``--likes-file`` (None when neither was given)."""
    return read_likes(args.likes_file) if args.likes_file else args.likes


def _because(table: pd.DataFrame, item: int, top: int = 3) -> str:
    """``<- A 48%, B 20%`` : the played items behind one recommendation (of an explain table)."""
    rows = table[table["item_idx"] == item].head(top)
    if rows.empty:
        return "  <- no played item contributes"
    return "  <- " + ", ".join(f"{r.played} {100 * r.share:.0f}%" if np.isfinite(r.share)
                               else str(r.played) for r in rows.itertuples())


def _print_recs(title: str, recs: pd.DataFrame, why: pd.DataFrame | None) -> None:
    values = [_fmt_score(x) for x in recs["score"]]
    if why is not None:
        width = max((len(v) for v in values), default=0)
        values = [f"{v:<{width}}{_because(why, i)}" for v, i in zip(values, recs["item_idx"])]
    _print_ranked(title, recs["item"], values)


def _explained(run: Results, args, items, model: str, variant: str,
               **who) -> tuple[pd.DataFrame | None, str]:
    """The explanation table of ``items`` (``--explain``), or None and why not."""
    if not args.explain:
        return None, ""
    try:
        return run.explain(items, entity=args.entity, model=model, variant=variant,
                           seed=args.seed, n=3, **who), ""
    except CannotExplain as exc:
        return None, f"  ({exc})"


def cmd_recommend(args) -> None:
    likes = _likes(args)
    if likes is not None:
        return recommend_likes(args, likes)
    run = _results(args.results)
    model = args.model or "als"
    recs, source = recommend_for(run, args.user, args.entity, model, args.variant,
                                 args.seed, args.n)  # first: errors before any output
    fit = run.run(args.entity, model, args.variant, args.seed)
    uidx = run.user_index(args.user)
    user = run.users.set_index("user_idx").loc[uidx]
    played = top_played(run, args.entity, uidx, args.n)
    n_items = run.matrix(args.entity)[uidx].nnz
    print(f"{user['user']} in {run.path}: {n_items} {args.entity}s played, "
          f"{int(user['n_plays'])} plays in all")
    _print_ranked(f"Top {args.entity}s played:", played["item"],
                  [f"{p} plays" for p in played["plays"]])
    print()
    title = (f"Recommended by {fit.model} {fit.variant} (seed {fit.seed}, full fit; "
             f"from {source}):")
    why, note = _explained(run, args, recs["item_idx"], model, fit.variant, user=uidx)
    _print_recs(title + (" score, and the played items behind it" if why is not None else ""),
                recs, why)
    if note:
        print(note)


def recommend_likes(args, likes) -> None:
    """``recommend --likes``: fold-in through one family or every family that can."""
    run = _results(args.results)
    recs = run.recommend_new(likes, args.entity, args.model, args.variant, args.seed, args.n)
    matches, default = recs.attrs["matches"], recs.attrs["plays"]
    shown = [m.name if m.how == "exact" else f"{m.name} (for {m.query!r})" for m in matches]
    given = isinstance(likes, dict) and any(c is not None for c in likes.values())
    counts = (f"each counted as {default:g} plays, a heavily played {args.entity}"
              + (", unless the file gives a count" if given else ""))
    print(f"A new listener in {run.path} who likes {len(matches)} {args.entity}s ({counts}):")
    print("  " + "; ".join(shown))
    print("Fold-in: the fitted models score this listener without refitting.")
    note = likes_note(run, args.entity, args.seed, len(matches))
    if note:
        print(note)
    for (model, variant), group in recs.groupby(["model", "variant"], sort=False):
        print()
        why, note = _explained(run, args, group["item_idx"], model, variant, likes=likes)
        _print_recs(f"Recommended by {model} {variant} (seed {args.seed}, full fit):", group, why)
        if note:
            print(note)
    for model, reason in recs.attrs["skipped"].items():
        print(f"\nnot asked: {model} ({reason})")


def likes_note(run, entity: str, seed: int, n_liked: int) -> str | None:
    """What the run's likes curve says for a listener who names ``n_liked`` items: at the
    curve's largest n not above it (its smallest n if none), the most-played pick, the families
    best first. None when the run has no likes curve."""
    try:
        curve = run.likes_curve(entity, seed)
    except NotRun:
        return None
    curve = curve[curve["pick"] == "most played"]
    if curve.empty:
        return None
    ns = sorted(curve["n"].unique())
    n = max([x for x in ns if x <= n_liked], default=ns[0])
    at = curve[curve["n"] == n].sort_values("mean", ascending=False)
    ranked = ", ".join(f"{m} {v:.3f}" for m, v in zip(at["model"], at["mean"], strict=True))
    where = L.path(L.NEW_DIR, entity=entity, seed=seed)
    return (f"This run's likes curve ({at['metric'].iloc[0]} of held-out listeners who name "
            f"their {n} most played {entity}s, {where}/): {ranked}.")


# ---- explain ---------------------------------------------------------------------------------


def cmd_explain(args) -> None:
    run = _results(args.results)
    likes = _likes(args)
    who = {"likes": likes} if likes is not None else {"user": args.user}
    fit = run.run(args.entity, args.model, args.variant, args.seed)
    table = run.explain(args.item, entity=args.entity, model=args.model, variant=args.variant,
                        seed=args.seed, n=args.n, **who)
    item = run.item_index(args.item, args.entity)
    name, score = run.item_names(args.entity)[item], table.attrs["scores"][item]
    played = table.attrs["played"]
    person = ("a new listener" if likes is not None else
              f"user {run.users.set_index('user_idx').loc[run.user_index(args.user), 'user']}")
    print(f"Why {fit.model} {fit.variant} (seed {fit.seed}, full fit) scores {name} "
          f"{_fmt_score(score)} for {person} ({len(played)} {args.entity}s "
          f"{'liked' if likes is not None else 'played'}):")
    if item in played:
        print(f"  ({name} is played already: recommendations never show it)")
    _print_ranked("Played items that contributed most (plays; contribution, share of the score):",
                  table["played"], [f"{p:g} plays; {c:.4g}, {100 * sh:.1f}%"
                                    for p, c, sh in zip(table["plays"], table["contribution"],
                                                        table["share"])])
    others = len(played) - len(table)
    if others > 0:
        rest = score - float(table["contribution"].sum())
        print(f"  the other {others} played {args.entity}s: {rest:.4g}"
              + (f", {100 * rest / score:.1f}%" if score else ""))


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
    if rec.similar_by is None:
        raise CliError(f"model {model} has no item similarity; try --model als")
    ids, scores = rec.similar_items(np.array([idx]), k=n)
    ok = ids[0] >= 0
    out = pd.DataFrame({"rank": np.arange(1, ok.sum() + 1), "similar_idx": ids[0][ok],
                        "similar": run.item_names(entity)[ids[0][ok]], "score": scores[0][ok]})
    return idx, out, str(fit.model_file)


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


# ---- search ----------------------------------------------------------------------------------


def cmd_search(args) -> None:
    run = _results(args.results)
    table = run.search(args.entity, args.seed)
    if args.model:
        rows = table[table["model"] == args.model]
        if rows.empty:
            raise CliError(f"no search of {args.model!r} for {args.entity}, seed {args.seed} "
                           f"(searched: {', '.join(table['model'].unique()) or 'none'})")
        print(f"{args.model}: every trial (validation {run.primary_metric(args.entity)})")
        for row in rows.itertuples():
            mark = "  <- chosen" if row.chosen else ""
            print(f"  {row.trial + 1:3d}  {row.score:.4f}  {row.values}{mark}")
        return
    print(f"validation search, {args.entity}, seed {args.seed}: chosen values")
    for model, rows in table.groupby("model", sort=False):
        best = rows[rows["chosen"]].iloc[0]
        print(f"  {model}: {best['score']:.4f} at trial {int(best['trial']) + 1} of "
              f"{len(rows)}: {best['values']}")


# ---- entry point -----------------------------------------------------------------------------


def _model_options(c, default="als", model_help="model family (default als)", n=10) -> None:
    c.add_argument("--model", default=default, help=model_help)
    c.add_argument("--variant", help="variant folder, e.g. f64 (default: the only one, else "
                                     "the one chosen on validation)")
    c.add_argument("--seed", type=int, default=0, help="seed of the fit (default 0)")
    c.add_argument("-n", type=int, default=n, help=f"how many to show (default {n})")


def _who(c) -> None:
    """``--user``, or a new listener's ``--likes`` / ``--likes-file``; and ``--entity``."""
    group = c.add_mutually_exclusive_group(required=True)
    group.add_argument("--user", help="user id as in the raw data (users.parquet)")
    group.add_argument("--likes", nargs="+", metavar="NAME",
                       help="a new listener who likes these artists (or 'artist - track' "
                            "songs); matched forgivingly: case, accents, punctuation. The best "
                            "family depends on how many are named: the answer prints the run's "
                            "likes curve at that number; on MovieLens 100K it favoured user-kNN "
                            "for 1 name (item-item and factor models fall below popularity "
                            "there), BPR for 3 to 10 and the two-tower model for 20 "
                            "(docs/quality.md, 'The likes curve')")
    group.add_argument("--likes-file", metavar="FILE",
                       help="the same from a file: one name per line, optionally "
                            "<TAB>play count; # comments")
    c.add_argument("--entity", choices=("artist", "song"), default="artist")


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

    c = command("recommend", cmd_recommend,
                "a user's top played items and recommendations, or recommendations for a new "
                "listener (--likes: fold-in, no refitting)")
    _who(c)
    _model_options(c, None, "model family (default: als for --user; every family that folds in "
                           "for --likes)")
    c.add_argument("--explain", action="store_true",
                   help="show the played (liked) items behind each recommendation (als, itemknn, "
                        "ease, p3alpha, rp3beta, slim)")

    c = command("explain", cmd_explain,
                "why a model recommends an item: the played items that contributed most")
    _who(c)
    c.add_argument("--item", required=True,
                   help="the artist (or 'artist - track') to explain")
    _model_options(c, "als", "model family that explains: als, itemknn, ease, p3alpha, rp3beta or "
                          "slim (default als)", n=5)

    c = command("similar", cmd_similar, "the items most similar to an artist or song")
    which = c.add_mutually_exclusive_group(required=True)
    which.add_argument("--artist", help="artist name (case-insensitive)")
    which.add_argument("--song", help='"artist - track" (case-insensitive)')
    _model_options(c)

    c = command("place-users", cmd_place_users, "place new users into a saved users map")
    c.add_argument("--listens", required=True,
                   help="TSV/CSV with a header (user, artist[, track][, plays]) or a listens parquet")
    c.add_argument("--entity", choices=("artist", "song"), default="artist")
    c.add_argument("--method", choices=("umap", "pca"), default="umap")
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--out", help="also write the table (.csv, .tsv or .parquet)")

    c = command("search", cmd_search,
                "what each family's validation search tried and chose (search.enabled)")
    c.add_argument("--entity", choices=("artist", "song"), default="artist")
    c.add_argument("--seed", type=int, default=0, help="seed of the search (default 0)")
    c.add_argument("--model", help="show every trial of this family")

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
    except (CliError, NotRun, UnknownName, ValueError) as exc:  # CannotExplain is a ValueError
        print(f"tastemap {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # `tastemap ... | head`
        sys.stderr.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
