"""Label placement on the scatter maps: adjustText, with its three slowest steps made fast.

adjustText 1.4.0 (the pinned version) spends most of an ``adjust_text`` call on a map of 100
labels in two steps whose results are simple to state, and matplotlib most of the drawing of its
connector lines in a third:

- **overlapping boxes**: it finds the label pairs that overlap in x and the pairs that overlap in
  y, then keeps the y pairs that are also x pairs by comparing every y pair with every x pair
  (``(yoverlaps[:, None] == xoverlaps).all(-1).any(-1)``: time and memory |y pairs| x |x pairs|,
  thousands by thousands on a dense map, in every iteration);
- **crossing connectors**: it tests every pair of label-to-point lines for a crossing in a
  Python double loop (4,950 calls of ``intersect`` per iteration for 100 labels);
- **clipping connectors at their label**: each line starts where it leaves its label's box,
  found by bisection, and every step of it asks the ``Text`` whether it contains a point, which
  lays the text out again (about 20 layouts per line, each time the figure is drawn).

:func:`adjust_labels` runs ``adjust_text`` with those two steps replaced by the same
computations done in bulk - the pair lookup by one ``np.isin`` on integer keys, the crossing test
as one array expression of the same arithmetic followed by the same swaps in the same order - and
gives each connector a :class:`TextBox` to be clipped by: the same box test on the label's
window extent, laid out once per layout of the figure. The labels land exactly where adjustText
1.4.0 puts them and the lines are the same paths (``tests/test_labels.py`` compares the replaced
functions with the library's on random boxes, the label positions of whole maps and the drawn
connector paths). On 1,000-3,000-point maps with 100 labels, ``adjust_text`` itself: 3.4-4.5 ->
0.4-0.5 CPU-s per map (``benchmarks/map_labels.py``, docs/benchmarks.md "Maps").

``adjust_text`` has no parameter for its inner steps, so the swap goes through
:func:`tastemap.core.compat.adjusttext_steps_replaced`, which checks adjustText's version and names
first: with another adjustText than the tested one (``compat.ADJUSTTEXT_TESTED``, the version
pyproject.toml pins) the library runs as it is, connectors clipped by the ``Text`` itself.
"""
from __future__ import annotations

import adjustText
import numpy as np
from matplotlib.patches import FancyArrowPatch
from matplotlib.text import Text

from tastemap.core import compat

#: connector lines from a moved label to its point, as on every map of tastemap
ARROW = dict(arrowstyle="-", color="0.4", lw=0.5)


