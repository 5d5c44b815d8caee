"""The models stage's outputs of a run: fitted models, their recommendations and similar items,
recommendations for new listeners and explanations (:class:`Fits`)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from tastemap.app.loader.base import (
    FITS,
    Base,
    NotRun,
    _check_entity,
    _need,
    _unknown,
    explains,
    folds_in,
)
from tastemap.core import layout as L
from tastemap.data.matrices import load_matrix
from tastemap.data.names import Match, UnknownName
from tastemap.models.tables import favourite_plays


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
        """A file of this fit: ``template`` one of :mod:`tastemap.core.layout`'s fit templates
        (``layout.MODEL``, ``layout.RECOMMENDATIONS``, ...)."""
        return self.path / Path(L.path(template, fit=self.fit)).name

    @property
    def model_file(self) -> Path:
        """The fitted model's file in this folder (``model.npz``)."""
        return _need(self.file(L.MODEL), f"models.{self.model}")


class Fits(Base):
    """Fitted models and what they give: recommendations, similar items, training curves,
    recommendations for new listeners and explanations (``models/``)."""

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
        from tastemap.pipeline.fit import load_model

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
        :class:`tastemap.app.explain.CannotExplain`. Columns: see
        :func:`tastemap.app.explain.explain_row` (``item_idx, item, score, contrib_rank, played_idx,
        played, plays, contribution, share``); ``attrs["played"]``: the items of the row.
        """
        from tastemap.app.explain import explain_row

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
