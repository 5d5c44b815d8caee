"""Open a finished run's ``results/<dataset>/`` folder in a notebook: ``tastemap.load(path)``.

Every table, matrix, fitted model and metric the workflow wrote is one attribute or method
away, read on first use and cached. The loader only reads; it never needs Snakemake or the
config: the file names come from :mod:`tastemap.layout` (the results guide,
``docs/results.md``, describes every file).

>>> run = load("results/synthetic")                      # doctest: +SKIP
>>> run.matrix("artist").shape                            # users x artists   # doctest: +SKIP
>>> run.recommendations("artist", "als", user="user_000001")   # doctest: +SKIP

Anything the run did not make raises :class:`NotRun` (a ``FileNotFoundError``) naming the
missing path and the config key that turns it on; an unknown user, artist, song or model
raises :class:`UnknownName` (a ``KeyError``) with the closest names.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from tastemap import layout as L
from tastemap.matrices import load_matrix
from tastemap.names import AmbiguousName, Match, NameIndex, UnknownName, suggestions

__all__ = ["AmbiguousName", "Match", "NotRun", "Results", "Run", "TopicRun", "UnknownName",
           "family", "load"]

ENTITIES = ("artist", "song")
FITS = ("full", "train", "valid")
METHODS = ("pca", "umap", "tsne", "svd")
SIDES = ("users", "items")


class NotRun(FileNotFoundError):
    """An output the run did not make; the message names the path and what makes it."""


def _unknown(kind: str, name: Any, names: Any, where: Path, list_all: bool = False) -> UnknownName:
    """The error for an unknown name: the closest names, or all of a short list (models)."""
    if list_all:
        hint = f"; known: {', '.join(map(str, names))}"
    else:
        close = suggestions(str(name), names)
        hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
    return UnknownName(f"unknown {kind} {str(name)!r} in {where}{hint}")


def family(model: str) -> type:
    """The class of the model family registered as ``model`` (imports only its light module):
    its declarations say what it can do (``folds_in``: recommend for new users without
    refitting; ``explains``: name the played items behind a recommendation)."""
    from tastemap.models import registry

    try:
        return registry.get(model)
    except KeyError as err:
        raise UnknownName(err.args[0]) from None


def folds_in(model: str) -> bool:
    """Whether the family scores new users from their plays without refitting (``folds_in``)."""
    return bool(family(model).folds_in)


def favourite_plays(matrix: sp.csr_matrix) -> float:
    """The play count given to a liked name without one: the 90th percentile of the stored play
    counts of ``matrix`` (users x items), i.e. a heavily played item; 1 for an empty matrix.

    >>> round(favourite_plays(sp.csr_matrix(np.array([[1.0, 0.0], [3.0, 51.0]]))), 6)
    41.4
    """
    data = sp.csr_matrix(matrix).data
    return float(np.percentile(data, 90)) if len(data) else 1.0


def explains(model: str) -> bool:
    """Whether the family can name the played items behind a recommendation (``explains``)."""
    return bool(family(model).explains)


def _check_entity(entity: str) -> None:
    if entity not in ENTITIES:
        raise ValueError(f"entity must be one of {ENTITIES}, not {entity!r}")


@dataclass(frozen=True)
class Run:
    """One fitted model folder: ``layout.FIT_DIR``."""

    entity: str
    model: str
    variant: str
    seed: int
    fit: str
    path: Path

    def file(self, template: str) -> Path:
        """A file of this fit: ``template`` one of :mod:`tastemap.layout`'s fit templates
        (``layout.MODEL``, ``layout.RECOMMENDATIONS``, ...)."""
        return self.path / Path(L.path(template, fit=self.fit)).name

    @property
    def model_file(self) -> Path:
        """The fitted model's file in this folder (``model.npz``)."""
        return _need(self.file(L.MODEL), f"models.{self.model}")