def rows_in(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Mask of the rows of the (k, 2) integer array ``a`` that are rows of ``b`` (m, 2).

    The same mask as ``(a[:, None] == b).all(-1).any(-1)``, from one sorted lookup of
    ``a0 * M + a1`` keys instead of a (k, m, 2) comparison.

    >>> rows_in(np.array([[0, 1], [1, 0], [2, 3]]), np.array([[2, 3], [0, 1]])).tolist()
    [True, False, True]
    """
    if len(a) == 0 or len(b) == 0:
        return np.zeros(len(a), dtype=bool)
    m = int(max(a.max(), b.max())) + 1
    a = a.astype(np.int64)
    b = b.astype(np.int64)
    return np.isin(a[:, 0] * m + a[:, 1], b[:, 0] * m + b[:, 1])


def _overlap_pairs(coords: np.ndarray, other: np.ndarray, same: bool) -> np.ndarray:
    """(i, j) pairs of boxes ``coords[i]`` and ``other[j]`` (rows ``x0, x1, y0, y1``) that
    overlap in x and in y, in adjustText's order (that of its y-overlap pairs)."""
    overlap_intervals = compat.adjusttext_overlap_intervals()
    xoverlaps = overlap_intervals(coords[:, 0], coords[:, 1], other[:, 0], other[:, 1])
    yoverlaps = overlap_intervals(coords[:, 2], coords[:, 3], other[:, 2], other[:, 3])
    if same:
        xoverlaps = xoverlaps[xoverlaps[:, 0] != xoverlaps[:, 1]]
        yoverlaps = yoverlaps[yoverlaps[:, 0] != yoverlaps[:, 1]]
    return yoverlaps[rows_in(yoverlaps, xoverlaps)]


def _summed_shifts(label: np.ndarray, diff_x: np.ndarray, diff_y: np.ndarray, n: int):
    """Per label of ``n``: the sum over its overlapping pairs of the shorter of the two ways
    out in x (columns of ``diff_x``, one row per pair) and in y, as adjustText sums them."""
    def shorter(d):
        return np.where(np.abs(d[:, 0]) < np.abs(d[:, 1]), d[:, 0], d[:, 1])

    return (np.bincount(label, shorter(diff_x), minlength=n),
            np.bincount(label, shorter(diff_y), minlength=n))


def get_shifts_texts(coords: np.ndarray):
    """adjustText 1.4.0's ``get_shifts_texts`` (how far each label is pushed by the labels it
    overlaps), with the overlapping pairs from :func:`_overlap_pairs`."""
    n = coords.shape[0]
    overlaps = _overlap_pairs(coords, coords, same=True)
    if len(overlaps) == 0:
        return np.zeros(n), np.zeros(n)
    diff = coords[overlaps[:, 1]] - coords[overlaps[:, 0]]
    return _summed_shifts(overlaps[:, 0], diff[:, :2], diff[:, 2:], n)


def get_shifts_extra(coords: np.ndarray, extra_coords: np.ndarray):
    """adjustText 1.4.0's ``get_shifts_extra`` (how far each label is pushed by the points and
    other objects it overlaps), with the overlapping pairs from :func:`_overlap_pairs`."""
    n = coords.shape[0]
    overlaps = _overlap_pairs(coords, extra_coords, same=False)
    if len(overlaps) == 0:
        return np.zeros(n), np.zeros(n)
    diff_x = coords[overlaps[:, 0], :2] - extra_coords[overlaps[:, 1], -3::-1]
    diff_y = coords[overlaps[:, 0], 2:] - extra_coords[overlaps[:, 1], -1:-3:-1]
    return _summed_shifts(overlaps[:, 0], diff_x, diff_y, n)


def crossing_pairs(segments: np.ndarray) -> np.ndarray:
    """(i, j) with i > j of the segments (rows ``x1, y1, x2, y2``) that cross, in the order of
    adjustText's loop (i ascending, then j), by its ``intersect`` arithmetic applied to all pairs
    at once (parallel segments never cross; a NaN parameter counts as in range, as there).

    >>> crossing_pairs(np.array([[0., 0, 1, 1], [0, 1, 1, 0], [2, 2, 3, 3]])).tolist()
    [[1, 0]]
    """
    i, j = np.tril_indices(len(segments), -1)
    x1, y1, x2, y2 = segments[i].T
    x3, y3, x4, y4 = segments[j].T
    denom = (y4 - y3) * (x2 - x1) - (x4 - x3) * (y2 - y1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ua = ((x4 - x3) * (y1 - y3) - (y4 - y3) * (x1 - x3)) / denom
        ub = ((x2 - x1) * (y1 - y3) - (y2 - y1) * (x1 - x3)) / denom
    hit = (denom != 0) & ~((ua < 0) | (ua > 1)) & ~((ub < 0) | (ub > 1))
    return np.stack([i[hit], j[hit]], axis=1)


def remove_crossings(coords: np.ndarray, target_coords: np.ndarray, step):
    """adjustText 1.4.0's ``remove_crossings``: swap the boxes of two labels whose connectors
    (box centre to point, as placed at the start of the step) cross, pair by pair in its order."""
    connections = np.hstack([
        np.mean(coords[:, :2], axis=1)[:, np.newaxis],
        np.mean(coords[:, 2:], axis=1)[:, np.newaxis],
        target_coords,
    ])
    for i, j in crossing_pairs(connections):
        coords[i], coords[j] = coords[j].copy(), coords[i].copy()
    return coords


class TextBox:
    """What a connector line is clipped by: the window extent of its label ``text``, as
    ``Text.contains`` tests it (a point inside or on the box), with the extent computed once
    per placement of the label and layout of the figure instead of at every test. matplotlib
    asks the clipping patch ``contains(event)`` with ``event.x``, ``event.y`` in display
    coordinates and reads the first element of the result."""

    def __init__(self, text):
        self.text = text
        self._key = None
        self._box = None

    def contains(self, event) -> tuple[bool, dict]:
        t = self.text
        key = (t.get_transform().get_matrix().tobytes(), tuple(t.get_position()),
               t.figure.dpi)
        if key != self._key:
            self._box, self._key = Text.get_window_extent(t), key
        b = self._box
        return bool(b.x0 <= event.x <= b.x1 and b.y0 <= event.y <= b.y1), {}


def patched() -> bool:
    """Whether :func:`adjust_labels` replaces adjustText's inner steps (the installed adjustText
    is a tested one with every name the swap needs: :func:`tastemap.core.compat.adjusttext_internals`)."""
    return compat.adjusttext_internals() is not None


def adjust_labels(texts, x, y, ax, iterations: int) -> None:
    """Move ``texts`` (matplotlib ``Text`` of the points ``x``, ``y``) apart with adjustText in
    ``iterations`` iterations, lines joining moved labels to their points.

    adjustText looks its inner functions up in its module when it runs, so they are swapped in
    for the call and restored after it (:func:`tastemap.core.compat.adjusttext_steps_replaced`); two
    threads placing labels at once would see each other's swap (tastemap draws its maps in one
    thread per process)."""
    steps = {"get_shifts_texts": get_shifts_texts, "get_shifts_extra": get_shifts_extra,
             "remove_crossings": remove_crossings}
    with compat.adjusttext_steps_replaced(steps) as fast:
        _, arrows = adjustText.adjust_text(texts, x=x, y=y, ax=ax, iter_lim=iterations,
                                           arrowprops=ARROW)
    if fast:
        for arrow in arrows:
            if isinstance(arrow, FancyArrowPatch) and isinstance(arrow.patchA, Text):
                arrow.set_patchA(TextBox(arrow.patchA))
