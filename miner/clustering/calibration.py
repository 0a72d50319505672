"""How tight a cluster must be, learnt per embedder from reference intents.

The clustering splits a group while it is less cohesive than a target, measured relative to the corpus:
``c1 + cohesion * (1 - c1)``, where c1 is the cohesion of the whole corpus (mean cosine to the centroid).
Embedders differ in scale: in all-MiniLM-L6-v2 a real intent sits tighter, relative to its corpus, than in
wordllama, so one fixed ``cohesion`` under-splits with one and over-splits with the other.

So ``cohesion`` is learnt per embedder: the reference intents (Banking77, 40 texts each) are embedded, each
intent's relative cohesion ``(c - c1) / (1 - c1)`` measured, and the lower quartile (REFERENCE_QUANTILE)
taken: a part counts as cohesive when it is as tight as three quarters of real intents are. For wordllama
this gives 0.44, the value the algorithm was designed with; for all-MiniLM-L6-v2, 0.51.

The corpus-weighted view of an embedder that has one (``weighted_cohesion_for``; rare words weigh more, see
``miner.clustering.algorithm.RARE_WORDS_A``) is a different scale again and gets its own target the same way:
the reference texts are embedded with weights learnt from the reference texts themselves (wordllama: 0.42).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Hashable
from functools import lru_cache
from pathlib import Path
from typing import Any, cast

import numpy as np

from miner.clustering.embeddings import CorpusWeightedEmbedder, Embedder, get_embedder

log = logging.getLogger(__name__)

REFERENCE = Path(__file__).parent / "reference" / "banking77_sample.jsonl"
REFERENCE_QUANTILE = 0.25


def reference_intents() -> tuple[list[str], np.ndarray]:
    rows = [json.loads(line) for line in REFERENCE.read_text(encoding="utf-8").splitlines() if line.strip()]
    names = {name: i for i, name in enumerate(sorted({r["label"] for r in rows}))}
    return [r["text"] for r in rows], np.array([names[r["label"]] for r in rows])


def relative_cohesions(X: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Each label's cohesion relative to the whole set's: (c - c1) / (1 - c1), c being the norm of the
    mean of its unit rows."""
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    X = np.divide(X, norms, out=np.zeros_like(X), where=norms > 0)
    c1 = float(np.linalg.norm(X.mean(axis=0)))
    own = np.array([float(np.linalg.norm(X[labels == c].mean(axis=0))) for c in np.unique(labels)])
    return (own - c1) / max(1.0 - c1, 1e-9)


def cohesion_for(embedder: Embedder | str | None = None) -> float:
    """The cohesion target for this embedder (an Embedder, or a spec as MINER_EMBEDDINGS); computed once
    per process and embedder."""
    model = embedder if isinstance(embedder, Embedder) else get_embedder(embedder)
    return _calibrate(cast(Hashable, model), None)


def weighted_cohesion_for(embedder: CorpusWeightedEmbedder, a: float) -> float:
    """The cohesion target for ``embedder.embed_weighted(texts, a)``; computed once per process."""
    return _calibrate(cast(Hashable, embedder), a)


@lru_cache(maxsize=16)
def _calibrate(model: Any, a: float | None) -> float:  # an Embedder; get_embedder returns the same object
    texts, labels = reference_intents()
    X = model.embed(texts) if a is None else model.embed_weighted(texts, a)
    value = float(np.quantile(relative_cohesions(X, labels), REFERENCE_QUANTILE))
    log.info("cohesion target for %s%s: %.3f (from %d reference intents)", model.name,
             "" if a is None else f" weighted (a={a})", value, len(set(labels.tolist())))
    return value
