"""The clustering algorithm and embedders: pure functions, no database."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from miner.clustering import cluster_texts
from miner.clustering.algorithm import (
    ASSIGN_THRESHOLD,
    assign_to_centroids,
    centroids_of,
    choose_k,
    cluster_vectors,
    keyphrases,
)
from miner.clustering.embeddings import get_embedder, normalise_text

TOPICS = {
    "password": [
        "Password reset email never arrives",
        "password reset mail not received",
        "I never got the password reset email",
        "no email to reset my password",
        "forgot password, the reset link email is missing",
        "password reset link email did not come",
    ],
    "crash": [
        "App crashes on startup",
        "the app crashes when I open it",
        "crash at launch on Android 14",
        "application closes immediately on start",
        "app keeps crashing on launch",
        "launching the app crashes it",
    ],
    "billing": [
        "Charged twice for my subscription",
        "double charge on my card",
        "billed two times this month",
        "I was charged twice",
        "duplicate payment on my invoice",
        "my card was billed twice",
    ],
}
TEXTS = [t for texts in TOPICS.values() for t in texts]
TRUTH = np.repeat(np.arange(len(TOPICS)), [len(v) for v in TOPICS.values()])


def blobs(n_per: int = 40, k: int = 6, dim: int = 32, noise: float = 0.15, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, dim))
    X = np.repeat(centres, n_per, axis=0) + noise * np.sqrt(dim) * rng.normal(size=(k * n_per, dim)) / np.sqrt(dim)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    return X.astype(np.float32), np.repeat(np.arange(k), n_per)


def test_obvious_topics_are_separated() -> None:
    labels = np.array(cluster_texts(TEXTS))
    assert adjusted_rand_score(TRUTH, labels) == 1.0


def test_cluster_texts_is_deterministic_and_order_independent() -> None:
    texts = TEXTS * 3 + [f"{t} again" for t in TEXTS]
    first = cluster_texts(texts)
    assert cluster_texts(texts) == first
    order = np.random.default_rng(0).permutation(len(texts))
    shuffled = np.empty(len(texts), dtype=int)
    shuffled[order] = cluster_texts([texts[i] for i in order])
    assert adjusted_rand_score(first, shuffled) >= 0.95


def test_every_text_gets_a_label() -> None:
    texts = [*TEXTS, "", "   ", "?!", "order 123456789 never arrived", TEXTS[0]]
    labels = cluster_texts(texts)
    assert len(labels) == len(texts)
    assert all(isinstance(x, int) and x >= 0 for x in labels)
    assert labels[-1] == labels[0]  # identical texts share a cluster
    assert cluster_texts([]) == []
    assert cluster_texts(["just one"]) == [0]


def test_cluster_vectors_finds_the_number_of_blobs() -> None:
    X, truth = blobs()
    labels = cluster_vectors(X)
    assert len(set(labels.tolist())) == 6
    assert adjusted_rand_score(truth, labels) > 0.95
    assert sorted(np.bincount(labels).tolist(), reverse=True) == np.bincount(labels).tolist()


def test_a_part_cohesive_in_the_second_view_is_not_split() -> None:
    # Two loose blobs, split into many parts at a strict target; a second view of the same rows in which
    # the first blob is one point makes every part of it cohesive, so fewer parts are split.
    X, truth = blobs(n_per=60, k=2, noise=0.6, seed=3)
    tight, _ = blobs(n_per=60, k=2, noise=0.02, seed=4)
    V = np.where((truth == 0)[:, None], tight[:1], X)  # blob 0 collapses to one point in the view
    plain = choose_k(X, X, cohesion=0.9)
    with_view = choose_k(X, X, cohesion=0.9, view=(V, 0.9))
    assert plain > 2
    assert with_view < plain
    assert cluster_vectors(X, view=V, cohesion=0.9, view_cohesion=0.9).max() + 1 <= with_view
    with pytest.raises(ValueError):
        cluster_vectors(X, view=V[:5])


def test_cluster_vectors_small_input_is_one_cluster() -> None:
    X, _ = blobs(n_per=2, k=3)
    assert cluster_vectors(X).tolist() == [0] * 6
    assert cluster_vectors(np.zeros((0, 8))).tolist() == []
    with pytest.raises(ValueError):
        cluster_vectors(X, ["only one text"])


def test_assign_to_centroids_threshold() -> None:
    C = np.eye(3, dtype=np.float32)
    X = np.array([[1.0, 0.1, 0.0],    # clearly the first centroid
                  [0.0, 0.2, 1.0],    # clearly the third
                  [1.0, 1.0, 1.0]],   # 0.577 to each: below the threshold
                 dtype=np.float32)
    labels, sims = assign_to_centroids(X, C, 0.7)
    assert labels.tolist() == [0, 2, -1]
    assert sims[0] == pytest.approx(1 / np.sqrt(1.01), abs=1e-5)
    assert sims[2] == pytest.approx(1 / np.sqrt(3), abs=1e-5)
    labels, _ = assign_to_centroids(X, C, 0.5)
    assert labels[2] >= 0
    labels, _ = assign_to_centroids(X, {10: C[0], 20: C[2]}, 0.7)
    assert labels.tolist() == [10, 20, -1]
    labels, sims = assign_to_centroids(X, np.zeros((0, 3)), ASSIGN_THRESHOLD)
    assert labels.tolist() == [-1, -1, -1] and sims.tolist() == [0, 0, 0]


def test_assigning_new_texts_to_their_topic() -> None:
    embedder = get_embedder()
    X = embedder.embed(TEXTS)
    centroids = centroids_of(X, TRUTH)
    new = ["the password reset email has not arrived", "app crashed on launch again", "you charged me twice"]
    labels, _ = assign_to_centroids(embedder.embed(new), centroids, ASSIGN_THRESHOLD)
    assert labels.tolist() == [0, 1, 2]


def test_centroids_of() -> None:
    X, truth = blobs(n_per=5, k=2)
    labels = truth.copy()
    labels[0] = -1
    centroids = centroids_of(X, labels)
    assert sorted(centroids) == [0, 1]
    for c, v in centroids.items():
        assert np.linalg.norm(v) == pytest.approx(1.0, abs=1e-5)
        expected = X[labels == c].mean(axis=0)
        assert np.allclose(v, expected / np.linalg.norm(expected), atol=1e-5)


def test_keyphrases_are_readable() -> None:
    names = keyphrases(TEXTS, TRUTH)
    assert set(names) == {0, 1, 2}
    assert "password" in names[0] and "reset" in names[0]
    assert "crash" in names[1]
    assert "twice" in names[2] or "charge" in names[2]
    for name in names.values():
        words = name.split()
        assert 2 <= len(words) <= 4
        assert words[0] not in {"the", "my", "i", "a", "to"} and words[-1] not in {"the", "my", "i", "a", "to"}
    with_noise = keyphrases([*TEXTS, "whatever"], [*TRUTH.tolist(), -1])
    assert -1 not in with_noise
    assert keyphrases(["the", "a"], [0, 0]) == {0: ""}


def test_default_embedder() -> None:
    embedder = get_embedder()
    assert get_embedder("wordllama") is embedder
    assert embedder.dim == 256 and embedder.name.startswith("wordllama")
    X = embedder.embed(["Android 14 clock-in button needs several taps", ""])
    assert X.shape == (2, 256) and X.dtype == np.float32
    assert np.linalg.norm(X[0]) == pytest.approx(1.0, abs=1e-5)
    assert not X[1].any()
    assert embedder.embed([]).shape == (0, 256)
    assert normalise_text("order  #12345 for $9.99") == "order #0 for $0"


def test_get_embedder_rejects_bad_specs(tmp_path) -> None:
    with pytest.raises(ValueError, match="unknown embedder spec"):
        get_embedder("word2vec")
    with pytest.raises(ValueError, match="unknown embedder spec"):
        get_embedder("sentence-transformers:")
    with pytest.raises(ValueError, match="not found"):
        get_embedder(f"sentence-transformers:{tmp_path / 'missing'}")
    try:
        import sentence_transformers  # noqa: F401
    except ImportError:
        with pytest.raises(RuntimeError, match="sentence-transformers"):
            get_embedder(f"sentence-transformers:{tmp_path}")