@dataclass
class TopicRun:
    """The LDA outputs of one (entity, k, seed): the folder ``layout.TOPICS_DIR``.

    ``user_topics``: one row per user, ``user_idx, user, dominant_topic, topic_0 .. topic_{k-1}``
    (mixtures sum to 1); ``topic_items``: ``topic, <entity>_idx, <entity>, weight`` =
    P(item | topic) for every item; ``top_items``: the ``topics.top_n`` most probable items per
    topic with ``rank``; ``topics``: one row per topic (share, coherence, label, purity);
    ``metrics``: perplexity, coherence and (simulated data) purity / NMI of the run.
    """

    entity: str
    k: int
    seed: int
    path: Path
    user_topics: pd.DataFrame
    topic_items: pd.DataFrame
    top_items: pd.DataFrame
    topics: pd.DataFrame
    metrics: dict

    def model(self):
        """The fitted LDA recommender (:class:`tastemap.models.lda.LDA`, ``model.npz``); its
        ``lda_`` is scikit-learn's ``LatentDirichletAllocation``."""
        from tastemap.models.lda import LDA

        return LDA.load(_need(self.path / Path(L.TOPICS_MODEL).name, "topics.enabled"))


def _need(path: Path, hint: str) -> Path:
    if not path.exists():
        raise NotRun(f"{path}: not found - {hint} was not run (or the run did not finish)")
    return path


