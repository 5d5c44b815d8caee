"""tastemap.viz.labels: adjustText with fast inner steps places every label where adjustText does."""
from __future__ import annotations

import adjustText
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.patches import FancyArrowPatch  # noqa: E402

from tastemap.core import compat  # noqa: E402
from tastemap.viz import labels  # noqa: E402


def random_boxes(rng, n, spread=10.0, width=3.0, height=0.6):
    """``n`` label-like boxes (rows x0, x1, y0, y1) of up to ``width`` x ``height``, many
    overlapping."""
    x0 = rng.uniform(0, spread, n)
    y0 = rng.uniform(0, spread, n)
    return np.column_stack([x0, x0 + rng.uniform(width / 6, width, n), y0,
                            y0 + rng.uniform(height / 3, height, n)])


def test_the_pinned_adjusttext_is_the_one_patched():
    assert labels.patched(), (adjustText.__version__, compat.ADJUSTTEXT_TESTED)


@pytest.mark.parametrize("seed", range(5))
def test_rows_in_is_the_pairwise_comparison(seed):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 30, size=(rng.integers(0, 400), 2))
    b = rng.integers(0, 30, size=(rng.integers(0, 400), 2))
    expected = (a[:, None] == b).all(-1).any(-1)
    assert np.array_equal(labels.rows_in(a, b), expected)
    assert labels.rows_in(a, b).any() == bool(expected.any())


@pytest.mark.parametrize("seed", range(5))
def test_shifts_equal_adjusttexts_own(seed):
    rng = np.random.default_rng(seed)
    boxes = random_boxes(rng, 120)
    points = random_boxes(rng, 300, width=0.05, height=0.05)
    for ours, theirs in zip(labels.get_shifts_texts(boxes), adjustText.get_shifts_texts(boxes)):
        assert np.array_equal(ours, theirs)
        assert ours.any()  # the boxes do overlap
    for ours, theirs in zip(labels.get_shifts_extra(boxes, points),
                            adjustText.get_shifts_extra(boxes, points)):
        assert np.array_equal(ours, theirs)
        assert ours.any()
    # far apart: nothing overlaps, nothing moves
    apart = np.column_stack([np.arange(5) * 10.0, np.arange(5) * 10.0 + 1, np.zeros(5), np.ones(5)])
    assert not any(s.any() for s in labels.get_shifts_texts(apart))


@pytest.mark.parametrize("seed", range(5))
def test_remove_crossings_swaps_as_adjusttext_does(seed):
    rng = np.random.default_rng(seed)
    boxes = random_boxes(rng, 60)
    targets = rng.uniform(0, 10, size=(60, 2))
    targets[:5] = targets[5]  # shared end points and parallel connectors
    ours = labels.remove_crossings(boxes.copy(), targets, 0)
    theirs = adjustText.remove_crossings(boxes.copy(), targets, 0)
    assert np.array_equal(ours, theirs)
    assert not np.array_equal(ours, boxes)  # the case swaps something


def test_crossing_pairs_finds_the_x_and_skips_parallel_lines():
    segments = np.array([[0.0, 0, 2, 2], [0, 2, 2, 0], [3, 3.5, 4, 4.5], [5, 5, 6, 6]])
    # 0 and 1 cross; 2 and 3 are parallel to 0 (and to each other), away from 1
    assert labels.crossing_pairs(segments).tolist() == [[1, 0]]


def draw(seed, place):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=3, size=(4, 2))
    xy = np.concatenate([rng.normal(loc=c, scale=0.5, size=(75, 2)) for c in centres])
    pick = rng.choice(len(xy), 40, replace=False)
    fig, ax = plt.subplots(figsize=(6, 6), dpi=100)
    ax.scatter(xy[:, 0], xy[:, 1], s=4)
    texts = [ax.text(xy[i, 0], xy[i, 1], f"Artist name {i}", fontsize=8) for i in pick]
    place(texts, xy[pick, 0], xy[pick, 1], ax)
    fig.canvas.draw()
    positions = np.array([t.get_position() for t in texts])
    arrows = [p for p in ax.patches if isinstance(p, FancyArrowPatch)]
    paths = [p._get_path_in_displaycoord()[0][0].vertices for p in arrows]  # as drawn
    clipped_by = {type(p.patchA).__name__ for p in arrows}
    plt.close(fig)
    return positions, paths, clipped_by


@pytest.mark.parametrize("seed", [0, 1])
def test_adjust_labels_places_every_label_where_adjusttext_does(seed):
    originals = (adjustText.get_shifts_texts, adjustText.get_shifts_extra,
                 adjustText.remove_crossings)
    ours, our_lines, our_clip = draw(
        seed, lambda t, x, y, ax: labels.adjust_labels(t, x, y, ax, 30))
    theirs, their_lines, their_clip = draw(seed, lambda t, x, y, ax: adjustText.adjust_text(
        t, x=x, y=y, ax=ax, iter_lim=30, arrowprops=labels.ARROW))
    assert np.array_equal(ours, theirs)
    unmoved, _, _ = draw(seed, lambda *_: None)
    assert not np.array_equal(ours, unmoved)  # the labels were moved
    # the same connector lines, clipped at the label boxes by TextBox instead of the Text
    assert len(our_lines) == len(their_lines) > 0
    assert all(np.array_equal(a, b) for a, b in zip(our_lines, their_lines))
    assert (our_clip, their_clip) == ({"TextBox"}, {"Text"})
    # the library is left as it was
    assert (adjustText.get_shifts_texts, adjustText.get_shifts_extra,
            adjustText.remove_crossings) == originals
