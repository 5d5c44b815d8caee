# %% [markdown]
# # Continuing where the workflow stopped
#
# Run the default workflow first (`snakemake --cores 2`), then this file as a script
# (`python docs/notebook_example.py`) or cell by cell in Jupyter / VS Code (`# %%` cells; with
# jupytext, `jupytext --to notebook docs/notebook_example.py`). Pass another results folder as
# the first argument: `python docs/notebook_example.py results/tiny`.

# %%
import sys

import numpy as np
import pandas as pd
import scipy.sparse as sp

import tastemap

path = sys.argv[1] if len(sys.argv) > 1 and not sys.argv[1].startswith("-") else "results/synthetic"
run = tastemap.load(path)
print(run.summary())

# %% [markdown]
# ## Tables and matrices
# Row `i` of a matrix is `user_idx == i` in `run.users`; column `j` is `artist_idx == j` in
# `run.artists`.

# %%
plays = run.matrix("artist")                 # users x artists, float32 play counts
print(plays.shape, plays.nnz, "stored (user, artist) pairs")
print(run.artists.sort_values("n_users", ascending=False).head(5))
train, test = run.split(seed=0, entity="artist")
assert (train + test != plays).nnz == 0      # the split partitions the matrix

# %% [markdown]
# ## Which model is best, and is it really better?

# %%
best = run.best("artist")                    # across seeds, ranked by the primary metric
print(best[["model", "variant", "mean", "sd"]].head())
sig = run.significance("artist", seed=0)
first, second = best["model"].drop_duplicates().iloc[:2]
pair = sig[((sig.a == first) & (sig.b == second)) | ((sig.a == second) & (sig.b == first))]
print(pair[["a", "b", "mean_diff", "wilcoxon_p_holm"]])

# %% [markdown]
# ## A user's recommendations, from the table and from the fitted model

# %%
user = run.users["user"].iloc[0]
print(run.recommendations("artist", "als", user=user)[["rank", "item", "score"]])
als = run.model("artist", "als")             # the full fit: tastemap.models.als.ALS
ids, scores = als.recommend(np.array([run.user_index(user)]), k=5)
print(run.item_names("artist")[ids[0]], scores[0])

# A listener the model never saw: fold-in, no refit (the columns are artist_idx).
names = run.artists.sort_values("n_users", ascending=False)["artist"].head(3).tolist()
row = np.zeros((1, plays.shape[1]), dtype=np.float32)
row[0, [run.item_index(n) for n in names]] = 10
ids, _ = als.recommend_new(sp.csr_matrix(row), k=5)
print("someone who plays", names, "->", list(run.item_names("artist")[ids[0]]))

# %% [markdown]
# ## Similar artists, topics and maps

# %%
artist = run.artists.sort_values("n_users", ascending=False)["artist"].iloc[0]
print(run.similar("artist", "als", item=artist)[["rank", "similar", "score"]])

k = int(pd.read_csv(f"{path}/topics/lda/artist/sweep.csv")["k"].iloc[0])
topics = run.topics("artist", k=k, seed=0)
print(topics.top_items.groupby("topic").head(3))

coords = run.coords("artist", "umap", seed=0, side="users")   # idx, name, x, y, cluster, ...
print(coords.groupby("cluster").size())

# New users into the saved UMAP users map (pca works too; t-SNE cannot place new points):
listens = pd.DataFrame({"user": ["new"] * 3, "artist": names, "plays": [5, 3, 1]})
print(run.place_users(listens, "artist", "umap", seed=0))
