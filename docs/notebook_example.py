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

# %% [markdown]
# ## A new listener who likes a few artists
# Fold-in: every fitted family that can scores someone it never saw, without refitting. Names
# are matched forgivingly (case, accents, punctuation); an unknown name raises with "did you
# mean" suggestions, two artists with the same forgiving spelling raise instead of guessing.

# %%
names = run.artists.sort_values("n_users", ascending=False)["artist"].head(3).tolist()
likes = [n.upper() for n in names]           # typed carelessly: still found
new = run.recommend_new(likes, "artist", n=5)  # every family that folds in, best first
print([f"{m.query!r} -> {m.name} ({m.how})" for m in new.attrs["matches"]])
print(new.pivot(index="rank", columns="model", values="item"))
print(run.recommend_new({names[0]: 40, names[1]: 5}, "artist", model="als", n=5))  # plays given

# The same by hand, on the model object (columns of the row are artist_idx):
row, _, _ = run.likes(names, "artist")       # 1 x n_artists, each name a heavily played artist
ids, _ = als.recommend_new(row, k=5)
print("someone who plays", names, "->", list(run.item_names("artist")[ids[0]]))

# %% [markdown]
# ## Why was it recommended?
# The played items that contributed most (ALS: implicit's `explain`; item-kNN: neighbour
# weights; EASE: the weights of B). Other families raise `CannotExplain`.

# %%
top = run.recommendations("artist", "als", user=user)["item"].head(3).tolist()
why = run.explain(top, user=user, entity="artist", model="als", n=3)
print(why[["item", "score", "contrib_rank", "played", "plays", "share"]])
print(run.explain(new["item"].iloc[0], likes=names, model="itemknn", n=3)[["played", "share"]])

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
# the same map to explore by hand (hover, zoom, colour by clustering, topic or genre):
print(f"open {path}/explore/artist/umap/seed0/users/map.html in a browser")

# New users into the saved UMAP users map (pca works too; t-SNE cannot place new points):
listens = pd.DataFrame({"user": ["new"] * 3, "artist": names, "plays": [5, 3, 1]})
print(run.place_users(listens, "artist", "umap", seed=0))
