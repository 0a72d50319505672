"""The clustering's cohesion target is learnt per embedder from reference intents, so an embedder with a
different similarity scale finds as many clusters as the default does, with no threshold set by hand."""

from __future__ import annotations

import numpy as np
import pytest

from miner.clustering.algorithm import COHESION, RARE_WORDS_A, cluster_vectors
from miner.clustering.calibration import cohesion_for, weighted_cohesion_for
from miner.clustering.embeddings import CorpusWeightedEmbedder, get_embedder
from tests.test_chatty_texts import accuracy, intents


class Crowded:
    """The default embedder with every vector pulled towards one shared direction: texts look more alike
    (as with many sentence encoders, whose unrelated texts still score 0.3-0.5), the topics stay apart."""

    def __init__(self, pull: float) -> None:
        self.inner = get_embedder()
        self.dim, self.name = self.inner.dim, f"crowded-{pull}"
        rng = np.random.default_rng(0)
        self.shared = rng.standard_normal(self.dim).astype(np.float32)
        self.shared /= np.linalg.norm(self.shared)
        self.pull = pull

    def embed(self, texts: list[str]) -> np.ndarray:
        X = self.inner.embed(texts) + self.pull * self.shared
        return X / np.linalg.norm(X, axis=1, keepdims=True)


def test_the_default_embedder_keeps_the_target_it_was_designed_with() -> None:
    assert cohesion_for(None) == pytest.approx(COHESION, abs=0.01)


def test_the_rare_word_view_gets_its_own_target() -> None:
    model = get_embedder()
    assert isinstance(model, CorpusWeightedEmbedder)
    target = weighted_cohesion_for(model, RARE_WORDS_A)
    assert target == pytest.approx(0.42, abs=0.01)
    assert weighted_cohesion_for(model, 0.1) != pytest.approx(target, abs=0.02)  # each weighting its own scale


def test_an_embedder_with_another_similarity_scale_gets_its_own_target() -> None:
    texts, truth = intents()
    true_k = len(set(truth.tolist()))
    crowded = Crowded(pull=2.0)
    X = crowded.embed(texts)

    target = cohesion_for(crowded)
    calibrated = cluster_vectors(X, texts, cohesion=target)
    fixed = cluster_vectors(X, texts, cohesion=COHESION)

    assert target < COHESION - 0.05  # a crowded scale needs a lower relative target
    assert abs(len(set(calibrated.tolist())) / true_k - 1) <= 0.25
    assert len(set(fixed.tolist())) > 1.5 * true_k  # what a fixed target does on this scale
    assert accuracy(truth, calibrated) >= accuracy(truth, fixed) + 0.1
