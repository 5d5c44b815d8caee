"""2-D maps of users, artists and songs, and the clusters in them.

Orientation: the input is always a **users x items** matrix (CSR, play counts; rows =
``user_idx``, columns = ``artist_idx`` or ``song_idx``). A map is drawn for one *side*:

- ``"users"``: one point per row (a user described by the items they played);
- ``"items"``: one point per column (an item described by the users who played it), i.e. the
  rows of the transpose.

Everything works on the **binary** matrix (played or not), rows L2-normalised, so that the
geometry is cosine similarity and a heavy listener does not sit far from a light listener of
the same music.

Methods (all take an integer ``seed``):

- ``pca``: :class:`sklearn.decomposition.TruncatedSVD` with 2 components on the sparse matrix
  (never densified; no centring, which is what makes it usable on 100K-wide sparse data).
- ``tsne``: openTSNE (``initialization="pca"``, cosine affinities) on the SVD pre-reduction
  (:func:`tsne`). t-SNE has no ``transform`` here: it **cannot place new points**.
- ``umap``: :class:`umap.UMAP` with the cosine metric on the SVD pre-reduction when the matrix is
  wider than ``reduce_above`` columns, else (and always for ``jaccard``) on the sparse binary
  rows. ``random_state=seed`` makes UMAP reproducible and single-threaded; umap-learn is
  imported through :func:`tastemap.core.numba_cache.import_umap` (its compiled code kept on disk).

The fitted PCA / UMAP maps are :class:`sklearn.pipeline.Pipeline` objects (normalise -> SVD ->
projection, or -> :class:`NeighbourPlacement` for UMAP) whose ``transform`` takes new binary user
rows (:func:`place_users`); :func:`save_map` / :func:`load_map` write and read them as
``model.npz`` (arrays + JSON, no pickle).

Clustering (:func:`cluster_sweep`) runs k-means / agglomerative / spectral over a sweep of k and
HDBSCAN / DBSCAN, scores every run with silhouette, Calinski-Harabasz and Davies-Bouldin (and
ARI / NMI against known labels when given), and picks k and the best run by one internal
criterion (:func:`select_runs`); known labels are never used to choose.
"""
from tastemap.explore.cluster import (
    ALGORITHMS,
    CRITERIA,
    K_ALGORITHMS,
    QUADRATIC,
    chosen_runs,
    cluster_sweep,
    cluster_table,
    external_metrics,
    internal_metrics,
    make_clusterer,
    select_runs,
    truth_labels,
    ward_labels,
)
from tastemap.explore.maps import (
    METHODS,
    PLACEABLE,
    UMAP_EPOCHS,
    UMAP_EXACT_BELOW,
    UMAP_LARGE,
    UMAP_LARGE_EPOCHS,
    NeighbourPlacement,
    Side,
    binarize,
    fit_svd,
    fit_umap,
    map_title,
    orient,
    point_table,
    project,
    tsne,
    umap_epochs,
)
from tastemap.explore.place import (
    MAP_STEPS,
    item_index,
    listens_to_rows,
    load_map,
    place_users,
    save_map,
)

__all__ = [
    "ALGORITHMS", "CRITERIA", "K_ALGORITHMS", "MAP_STEPS", "METHODS", "PLACEABLE", "QUADRATIC",
    "UMAP_EPOCHS", "UMAP_EXACT_BELOW", "UMAP_LARGE", "UMAP_LARGE_EPOCHS", "NeighbourPlacement",
    "Side", "binarize", "chosen_runs", "cluster_sweep", "cluster_table", "external_metrics",
    "fit_svd", "fit_umap", "internal_metrics", "item_index", "listens_to_rows", "load_map",
    "make_clusterer", "map_title", "orient", "place_users", "point_table", "project",
    "save_map", "select_runs", "truth_labels", "tsne", "umap_epochs", "ward_labels",
]
