"""What every figure of tastemap shares: the Agg backend, names drawn as text, category colours.

The figures themselves: :mod:`tastemap.viz.maps` (scatter maps of points, labelled) and
:mod:`tastemap.viz.charts` (sweeps, training curves, significance matrices, search trials).
Conventions of both: every figure has a title and axis labels; figure size and dpi come from
the caller (config ``plots``); functions return a matplotlib ``Figure`` and never save files
(the scripts call ``fig.savefig``). Names (artists, users) are data: every text made from them
goes through :func:`plain`, so that a ``$`` in a name never starts matplotlib's mathtext.
"""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # no display on workers and in tests

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def plain(text) -> str:
    """``text`` drawn as it is: ``$`` escaped, so matplotlib never reads a name as mathtext
    (``"Ke$ha & A$AP"`` would otherwise set "ha & A" in math italics).

    >>> print(plain("Ke$ha & A$AP"))
    Ke\\$ha & A\\$AP
    """
    return str(text).replace("$", r"\$")


def category_colors(n: int) -> np.ndarray:
    """``n`` distinguishable RGBA colours (tab10 / tab20, a sampled turbo map beyond 20)."""
    if n <= 10:
        return plt.get_cmap("tab10")(np.arange(n))
    if n <= 20:
        return plt.get_cmap("tab20")(np.arange(n))
    return plt.get_cmap("turbo")(np.linspace(0.0, 1.0, n))
