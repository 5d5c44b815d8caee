"""The `tastemap` command line: every command on a small hand-made run (exact output) and on the
shared tiny run, including the error paths (exit code 2, one line, no traceback)."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import results
from test_loader import PLAYS, fake_results

from tastemap.app.cli import main
from tastemap.core import layout as L

TASTEMAP = Path(sys.executable).parent / "tastemap"


@pytest.fixture()
def mini(tmp_path) -> Path:
    return fake_results(tmp_path)


def run_cli(capsys, *args) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_recommend_prints_played_and_recommended(mini, capsys):
    code, out, err = run_cli(capsys, "recommend", "--results", mini, "--user", "u2",
                             "--model", "popularity", "-n", "2")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("u2 in ") and "3 artists played, 6 plays in all" in lines[0]
    # most played first; ties by index
    assert lines[2].split() == ["1.", "Björk", "4", "plays"]
    assert lines[3].split() == ["2.", "Aphex", "Twin", "1", "plays"]
    # variant chosen on validation (by plays): u2 did not play Dead Can Dance (7 plays)
    assert "popularity byplays" in out
    assert out.rstrip().splitlines()[-1].split() == ["1.", "Dead", "Can", "Dance", "7"]


def test_recommend_beyond_the_stored_table_uses_the_model(mini, capsys):
    # the table holds 2 per user; 3 asks the saved model (by plays: 8, 5, 4; u3 played the 4th)
    code, out, err = run_cli(capsys, "recommend", "--results", mini, "--user", "u3",
                             "--model", "popularity", "-n", "3")
    assert code == 0, err
    assert "byplays/seed0/full/model.npz" in out
    tail = out.rstrip().splitlines()[-3:]
    assert [line.split()[1:] for line in tail] == [["Aphex", "Twin", "8"], ["Björk", "5"],
                                                   ["Can", "4"]]


def test_similar_is_case_insensitive(mini, capsys):
    code, out, err = run_cli(capsys, "similar", "--results", mini, "--artist", "APHEX twin",
                             "--model", "popularity", "--variant", "byplays", "-n", "2")
    assert code == 0, err
    assert out.splitlines()[0] == "Aphex Twin: 3 listeners, 8 plays"
    assert [line.split()[1] for line in out.rstrip().splitlines()[-2:]] == ["Dead", "Björk"]


@pytest.mark.parametrize("args, message", [
    (["similar", "--artist", "Bjrk"], "unknown artist 'Bjrk'"),
    (["recommend", "--user", "nobody"], "unknown user 'nobody'"),
    (["recommend", "--user", "u0", "--model", "als"], "unknown model 'als'"),
    (["recommend", "--likes", "Bjrk", "Cann", "--model", "popularity"],
     "2 artists not found in "),
    (["recommend", "--likes", "Can", "--model", "als"], "unknown model 'als'"),
    (["explain", "--user", "u0", "--item", "Can", "--model", "popularity"],
     "popularity cannot explain its recommendations; families that can: als, ease, itemknn"),
    (["explain", "--user", "u0", "--item", "Bjrk", "--model", "itemknn"], "did you mean 'Björk'"),
    (["recommend", "--user", "u0", "--model", "popularity", "--variant", "f9"], "known: byplays, default"),
    (["recommend", "--user", "u0", "--entity", "song", "--model", "popularity"], "no full fit"),
    (["place-users", "--listens", "missing.tsv"], "file not found: missing.tsv"),
    (["place-users", "--listens", "__LISTENS__"], "explore/artist/umap/seed0/users/model.npz"),
])
def test_errors_exit_2_with_one_line(mini, capsys, tmp_path, args, message):
    listens = tmp_path / "new.tsv"
    listens.write_text("user\tartist\nnew\tCan\n")
    args = [str(listens) if a == "__LISTENS__" else a for a in args]
    code, out, err = run_cli(capsys, *args[:1], "--results", mini, *args[1:])
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1 and message in err
    if "Bjrk" in args:
        assert "did you mean 'Björk'" in err


def test_recommend_for_a_new_listener(mini, capsys):
    """--likes through every family that folds in (popularity: the leaderboard's best, then
    item-kNN), names matched forgivingly, without refitting."""
    code, out, err = run_cli(capsys, "recommend", "--results", mini, "--likes", "aphex twin",
                             "BJORK", "-n", "2")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].endswith("who likes 2 artists (each counted as 5.6 plays, a heavily played "
                             "artist):")
    assert lines[1] == "  Aphex Twin (for 'aphex twin'); Björk (for 'BJORK')"
    pop = out.index("Recommended by popularity byplays (seed 0, full fit):")
    knn = out.index("Recommended by itemknn default (seed 0, full fit):")
    assert pop < knn
    assert [line.split()[1:] for line in out[pop:knn].strip().splitlines()[1:]] == [
        ["Dead", "Can", "Dance", "7"], ["Can", "4"]]
    assert out[knn:].splitlines()[1].split()[1] == "Can"


def test_likes_names_what_the_runs_likes_curve_says(mini, capsys):
    curve = pd.DataFrame({"model": ["itemknn", "popularity"] * 3, "variant": "default",
                          "pick": ["most played"] * 4 + ["random"] * 2, "n": [1, 1, 3, 3, 1, 1],
                          "n_users": 50, "metric": "ndcg@10",
                          "mean": [0.2, 0.1, 0.4, 0.1, 0.9, 0.9], "ci_low": 0.0, "ci_high": 1.0})
    path = mini / L.path(L.LIKES_CURVE, entity="artist", seed=0)
    path.parent.mkdir(parents=True)
    curve.to_csv(path, index=False)
    code, out, err = run_cli(capsys, "recommend", "--results", mini, "--likes", "aphex twin",
                             "BJORK", "-n", "2")
    assert code == 0, err  # two names: the curve's largest n not above 2 is 1
    assert ("This run's likes curve (ndcg@10 of held-out listeners who name their 1 most played "
            "artists, evaluate/artist/seed0/new_users/): itemknn 0.200, popularity 0.100.") in out
    code, out, _ = run_cli(capsys, "recommend", "--results", mini, "--likes", "aphex twin",
                           "BJORK", "Can", "-n", "2")
    assert "their 3 most played artists" in out and "itemknn 0.400, popularity 0.100" in out


def test_likes_file_and_explain_flag(mini, capsys, tmp_path):
    likes = tmp_path / "likes.txt"
    likes.write_text("# my favourites\nAphex Twin\t2\n\ndead can dance\n")
    code, out, err = run_cli(capsys, "recommend", "--results", mini, "--likes-file", likes,
                             "--model", "itemknn", "--explain", "-n", "2")
    assert code == 0, err
    assert "Aphex Twin; Dead Can Dance (for 'dead can dance')" in out
    assert "unless the file gives a count" in out
    # Can: only Aphex Twin is its neighbour among the liked; Björk likewise
    recs = [line for line in out.splitlines() if line.strip()[:2] in ("1.", "2.")]
    assert [r.split()[1] for r in recs] == ["Can", "Björk"] or [r.split()[1] for r in recs] == [
        "Björk", "Can"]
    assert all("<- Aphex Twin 100%" in r for r in recs)
    likes.write_text("Can\tlots\n")
    code, out, err = run_cli(capsys, "recommend", "--results", mini, "--likes-file", likes)
    assert code == 2 and f"{likes}:1: play count 'lots' is not a number" in err
    code, out, err = run_cli(capsys, "recommend", "--results", mini, "--user", "u0",
                             "--model", "popularity", "--explain")
    assert code == 0 and "(model popularity cannot explain its recommendations" in out


def test_explain_a_recommendation(mini, capsys):
    code, out, err = run_cli(capsys, "explain", "--results", mini, "--user", "u0", "--item",
                             "can", "--model", "itemknn")
    assert code == 0, err
    unit = PLAYS / np.linalg.norm(PLAYS, axis=0)
    cos = unit.T @ unit
    a, b = 5 * cos[0, 2], 1 * cos[1, 2]  # u0 played Aphex Twin 5 times, Björk once
    lines = out.splitlines()
    assert lines[0] == (f"Why itemknn default (seed 0, full fit) scores Can {a + b:.4g} for user "
                        f"u0 (2 artists played):")
    assert lines[2].split() == ["1.", "Aphex", "Twin", "5", "plays;", f"{a:.4g},",
                                f"{100 * a / (a + b):.1f}%"]
    assert lines[3].split()[:4] == ["2.", "Björk", "1", "plays;"]
    code, out, err = run_cli(capsys, "explain", "--results", mini, "--user", "u0", "--item",
                             "Aphex Twin", "--model", "itemknn")
    assert code == 0 and "(Aphex Twin is played already" in out


def test_missing_results_dir_and_usage_errors(tmp_path, capsys):
    code, _, err = run_cli(capsys, "info", "--results", tmp_path / "nope")
    assert code == 2 and "no such results directory" in err
    code, _, err = run_cli(capsys, "recommend", "--results", tmp_path)  # --user missing
    assert code == 2 and "--user" in err
    code, _, err = run_cli(capsys, "similar", "--results", tmp_path, "--artist", "x", "-n", "0")
    assert code == 2 and "-n must be at least 1" in err
    code, _, err = run_cli(capsys, "recommend", "--user", "u0", "--likes", "Can")
    assert code == 2 and "not allowed with argument --user" in err
    code, _, err = run_cli(capsys, "explain", "--user", "u0")  # --item missing
    assert code == 2 and "--item" in err


def test_results_default_is_the_only_run(mini, capsys, monkeypatch):
    monkeypatch.chdir(mini.parent.parent)  # holds results/mini
    code, out, err = run_cli(capsys, "info")
    assert code == 0, err
    assert out.startswith("dataset mini")
    assert "best artist models by ndcg@10" in out and "popularity byplays: 0.5000" in out
    (mini.parent / "other" / "data").mkdir(parents=True)
    (mini.parent / "other" / "data" / "users.parquet").write_bytes(b"")
    code, _, err = run_cli(capsys, "info")
    assert code == 2 and "results/mini, results/other" in err


# ---- on the shared tiny run ------------------------------------------------------------------


@pytest.mark.workflow
def test_recommend_on_tiny_run(tiny_run, capsys):
    res = tiny_run / "results" / "tiny"
    users = pd.read_parquet(res / "data/users.parquet")
    user = str(users["user"].iloc[5])
    code, out, err = run_cli(capsys, "recommend", "--results", res, "--user", user, "-n", "5")
    assert code == 0, err
    recs = pd.read_parquet(results(tiny_run, L.RECOMMENDATIONS, entity="artist", model="als",
                                   variant="f64", seed=0, fit="full"))
    expected = recs[recs["user"] == user].head(5)["item"].tolist()
    shown = out.split("Recommended by als")[1]
    positions = [shown.index(name) for name in expected]
    assert positions == sorted(positions)
    # the most played artist comes first in the played list
    interactions = pd.read_parquet(res / "data/interactions.parquet",
                                   columns=["user_idx", "artist_idx", "plays"])
    artists = pd.read_parquet(res / "data/artists.parquet").set_index("artist_idx")["artist"]
    mine = interactions[interactions["user_idx"] == 5].groupby("artist_idx")["plays"].sum()
    assert out.splitlines()[2].split(". ", 1)[1].startswith(artists[mine.idxmax()])


@pytest.mark.workflow
def test_similar_and_suggestions_on_tiny_run(tiny_run, capsys):
    res = tiny_run / "results" / "tiny"
    name = str(pd.read_parquet(res / "data/artists.parquet")["artist"].iloc[7])
    code, out, err = run_cli(capsys, "similar", "--results", res, "--artist", name.upper())
    assert code == 0, err
    sim = pd.read_parquet(results(tiny_run, L.SIMILAR, entity="artist", model="als",
                                  variant="f64", seed=0, fit="full"))
    assert sim.loc[sim["item"] == name, "similar"].iloc[0] in out.splitlines()[2]
    code, out, err = run_cli(capsys, "similar", "--results", res, "--artist", name[:-2] + "zz")
    assert code == 2 and f"did you mean {name!r}" in err


@pytest.mark.workflow
def test_place_users_on_tiny_run(tiny_run, capsys, tmp_path):
    """A new user who copies an existing user's artists lands on that user in the PCA map."""
    res = tiny_run / "results" / "tiny"
    matrix_users = pd.read_parquet(res / "data/users.parquet")
    inter = pd.read_parquet(res / "data/interactions.parquet", columns=["user_idx", "artist_idx", "plays"])
    artists = pd.read_parquet(res / "data/artists.parquet").set_index("artist_idx")["artist"]
    rows = []
    for new, old in (("copy_of_3", 3), ("copy_of_40", 40)):
        mine = inter[inter["user_idx"] == old].groupby("artist_idx")["plays"].sum()
        rows += [(new, artists[a], int(p)) for a, p in mine.items()]
    rows.append(("copy_of_40", "An Artist Nobody Knows", 3))
    listens = tmp_path / "new.tsv"
    pd.DataFrame(rows, columns=["user", "artist", "plays"]).to_csv(listens, sep="\t", index=False)
    out_file = tmp_path / "placed.csv"
    code, out, err = run_cli(capsys, "place-users", "--results", res, "--listens", listens,
                             "--method", "pca", "--out", out_file)
    assert code == 0, err
    placed = pd.read_csv(out_file).set_index("user")
    coords = pd.read_parquet(results(tiny_run, L.MAP_COORDS, entity="artist", method="pca",
                                     seed=0, side="users")).set_index("idx")
    for new, old in (("copy_of_3", 3), ("copy_of_40", 40)):
        name = matrix_users.set_index("user_idx").loc[old, "user"]
        assert placed.loc[new, "nearest"] == name
        np.testing.assert_allclose(placed.loc[new, ["x", "y"]].to_numpy(float),
                                   coords.loc[old, ["x", "y"]].to_numpy(float), atol=1e-4)
    assert placed.loc["copy_of_40", "n_unknown"] == 1 and placed.loc["copy_of_3", "n_unknown"] == 0
    assert "2 users placed into the pca users map" in out
    # UMAP places them too (no exact position to compare)
    code, out, err = run_cli(capsys, "place-users", "--results", res, "--listens", listens)
    assert code == 0, err
    assert "2 users placed into the umap users map" in out


@pytest.mark.workflow
def test_info_and_entry_point_on_tiny_run(tiny_run):
    res = tiny_run / "results" / "tiny"
    proc = subprocess.run([str(TASTEMAP), "info", "--results", str(res)], capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    board = pd.read_csv(res / "evaluate/artist/leaderboard.csv")
    primary = re.search(r"Ranked by (\S+?);", (res / "evaluate/artist/leaderboard.md").read_text())[1]
    top = board[(board["rank"] == 1) & (board["metric"] == primary)].iloc[0]
    assert f"best artist models by {primary}" in proc.stdout
    assert f"  {top['model']} {top['variant']}: {top['mean']:.4f}" in proc.stdout
    assert "user_artist: 150 users x" in proc.stdout
    proc = subprocess.run([str(TASTEMAP), "recommend", "--results", str(res), "--user", "nobody"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and proc.stdout == ""
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