class Results:
    """The outputs of one finished workflow run, loaded lazily.

    Parameters
    ----------
    path : ``results/<dataset>`` (the folder holding ``data/``, ``matrices/``, ``models/``...).

    Tables (``pandas.DataFrame``, read on first access and cached): ``users``, ``artists``,
    ``songs``, ``interactions``, ``listens``, ``rejected``; ``stats`` is ``matrices/stats.json``.
    Row ``i`` of every matrix is ``user_idx == i`` of ``users``; column ``j`` is
    ``artist_idx == j`` of ``artists`` (``song_idx`` of ``songs``).
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if not self.path.is_dir():
            raise NotRun(f"{self.path}: no such results directory (run snakemake first; results "
                         f"go to results/<dataset>/)")
        if not (self.path / L.USERS).exists():
            raise NotRun(f"{self.path}: not a tastemap results directory (no {L.USERS};"
                         f" expected results/<dataset>/ of a finished run)")
        self._cache: dict[tuple, Any] = {}

    def __repr__(self) -> str:
        return f"tastemap.load({str(self.path)!r})"

    @property
    def dataset(self) -> str:
        return self.path.name

    def _file(self, rel: str, hint: str) -> Path:
        return _need(self.path / rel, hint)

    def _parquet(self, rel: str, hint: str = "the data stage") -> pd.DataFrame:
        key = ("parquet", rel)
        if key not in self._cache:
            self._cache[key] = pd.read_parquet(self._file(rel, hint))
        return self._cache[key]

    # ---- data tables ---------------------------------------------------------------------
    @property
    def users(self) -> pd.DataFrame:
        """``user_idx, user, n_artists, n_plays`` (data/users.parquet)."""
        return self._parquet(L.USERS)

    @property
    def artists(self) -> pd.DataFrame:
        """``artist_idx, artist, n_users, n_plays`` (data/artists.parquet)."""
        return self._parquet(L.ARTISTS)

    @property
    def songs(self) -> pd.DataFrame:
        """``song_idx, artist_idx, artist, track, n_users, n_plays`` (data/songs.parquet)."""
        return self._parquet(L.SONGS)

    @property
    def interactions(self) -> pd.DataFrame:
        """One row per (user, artist, track): ``user_idx, artist_idx, song_idx, plays, first_ts,
        last_ts`` (data/interactions.parquet)."""
        return self._parquet(L.INTERACTIONS)

    @property
    def listens(self) -> pd.DataFrame:
        """The canonical listening rows ``user, artist, track, timestamp, plays`` (can be large:
        one row per scrobble for Last.fm-1K)."""
        return self._parquet(L.LISTENS)

    @property
    def rejected(self) -> pd.DataFrame:
        """Raw lines ingest could not read: ``line`` (1-based), ``raw``, ``reason``."""
        return self._parquet(L.REJECTED)

    @cached_property
    def stats(self) -> dict:
        """``matrices/stats.json``: shape, nnz, density and quantiles of each matrix."""
        return json.loads(self._file(L.MATRIX_STATS, "the matrices stage").read_text())

    def items(self, entity: str = "artist") -> pd.DataFrame:
        """The item table of ``entity``: ``artists`` or ``songs``."""
        _check_entity(entity)
        return self.artists if entity == "artist" else self.songs

    def item_names(self, entity: str = "artist") -> np.ndarray:
        """Display name of every item by index: the artist, or ``"artist - track"`` for songs."""
        key = ("item_names", entity)
        if key not in self._cache:
            items = self.items(entity).sort_values(f"{entity}_idx")
            names = (items["artist"].astype(str) + " - " + items["track"].astype(str)
                     if entity == "song" else items["artist"].astype(str))
            self._cache[key] = names.to_numpy(dtype=object)
        return self._cache[key]

    def name_index(self, entity: str = "artist") -> NameIndex:
        """The :class:`tastemap.names.NameIndex` of the items of ``entity`` (artist names, or
        ``"artist - track"``), or of the users with ``entity="user"``."""
        key = ("name_index", entity)
        if key not in self._cache:
            if entity == "user":
                names = self.users.sort_values("user_idx")["user"].astype(str)
                self._cache[key] = NameIndex(names, "user", self.path / "data/users.parquet")
            else:
                self._cache[key] = NameIndex(self.item_names(entity), entity,
                                             self.path / f"data/{entity}s.parquet")
        return self._cache[key]

    def user_index(self, user: str | int) -> int:
        """``user_idx`` of a user name (exact, else forgiving: see :mod:`tastemap.names`); an int
        is taken as the index itself, range-checked."""
        if isinstance(user, (int, np.integer)):
            n = len(self.users)
            if not 0 <= int(user) < n:
                raise UnknownName(f"user_idx {user} out of range 0..{n - 1} in "
                                  f"{self.path / L.USERS}")
            return int(user)
        return self.name_index("user").find(user).idx

    def item_index(self, name: str, entity: str = "artist") -> int:
        """Index of an item by name: an artist name for ``entity="artist"``, ``"artist -
        track"`` for songs; exact, else forgiving (case, accents, punctuation: see
        :mod:`tastemap.names`). Unknown: :class:`UnknownName` with suggestions; several
        forgiving matches: :class:`AmbiguousName`."""
        return self.name_index(entity).find(name).idx

    def match(self, names, entity: str = "artist") -> list[Match]:
        """Every name of ``names`` matched to the catalogue of ``entity``, in order
        (:class:`tastemap.names.Match`: ``query, idx, name, how``); all unknown or ambiguous
        names are reported in one :class:`UnknownName`."""
        return self.name_index(entity).find_all(names)

    # ---- matrices and splits ---------------------------------------------------------------
    def matrix(self, entity: str = "artist", binary: bool = False) -> sp.csr_matrix:
        """Users x items CSR of play counts (float32); ``binary`` sets every stored count to 1."""
        _check_entity(entity)
        key = ("matrix", entity, binary)
        if key not in self._cache:
            path = self._file(L.path(L.MATRIX, entity=entity), f"entities: [{entity}]")
            self._cache[key] = load_matrix(path, binary=binary)
        return self._cache[key]

    def split(self, seed: int = 0, entity: str = "artist",
              valid: bool = False) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        """``(train, test)`` CSR of the seed's split (``layout.TRAIN``, ``TEST``; with ``valid``
        the validation split inside train); both have the full matrix's shape and sum to it."""
        _check_entity(entity)
        parts = (L.VALID_TRAIN, L.VALID_TEST) if valid else (L.TRAIN, L.TEST)
        hint = f"seed {seed} (config seeds)" + (" with split.validation" if valid else "")
        return tuple(load_matrix(self._file(L.path(part, seed=seed, entity=entity), hint))
                     for part in parts)

    # ---- models -----------------------------------------------------------------------------
    def models(self) -> pd.DataFrame:
        """Every fitted model folder: ``entity, model, variant, seed, fit, path`` (sorted)."""
        rows = []
        for file in sorted(self.path.glob(L.glob(L.MODEL))):
            w = L.parse(L.MODEL, file.relative_to(self.path).as_posix())
            if w is None or not w["seed"].isdigit():
                continue
            rows.append(Run(w["entity"], w["model"], w["variant"], int(w["seed"]), w["fit"],
                            file.parent))
        cols = ["entity", "model", "variant", "seed", "fit", "path"]
        table = pd.DataFrame([r.__dict__ for r in rows], columns=cols)
        return table.sort_values(cols[:5], ignore_index=True)

    def run(self, entity: str = "artist", model: str = "als", variant: str | None = None,
            seed: int = 0, fit: str = "full") -> Run:
        """The folder of one fit. ``variant=None`` picks the only variant, else the variant
        chosen on validation (``layout.SELECTED``)."""
        _check_entity(entity)
        if fit not in FITS:
            raise ValueError(f"fit must be one of {FITS}, not {fit!r}")
        runs = self.models()
        if runs.empty:
            raise NotRun(f"{self.path / L.MODEL_RUN.split('/')[0]}: no fitted models "
                         "(enable models.<name>)")
        mine = runs[(runs["entity"] == entity) & (runs["seed"] == seed) & (runs["fit"] == fit)]
        if model not in set(mine["model"]):
            known = sorted(set(mine["model"]))
            where = self.path / L.path(L.MODEL_RUN, entity=entity).split("/{model}")[0]
            if not known:
                raise NotRun(f"{where}: no {fit} fit of seed {seed}")
            raise _unknown("model", model, known, where, list_all=True)
        variants = sorted(set(mine.loc[mine["model"] == model, "variant"]))
        if variant is None:
            variant = variants[0] if len(variants) == 1 else self._selected_variant(
                entity, model, seed, variants)
        elif variant not in variants:
            raise _unknown(f"variant of {model}", variant, variants,
                           self.path / L.path(L.MODEL_RUN, entity=entity, model=model)
                           .split("/{variant}")[0], list_all=True)
        return Run(entity, model, variant, seed, fit, self.path / L.path(
            L.FIT_DIR, entity=entity, model=model, variant=variant, seed=seed, fit=fit))

    def _selected_variant(self, entity: str, model: str, seed: int, variants: list[str]) -> str:
        path = self.path / L.path(L.SELECTED, entity=entity, seed=seed)
        if path.exists():
            sel = pd.read_csv(path)
            hit = sel.loc[sel["model"] == model, "variant"]
            if not hit.empty and str(hit.iloc[0]) in variants:
                return str(hit.iloc[0])
        runs_dir = L.path(L.MODEL_RUN, entity=entity, model=model).split("/{variant}")[0]
        raise UnknownName(f"{model} has variants {', '.join(variants)} in "
                          f"{self.path / runs_dir}"
                          " and no validation choice "
                          f"({path}); pass variant=")

    def model(self, entity: str = "artist", model: str = "als", variant: str | None = None,
              seed: int = 0, fit: str = "full", module: str | None = None):
        """The fitted :class:`tastemap.models.base.Recommender` (``recommend``,
        ``similar_items``, ``user_factors`` / ``item_factors`` where the family has them),
        with the matrix of its fit attached when the run has it (``recommend`` of known users
        needs it). ``module``: the module of a family outside tastemap (``models.<name>.module``
        of the run's config); a model file never makes tastemap import code by itself."""
        from tastemap.models.run import load_model

        run = self.run(entity, model, variant, seed, fit)
        key = ("model", run.path)
        if key not in self._cache:
            path = run.model_file
            matrix = self.path / L.fit_matrix(fit, entity=entity, seed=seed)
            train = load_matrix(matrix) if matrix.exists() else None
            self._cache[key] = load_model(path, model, module, train=train)
        return self._cache[key]

    def recommendations(self, entity: str = "artist", model: str = "als",
                        variant: str | None = None, seed: int = 0, fit: str = "full",
                        user: str | int | None = None) -> pd.DataFrame:
        """Top-n recommendations of a fit: ``user_idx, user, rank, item_idx, item, score``
        (all users, or one ``user`` by name or index)."""
        run = self.run(entity, model, variant, seed, fit)
        rel = str(run.file(L.RECOMMENDATIONS).relative_to(self.path))
        if user is None:
            return self._parquet(rel, f"models.{model}")
        return self._rows(rel, "user_idx", self.user_index(user), f"models.{model}")

    def _rows(self, rel: str, column: str, value: int, hint: str) -> pd.DataFrame:
        """Rows of a large Parquet table with ``column == value``: from the cached table, else
        read with a filter (one user of millions, without loading them all)."""
        key = ("parquet", rel)
        if key in self._cache:
            table = self._cache[key]
            return table[table[column] == value].reset_index(drop=True)
        return pd.read_parquet(self._file(rel, hint), filters=[(column, "==", value)])

    def similar(self, entity: str = "artist", model: str = "als", variant: str | None = None,
                seed: int = 0, fit: str = "full", item: str | int | None = None) -> pd.DataFrame:
        """Most similar items of a fit: ``item_idx, item, rank, similar_idx, similar, score``
        (empty for models without item similarity, e.g. popularity); one ``item`` by name or
        index."""
        run = self.run(entity, model, variant, seed, fit)
        rel = str(run.file(L.SIMILAR).relative_to(self.path))
        if item is None:
            return self._parquet(rel, f"models.{model}")
        idx = int(item) if isinstance(item, (int, np.integer)) else self.item_index(item, entity)
        return self._rows(rel, "item_idx", idx, f"models.{model}")

    def history(self, entity: str = "artist", model: str = "mf", variant: str | None = None,
                seed: int = 0, fit: str = "full") -> pd.DataFrame:
        """Training curve of a fit: ``epoch, split, metric, value`` (empty for closed forms)."""
        run = self.run(entity, model, variant, seed, fit)
        return pd.read_parquet(_need(run.file(L.HISTORY), f"models.{model}"))

    # ---- new listeners and explanations -------------------------------------------------------
    def likes(self, likes, entity: str = "artist",
              plays: float | None = None) -> tuple[sp.csr_matrix, list[Match], float]:
        """The play row (1 x n_items, float32) of a new listener who likes ``likes``: a list of
        names (each counted ``plays`` times) or a mapping name -> play count (``None``: ``plays``).

        ``plays`` defaults to :func:`favourite_plays` of the run's matrix (as the workflow's
        ``models.new_users`` profiles). Names are matched with :meth:`match` (exact, else
        forgiving; unknown and ambiguous ones raise, all at once). Returns the row, the matches
        and the play count given to a name without one.
        """
        if plays is None:
            plays = favourite_plays(self.matrix(entity))
        pairs = ([(x, plays if c is None else c) for x, c in likes.items()]
                 if isinstance(likes, dict) else [(x, plays) for x in likes])
        if not pairs:
            raise ValueError("no liked names given")
        matches = self.match([name for name, _ in pairs], entity)
        counts = np.asarray([float(c) for _, c in pairs], dtype=np.float32)
        if (counts <= 0).any() or not np.isfinite(counts).all():
            bad = [name for (name, _), c in zip(pairs, counts) if not c > 0 or not np.isfinite(c)]
            raise ValueError(f"play counts must be > 0: {', '.join(map(repr, bad))}")
        cols = np.asarray([m.idx for m in matches])
        row = sp.csr_matrix((counts, (np.zeros(len(cols), int), cols)),
                            shape=(1, len(self.item_names(entity))), dtype=np.float32)
        row.sum_duplicates()
        return row, matches, float(plays)

    def families(self, entity: str = "artist", seed: int = 0, can: str = "folds_in") -> list[str]:
        """Model families with a full fit of ``(entity, seed)`` that can do ``can``
        (``"folds_in"`` or ``"explains"``), best first on the across-seeds leaderboard (when the
        run has one), then by name."""
        runs = self.models()
        fitted = sorted(set(runs.loc[(runs["entity"] == entity) & (runs["seed"] == seed)
                                     & (runs["fit"] == "full"), "model"]))
        test = {"folds_in": folds_in, "explains": explains}[can]
        able = [m for m in fitted if test(m)]
        try:
            ranked = list(dict.fromkeys(self.best(entity)["model"]))
        except (NotRun, UnknownName, ValueError):
            ranked = []
        return sorted(able, key=lambda m: (ranked.index(m) if m in ranked else len(ranked), m))

    def recommend_new(self, likes, entity: str = "artist", model: str | None = None,
                      variant: str | None = None, seed: int = 0, n: int = 10,
                      plays: float | None = None) -> pd.DataFrame:
        """Top-``n`` recommendations for a new listener who likes ``likes`` (see :meth:`likes`),
        from the full fits without refitting (fold-in): of ``model``, or of every family that
        folds in (``model=None``; see :meth:`families`).

        Columns ``model, variant, rank, item_idx, item, score``; ``attrs``: ``matches`` (how each
        name was matched), ``plays`` (the count of a name without one) and ``skipped`` (family ->
        why it gave nothing: e.g. several variants and no validation choice).
        """
        row, matches, default = self.likes(likes, entity, plays)
        names = [model] if model is not None else self.families(entity, seed, "folds_in")
        if model is not None:
            self.run(entity, model, variant, seed)  # unknown model / variant: raise here
            if not folds_in(model):
                raise ValueError(f"model {model} cannot recommend for new users (no fold-in); "
                                 f"families that can: {', '.join(self.families(entity, seed))}")
        frames, skipped = [], {}
        for name in names:
            try:
                fit = self.run(entity, name, variant if model is not None else None, seed)
            except UnknownName as exc:
                skipped[name] = str(exc)
                continue
            ids, scores = self.model(entity, name, fit.variant, seed).recommend_new(row, k=n)
            ok = ids[0] >= 0
            frames.append(pd.DataFrame({
                "model": name, "variant": fit.variant, "rank": np.arange(1, ok.sum() + 1),
                "item_idx": ids[0][ok], "item": self.item_names(entity)[ids[0][ok]],
                "score": scores[0][ok]}))
        cols = ["model", "variant", "rank", "item_idx", "item", "score"]
        out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)
        out.attrs.update(matches=matches, plays=default, skipped=skipped)
        return out

    def explain(self, items, user: str | int | None = None, likes=None, entity: str = "artist",
                model: str = "als", variant: str | None = None, seed: int = 0,
                n: int = 5) -> pd.DataFrame:
        """Why ``model`` (full fit) scores ``items`` for a user: the ``n`` played items that
        contributed most to each, for a known ``user`` (their row of the matrix the model was
        fit on) or a new listener who ``likes`` some names (see :meth:`likes`).

        ``items``: a name or index, or a list of them. Families that can (``explains``): ALS
        (implicit's ``explain``), item-kNN (neighbour weights), EASE (weights of B); others raise
        :class:`tastemap.explain.CannotExplain`. Columns: see
        :func:`tastemap.explain.explain_row` (``item_idx, item, score, contrib_rank, played_idx,
        played, plays, contribution, share``); ``attrs["played"]``: the items of the row.
        """
        from tastemap.explain import explain_row

        if (user is None) == (likes is None):
            raise ValueError("give either user= or likes=")
        fit = self.run(entity, model, variant, seed)
        if user is not None:
            row = self.matrix(entity)[self.user_index(user)]
        else:
            row = self.likes(likes, entity)[0]
        items = [items] if isinstance(items, (str, int, np.integer)) else list(items)
        idx = [int(i) if isinstance(i, (int, np.integer)) else self.item_index(i, entity)
               for i in items]
        table = explain_row(self.model(entity, model, fit.variant, seed), row, np.asarray(idx),
                            self.item_names(entity), n=n)
        table.attrs["played"] = row.indices.copy()  # the items of the row
        return table

    # ---- evaluation -------------------------------------------------------------------------
    def leaderboard(self, entity: str = "artist", seed: int | None = None,
                    valid: bool = False) -> pd.DataFrame:
        """Long table, one row per (run, metric), ranked by the primary metric.

        ``seed=None``: across seeds (``mean, sd, n_seeds``); a seed: that seed's test split
        with bootstrap intervals (``mean, ci_low, ci_high, n_users``), or its validation split
        with ``valid=True``.
        """
        _check_entity(entity)
        if seed is None:
            rel = L.path(L.SEEDS_LEADERBOARD, entity=entity)
        else:
            rel = L.path(L.VALID_LEADERBOARD if valid else L.LEADERBOARD, entity=entity, seed=seed)
        return pd.read_csv(self._file(rel, f"the evaluation of {entity} (enabled models)"))

    def best(self, entity: str = "artist", metric: str | None = None) -> pd.DataFrame:
        """Runs of the across-seeds leaderboard, best first on ``metric`` (default: the metric
        the leaderboard is ranked by): ``rank, model, variant, mean, sd, n_seeds``."""
        board = self.leaderboard(entity)
        if metric is None:
            metric = self.primary_metric(entity)
        rows = board[board["metric"] == metric]
        if rows.empty:
            raise _unknown("metric", metric, board["metric"].unique(),
                           self.path / L.path(L.SEEDS_LEADERBOARD, entity=entity))
        return rows.sort_values("mean", ascending=False, kind="stable").reset_index(drop=True)

    def primary_metric(self, entity: str = "artist") -> str:
        """The metric the leaderboard is ranked by (``evaluate.primary_metric`` of the run),
        read from ``significance.csv``, else from the leaderboard's markdown heading."""
        for path in sorted(self.path.glob(L.glob(L.SIGNIFICANCE, entity=entity))):
            metric = pd.read_csv(path, usecols=["metric"])["metric"]
            if not metric.empty:
                return str(metric.iloc[0])
        md = self._file(L.path(L.SEEDS_LEADERBOARD_MD, entity=entity), f"the evaluation of {entity}")
        m = re.search(r"Ranked by (\S+?)[;,.]?\s", md.read_text())
        if m is None:
            raise ValueError(f"{md}: no 'Ranked by <metric>' line")
        return m.group(1)

    def significance(self, entity: str = "artist", seed: int = 0) -> pd.DataFrame:
        """Paired tests of every pair of models (``a, b, mean_diff, wilcoxon_p_holm, ...``)."""
        return pd.read_csv(self._file(L.path(L.SIGNIFICANCE, entity=entity, seed=seed),
                                      f"the evaluation of {entity}"))

    def selected(self, entity: str = "artist", seed: int = 0) -> pd.DataFrame:
        """Each model's variant chosen on validation and its test score (selected.csv)."""
        return pd.read_csv(self._file(L.path(L.SELECTED, entity=entity, seed=seed),
                                      "split.validation"))

    def search(self, entity: str = "artist", seed: int = 0) -> pd.DataFrame:
        """Every trial of the validation searches (search.csv): ``model, trial, score, best,
        chosen, values, fit_s, rank_s``."""
        _check_entity(entity)
        return pd.read_csv(self._file(L.path(L.SEARCH_SUMMARY, entity=entity, seed=seed),
                                      "search.enabled and a searched family"))

    def chosen(self, entity: str = "artist", model: str = "als", seed: int = 0) -> dict:
        """What ``model``'s validation search chose (chosen.json): ``params`` (every
        hyper-parameter of the ``tuned`` fits), ``searched``, ``score``, ``trials``, ..."""
        from tastemap.search import read_chosen

        _check_entity(entity)
        return read_chosen(self._file(L.path(L.SEARCH_CHOSEN, entity=entity, model=model,
                                             seed=seed), f"a validation search of {model}"))

    def per_user(self, entity: str = "artist", seed: int = 0) -> pd.DataFrame:
        """Per-user metrics of every run on the test split, long format:
        ``entity, seed, model, variant, user_idx, metric, value``."""
        return self._parquet(L.path(L.PER_USER, entity=entity, seed=seed),
                             f"the evaluation of {entity}")

    # ---- topics and maps -------------------------------------------------------------------
    def topics(self, entity: str = "artist", k: int = 8, seed: int = 0) -> TopicRun:
        """The LDA run of ``(entity, k, seed)`` (see :class:`TopicRun`)."""
        _check_entity(entity)
        key = ("topics", entity, k, seed)
        if key not in self._cache:
            base = self.path / L.path(L.TOPICS_DIR, entity=entity, k=k, seed=seed)
            if not base.is_dir():
                done = sorted({f"k{w['k']}" for p in self.path.glob(L.glob(L.TOPICS_METRICS, entity=entity))
                               if (w := L.parse(L.TOPICS_METRICS, p.relative_to(self.path).as_posix()))})
                raise NotRun(f"{base}: not found - topics.k {k} seed {seed} was not run"
                             + (f" (have {', '.join(done)})" if done else " (topics.enabled)"))
            hint = f"topics k={k}"
            w = dict(entity=entity, k=k, seed=seed)

            def need(template):
                return _need(self.path / L.path(template, **w), hint)

            self._cache[key] = TopicRun(
                entity, k, seed, base,
                user_topics=pd.read_parquet(need(L.USER_TOPICS)),
                topic_items=pd.read_parquet(need(L.TOPIC_ITEMS)),
                top_items=pd.read_csv(need(L.TOP_ITEMS)),
                topics=pd.read_csv(need(L.TOPICS_TABLE)),
                metrics=json.loads(need(L.TOPICS_METRICS).read_text()),
            )
        return self._cache[key]

    def coords(self, entity: str = "artist", method: str = "umap", seed: int = 0,
               side: str = "users") -> pd.DataFrame:
        """Points of a 2-D explore map with their clusters: ``idx, name, x, y, cluster`` and one
        column per clustering run (``clusters.parquet``; ``coords.parquet`` if not clustered).
        ``method="svd"`` has no coordinates, only clusters of the SVD representation."""
        _check_entity(entity)
        if method not in METHODS or side not in SIDES:
            raise ValueError(f"method must be one of {METHODS} and side one of {SIDES}; "
                             f"got {method!r}, {side!r}")
        w = dict(entity=entity, method=method, seed=seed, side=side)
        for template in (L.MAP_CLUSTERS, L.MAP_COORDS):
            if (self.path / L.path(template, **w)).exists():
                return self._parquet(L.path(template, **w))
        raise NotRun(f"{self.path / L.path(L.MAP_DIR, **w)}: not found - explore.methods "
                     f"{method!r} / explore.sides {side!r} / seed {seed} was not run")

    def cluster_metrics(self, entity: str = "artist", method: str = "umap", seed: int = 0,
                        side: str = "users") -> pd.DataFrame:
        """Scores of every clustering run of one map (clusters_metrics.csv)."""
        return pd.read_csv(self._file(L.path(L.MAP_CLUSTER_METRICS, entity=entity, method=method,
                                             seed=seed, side=side), "explore"))

    def map_model(self, entity: str = "artist", method: str = "umap", seed: int = 0):
        """The saved users map (``model.npz``, rebuilt as a scikit-learn ``Pipeline`` by
        :func:`tastemap.explore.load_map`) whose ``transform`` places new users: pca and umap
        only (t-SNE cannot place new points)."""
        from tastemap.explore import load_map

        if method == "tsne":
            raise NotRun("t-SNE maps cannot place new users (no transform); use pca or umap")
        path = self._file(L.path(L.MAP_MODEL, entity=entity, method=method, seed=seed, side="users"),
                          f"explore.methods {method!r} with explore.sides [users]")
        return load_map(path)

    def place_users(self, listens: pd.DataFrame | str | Path, entity: str = "artist",
                    method: str = "umap", seed: int = 0) -> pd.DataFrame:
        """New users placed into the saved users map, without refitting.

        ``listens``: a table (or a file for :func:`tastemap.explore.read_listens`) with
        ``user``, ``artist`` (and ``track`` for songs), optional ``plays``. Returns one row per
        new user: ``user, n_items`` (known items), ``n_unknown`` (listening rows naming items the
        map does not know), ``x, y``, and the ``nearest`` map user with their ``cluster``.
        """
        from sklearn.neighbors import NearestNeighbors

        from tastemap.explore import item_index, listens_to_rows, place_users, read_listens

        _check_entity(entity)
        table = read_listens(str(listens)) if isinstance(listens, (str, Path)) else listens
        index, key = item_index(self.items(entity), entity)
        users, rows, _ = listens_to_rows(table, index, key)
        coords = place_users(self.map_model(entity, method, seed), rows)
        out = pd.DataFrame({"user": users, "n_items": np.diff(rows.indptr),
                            "x": coords[:, 0], "y": coords[:, 1]})
        keys = [key] if isinstance(key, str) else list(key)
        item_key = table[keys].astype(str).agg(tuple, axis=1) if len(keys) > 1 else \
            table[keys[0]].astype(str)
        unknown = ~item_key.isin(index.index)
        out["n_unknown"] = (pd.Series(unknown.to_numpy(), index=table["user"].astype(str))
                            .groupby(level=0).sum().reindex(users).fillna(0).astype(int).to_numpy())
        base = self.coords(entity, method, seed, "users")
        nn = NearestNeighbors(n_neighbors=1).fit(base[["x", "y"]].to_numpy())
        _, nearest = nn.kneighbors(coords)
        out["nearest"] = base["name"].to_numpy()[nearest[:, 0]]
        if "cluster" in base.columns:
            out["cluster"] = base["cluster"].to_numpy()[nearest[:, 0]]
        return out

    # ---- overview ---------------------------------------------------------------------------
    def summary(self) -> dict:
        """What was run: matrix sizes, seeds, fitted models, maps, topic runs."""
        runs = self.models()
        def found(template):
            return [w for p in sorted(self.path.glob(L.glob(template)))
                    if (w := L.parse(template, p.relative_to(self.path).as_posix()))]

        maps = sorted({f"{w['entity']}/{w['method']}/{w['side']}" for w in found(L.MAP_COORDS)})
        topics = sorted({f"{w['entity']}/k{w['k']}" for w in found(L.TOPICS_METRICS)})
        seeds = sorted({int(w["seed"]) for w in found(L.TEST) if w["seed"].isdigit()})
        stats = self.stats if (self.path / L.MATRIX_STATS).exists() else {}
        return {
            "dataset": self.dataset,
            "matrices": {k: {"shape": v["shape"], "nnz": v["nnz"], "density": v["density"]}
                         for k, v in stats.items()},
            "seeds": seeds,
            "models": sorted({f"{r.entity}/{r.model}/{r.variant}" for r in runs.itertuples()}),
            "maps": maps,
            "topics": topics,
        }


def load(path: str | Path) -> Results:
    """Open ``results/<dataset>`` of a finished run (see :class:`Results`)."""
    return Results(path)
