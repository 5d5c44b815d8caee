"""The explore stage's outputs of a run: 2-D maps, their clusters and placing new users into them
(:class:`Explore`)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tastemap.app.loader.base import METHODS, SIDES, Base, NotRun, _check_entity
from tastemap.core import layout as L


class Explore(Base):
    """Maps of users and items (``explore/``) and new users placed into them."""

    # ---- maps -------------------------------------------------------------------------------
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

        ``listens``: a table (or a file for :func:`tastemap.data.formats.read_new_listens`) with
        ``user``, ``artist`` (and ``track`` for songs), optional ``plays``. Returns one row per
        new user: ``user, n_items`` (known items), ``n_unknown`` (listening rows naming items the
        map does not know), ``x, y``, and the ``nearest`` map user with their ``cluster``.
        """
        from sklearn.neighbors import NearestNeighbors

        from tastemap.data.formats import read_new_listens
        from tastemap.explore import item_index, listens_to_rows, place_users

        _check_entity(entity)
        table = (read_new_listens(listens).to_pandas() if isinstance(listens, (str, Path))
                 else listens)
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
