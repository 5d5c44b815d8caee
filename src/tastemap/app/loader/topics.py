"""The topics stage's outputs of a run: the LDA runs (:class:`TopicRun`, :class:`Topics`)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from tastemap.app.loader.base import Base, NotRun, _check_entity, _need
from tastemap.core import layout as L


@dataclass
class TopicRun:
    """The LDA outputs of one (entity, k, seed): the folder ``layout.TOPICS_DIR``.

    ``user_topics``: one row per user, ``user_idx, user, dominant_topic, topic_0 .. topic_{k-1}``
    (mixtures sum to 1); ``topic_items``: ``topic, <entity>_idx, <entity>, weight`` =
    P(item | topic) for every item; ``top_items``: the ``topics.top_n`` most probable items per
    topic with ``rank``; ``topics``: one row per topic (share, coherence, label, purity);
    ``metrics``: perplexity, coherence and (simulated data) purity / NMI of the run.
    """

    entity: str
    k: int
    seed: int
    path: Path
    user_topics: pd.DataFrame
    topic_items: pd.DataFrame
    top_items: pd.DataFrame
    topics: pd.DataFrame
    metrics: dict

    def model(self):
        """The fitted LDA recommender (:class:`tastemap.models.lda.LDA`, ``model.npz``); its
        ``lda_`` is scikit-learn's ``LatentDirichletAllocation``."""
        from tastemap.models.lda import LDA

        return LDA.load(_need(self.path / Path(L.TOPICS_MODEL).name, "topics.enabled"))


class Topics(Base):
    """The LDA runs of ``topics.k`` x seeds."""

    # ---- topics -------------------------------------------------------------------------------
    def topics(self, entity: str = "artist", k: int = 8, seed: int = 0) -> TopicRun:
        """The LDA run of ``(entity, k, seed)`` (see :class:`TopicRun`)."""
        _check_entity(entity)
        key = ("topics", entity, k, seed)
        if key not in self._cache:
            base = self.path / L.path(L.TOPICS_DIR, entity=entity, k=k, seed=seed)
            if not base.is_dir():
                done = sorted({f"k{w['k']}" for p in self.path.glob(L.glob(L.TOPICS_METRICS, entity=entity))
                               if (w := L.parse(L.TOPICS_METRICS, p.relative_to(self.path).as_posix()))})
                raise NotRun(f"{base}: not found - topics.k {k} seed {seed} was not run"
                             + (f" (have {', '.join(done)})" if done else " (topics.enabled)"))
            hint = f"topics k={k}"
            w = dict(entity=entity, k=k, seed=seed)

            def need(template):
                return _need(self.path / L.path(template, **w), hint)

            self._cache[key] = TopicRun(
                entity, k, seed, base,
                user_topics=pd.read_parquet(need(L.USER_TOPICS)),
                topic_items=pd.read_parquet(need(L.TOPIC_ITEMS)),
                top_items=pd.read_csv(need(L.TOP_ITEMS)),
                topics=pd.read_csv(need(L.TOPICS_TABLE)),
                metrics=json.loads(need(L.TOPICS_METRICS).read_text()),
            )
        return self._cache[key]
