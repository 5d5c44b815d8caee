"""Open a finished run's ``results/<dataset>/`` folder in a notebook: ``tastemap.load(path)``.

Every table, matrix, fitted model and metric the workflow wrote is one attribute or method
away, read on first use and cached. The loader only reads; it never needs Snakemake or the
config: the file names come from :mod:`tastemap.core.layout` (the results guide,
``docs/results.md``, describes every file).

>>> run = load("results/synthetic")                      # doctest: +SKIP
>>> run.matrix("artist").shape                            # users x artists   # doctest: +SKIP
>>> run.recommendations("artist", "als", user="user_000001")   # doctest: +SKIP

Anything the run did not make raises :class:`NotRun` (a ``FileNotFoundError``) naming the
missing path and the config key that turns it on; an unknown user, artist, song or model
raises :class:`UnknownName` (a ``KeyError``) with the closest names.

The package is one module per pipeline stage, each a mixin of :class:`Results`: ``data``
(tables, names, matrices, splits), ``fits`` (models, recommendations, similar items, new
listeners, explanations), ``evaluation`` (leaderboards, tests, searches), ``topics`` (LDA runs)
and ``explore`` (maps, placing new users); ``base`` holds what they share and ``results`` puts
:class:`Results` together.
"""
from __future__ import annotations

from tastemap.app.loader.base import (  # noqa: F401 - the module's names before it became a package
    ENTITIES,
    FITS,
    METHODS,
    SIDES,
    NotRun,
    explains,
    family,
    folds_in,
)
from tastemap.app.loader.fits import Run
from tastemap.app.loader.results import Results, load
from tastemap.app.loader.topics import TopicRun
from tastemap.data.names import AmbiguousName, Match, UnknownName
from tastemap.models.tables import favourite_plays  # noqa: F401 - part of the loader's API

__all__ = ["AmbiguousName", "Match", "NotRun", "Results", "Run", "TopicRun", "UnknownName",
           "family", "load"]
