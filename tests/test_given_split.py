"""A split given as files (``split.scheme: given``): both file shapes read through the ingest
contract, the consistency checks, and the real snakemake from the files to the leaderboard."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import scipy.sparse as sp
import yaml
from conftest import run_snakemake

from tastemap.config import check
from tastemap.core import layout as L
from tastemap.data.formats import FormatError
from tastemap.data.formats.given import read_given, read_user_lists
from tastemap.data.matrices import load_matrix
from tastemap.data.split import given


def _lists(path, rows):
    path.write_text("".join(rows))
    return path


def test_user_lists_reject_bad_lines_with_their_numbers(tmp_path):
    f = _lists(tmp_path / "train.txt", ["0 4 6 7\n", "\n", "1\n", "  2  9 \t 3 \n", "3 \xff\n"])
    f.write_bytes(f.read_bytes().replace("\xff".encode(), b"\xff"))  # a byte that is not UTF-8
    listens, rejected, stats = read_user_lists(f)
    assert list(zip(listens.column("user").to_pylist(), listens.column("artist").to_pylist(),
                    strict=True)) == [("0", "4"), ("0", "6"), ("0", "7"), ("2", "9"), ("2", "3")]
    assert rejected.select(["line", "reason"]).to_pylist() == [
        {"line": 2, "reason": "blank line"}, {"line": 3, "reason": "a user without items"},
        {"line": 5, "reason": "invalid UTF-8"}]
    assert (stats["lines"], stats["kept"], stats["rejected"], stats["pairs"]) == (5, 2, 3, 5)


def test_user_lists_of_another_format_stop_naming_the_file(tmp_path):
    f = _lists(tmp_path / "train.txt", [f"{u}\n" for u in range(20)] + ["1 2\n"])
    with pytest.raises(FormatError, match=r"train.txt: not a user-lists file"):
        read_user_lists(f)


def test_both_shapes_read_the_same_split(tmp_path):
    lists = {"train": ["u1 a b c\n", "u2 b d\n"], "test": ["u1 d\n", "u2 a\n", "u3 c\n"]}
    rows = {"train": ["user\titem\trating\n", "u1\ta\t5\n", "u1\tb\t4\n", "u1\tc\t1\n",
                      "u2\tb\tfive\n", "u2\tb\t3\n", "u2\td\t2\n"],
            "test": ["user\titem\trating\n", "u1\td\t2\n", "u2\ta\t1\n", "u3\tc\t4\n"]}
    generic = {"sep": "\t", "header": True,
               "columns": {"user": "user", "artist": "item", "plays": "rating"}}
    out = {}
    for shape, files in (("user-lists", lists), ("rows", rows)):
        paths = {part: _lists(tmp_path / f"{shape}-{part}.txt", text)
                 for part, text in files.items()}
        pairs, rejected, stats = read_given(paths, shape, generic)
        out[shape] = pairs.to_pandas()
        assert stats["lines"] == stats["kept"] + stats["rejected"]
        assert stats["unknown"]["test_users_not_in_train"] == {"count": 1, "rows": 1,
                                                              "first": ["u3"]}
        assert stats["unknown"]["test_items_not_in_train"]["count"] == 0
    pd.testing.assert_frame_equal(out["rows"], out["user-lists"])
    assert rejected.to_pylist() == [{"line": 5, "raw": "u2\tb\tfive",
                                     "reason": "train file: plays not an integer"}]


def test_a_pair_in_train_and_test_stops_the_run(tmp_path):
    train = _lists(tmp_path / "train.txt", ["1 2 3\n", "2 3\n"])
    test = _lists(tmp_path / "test.txt", ["1 3\n", "2 4\n"])
    with pytest.raises(FormatError, match=r"1 \(user, item\) pairs are in more than one file.*"
                                          r"\(1, 3\) in test and train"):
        read_given({"train": train, "test": test}, "user-lists")


def test_rejected_lines_go_to_the_sink_as_they_are_read(tmp_path):
    lines = ["0 1 2\n"] * 3 + ["\n"] * 5000 + ["1 2\n"]
    train = _lists(tmp_path / "train.txt", lines)
    test = _lists(tmp_path / "test.txt", ["0 3\n"])
    pieces = []
    pairs, rejected, stats = read_given({"train": train, "test": test}, "user-lists",
                                        block_bytes=1024, rejected_sink=pieces.append)
    assert rejected is None and len(pieces) > 1  # block by block, not one table at the end
    assert sum(p.num_rows for p in pieces) == stats["rejected"] == 5000
    assert pairs.num_rows == 3 * 2 + 1 + 1


def test_given_partitions_the_matrix_and_refuses_lost_pairs():
    full = sp.csr_matrix(np.array([[1, 1, 0], [0, 1, 1]], dtype=np.float32))
    parts = given(full, np.array([0, 0, 1, 1]), np.array([0, 1, 1, 2]),
                  np.array(["train", "validation", "train", "test"]))
    assert sorted(parts) == ["test", "train", "validation"]
    assert (parts["train"] + parts["validation"] + parts["test"] != full).nnz == 0
    with pytest.raises(RuntimeError, match="1 pairs of the files are not in the matrix"):
        given(full, np.array([0, 0, 1, 1, 1]), np.array([0, 1, 1, 2, 0]),
              np.array(["train", "train", "train", "test", "test"]))


def test_config_names_what_a_given_split_needs(tmp_path):
    errors = check({"split": {"scheme": "given", "given": {"test": str(tmp_path / "nope")}},
                    "entities": ["artist", "song"], "prepare": {"min_user_items": 3}})
    joined = "\n".join(errors)
    for expected in ("split.given.train: required with split.scheme: given",
                     "split.given.test: file not found", "input.format: must be generic",
                     "entities: a given split holds (user, item) pairs",
                     "prepare.min_user_items: must be 1"):
        assert expected in joined, joined


def _taste_lists(rng, n_users=60, n_items=40):
    """Per user: items of one of two taste groups, most of them in train, a few in test."""
    train, test, pairs = [], [], {}
    for u in range(n_users):
        group = np.arange(u % 2, n_items, 2)
        items = rng.choice(group, size=10, replace=False)
        pairs[u] = items
        train.append(f"{u} " + " ".join(map(str, items[:8])) + "\n")
        test.append(f"{u} " + " ".join(map(str, items[8:])) + "\n")
    test.append("999 0 1\n")  # a user that train does not have
    train.insert(3, "\n")     # a bad line
    return train, test, pairs


@pytest.mark.workflow
def test_workflow_runs_a_given_split_to_the_leaderboard(tmp_path):
    train, test, pairs = _taste_lists(np.random.default_rng(0))
    _lists(tmp_path / "train.txt", train)
    _lists(tmp_path / "test.txt", test)
    (tmp_path / "paper.csv").write_text("model,label,recall@10,map@10\n"
                                        "itemknn,ItemKNN <b>cosine</b>,0.5,0.25\n"
                                        "popularity,TopPop,0.1,0.05\n")
    cfg = tmp_path / "given.yaml"
    cfg.write_text(yaml.safe_dump({
        "dataset": "given", "seeds": [0], "entities": ["artist"],
        "input": {"format": "generic"},
        "split": {"scheme": "given", "given": {"train": "train.txt", "test": "test.txt",
                                                "shape": "user-lists"},
                  "test_fraction": 0.2, "min_user_items": 4},
        "explore": {"enabled": False}, "topics": {"enabled": False},
        "search": {"enabled": False},
        "evaluate": {"ks": [5, 10],  # 40 items: lists of sparse scorers stay short
                     "published": {"table": "paper.csv", "source": "a paper | table 1"}},
        "models": {**{name: {"enabled": False}
                      for name in ("userknn", "p3alpha", "slim", "puresvd", "ease", "als", "bpr",
                                   "mf", "item2vec", "sgns", "twotower", "lda")},
                   "itemknn": {"neighbours": 20}, "rp3beta": {"neighbours": 20}},
    }))
    board_path = tmp_path / "results" / "given" / L.path(L.LEADERBOARD, entity="artist", seed=0)
    published = tmp_path / "results" / "given" / L.path(L.PUBLISHED_MD, entity="artist")
    run_snakemake(tmp_path, str(board_path.relative_to(tmp_path)),
                  str(published.relative_to(tmp_path)), "--configfile", str(cfg), configfile=None)
    out = tmp_path / "results" / "given"
    stats = json.loads((out / L.INGEST_STATS).read_text())
    assert stats["rejected_by_reason"] == {"train file: blank line": 1}
    assert stats["unknown"]["test_users_not_in_train"]["first"] == ["999"]
    users = pd.read_parquet(out / L.USERS).set_index("user")["user_idx"]
    items = pd.read_parquet(out / L.ARTISTS).set_index("artist")["artist_idx"]
    test_m = load_matrix(out / L.path(L.TEST, entity="artist", seed=0))
    for u in (0, 1, 59):  # the test matrix holds exactly the test file's items
        got = sorted(items.index[np.isin(items.to_numpy(), test_m[users[str(u)]].indices)])
        assert got == sorted(map(str, pairs[u][8:]))
    assert test_m[users["999"]].nnz == 2  # kept, not dropped
    assert pq.read_table(out / L.GIVEN_SPLIT).num_rows == 60 * 10 + 2
    board = pd.read_csv(board_path)
    ndcg = board[board["metric"] == "ndcg@10"].set_index("model")["mean"]
    assert set(ndcg.index) == {"popularity", "itemknn", "rp3beta"}
    # two taste groups: models that use the history beat popularity by far
    assert ndcg["itemknn"] > 2 * ndcg["popularity"]
    # the published table beside the run: the configured ("default") variant and its difference
    side = pd.read_csv(published.with_suffix(".csv")).set_index(["model", "metric"])
    seeds = pd.read_csv(out / L.path(L.SEEDS_LEADERBOARD, entity="artist"))
    ours = seeds.set_index(["model", "metric"])["mean"]
    for key in (("itemknn", "recall@10"), ("popularity", "map@10")):
        assert side.loc[key, "configured"] == pytest.approx(ours[key])
        assert side.loc[key, "difference"] == pytest.approx(ours[key] - side.loc[key, "published"])
    assert side["tuned"].isna().all()  # nothing searched here
    text = published.read_text()
    assert "ItemKNN &lt;b&gt;cosine&lt;/b&gt;" in text and "<b>" not in text  # names are text
    assert "a paper \\| table 1" in text


def test_a_published_table_with_a_bad_value_names_its_line(tmp_path):
    from tastemap.evaluate.published import read_published

    f = tmp_path / "paper.csv"
    f.write_text("model,label,recall@20\nease,EASE,0.1\nslim,SLIM,n/a\n")
    with pytest.raises(ValueError, match=r"paper.csv: line 3: recall@20 = 'n/a' is not a number"):
        read_published(f)
    f.write_text("model,label,recall@20\nease,EASE,0.1\nease,EASE again,0.2\n")
    with pytest.raises(ValueError, match=r"line 3: model 'ease' is listed twice"):
        read_published(f)
