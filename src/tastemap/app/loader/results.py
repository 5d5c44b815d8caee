""":class:`Results`, one finished run's outputs, composed of one mixin per pipeline stage, and
:func:`load`."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from tastemap.app.loader.base import NotRun
from tastemap.app.loader.data import DataTables
from tastemap.app.loader.evaluation import Evaluation
from tastemap.app.loader.explore import Explore
from tastemap.app.loader.fits import Fits
from tastemap.app.loader.topics import Topics
from tastemap.core import layout as L


class Results(DataTables, Fits, Evaluation, Topics, Explore):
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
