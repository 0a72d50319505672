"""Clustering figures that follow the corpus: the final partition of issue vectors and the similarity a new
issue needs to join a cluster."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import adjusted_rand_score
from sqlalchemy import Engine, select

from miner.clustering import algorithm
from miner.clustering.embeddings import get_embedder
from miner.clustering.run import assign_threshold, run_clustering
from miner.clustering.vectors import IssueVectors
from miner.models import Issue
from tests.test_incidents import STALE, add_issue, at


def _group(rng: np.random.Generator, centre: np.ndarray, n: int, spread: float) -> np.ndarray:
    return centre + spread * rng.standard_normal((n, centre.shape[0])) / np.sqrt(centre.shape[0])


def test_a_large_problem_stays_mostly_whole_and_rare_ones_keep_their_own_cluster() -> None:
    """Problems are unequal: one reported 600 times in 12 distinct wordings, four reported 12-20 times.
    (k-means, given the same number of clusters, cuts the large one in four and puts two rare ones together.)"""
    rng = np.random.default_rng(7)
    dim = 64
    centres = algorithm.unit_rows(rng.standard_normal((5, dim)))
    wordings = _group(rng, centres[0], 12, 0.5)
    X = np.vstack([_group(rng, w, 50, 0.4) for w in wordings]
                  + [_group(rng, c, n, 0.4) for c, n in zip(centres[1:], [20, 16, 14, 12], strict=True)])
    truth = np.repeat(np.arange(5), [600, 20, 16, 14, 12])

    labels = algorithm.cluster_by_linkage(X)

    assert np.bincount(labels[truth == 0]).max() >= 400
    for problem in range(1, 5):  # each rare problem is a cluster of its own
        own = np.bincount(labels[truth == problem]).argmax()
        assert np.mean(truth[labels == own] == problem) >= 0.9
        assert np.mean(labels[truth == problem] == own) >= 0.9


def test_linkage_partition_is_deterministic_and_order_free() -> None:
    rng = np.random.default_rng(3)
    X = np.vstack([_group(rng, c, 40, 0.6) for c in algorithm.unit_rows(rng.standard_normal((6, 32)))])
    order = rng.permutation(len(X))
    first = algorithm.cluster_by_linkage(X)
    shuffled = np.empty_like(first)
    shuffled[order] = algorithm.cluster_by_linkage(X[order])
    assert adjusted_rand_score(first, shuffled) == 1.0


def test_the_join_threshold_is_calibrated_on_the_corpus(sqlite_engine: Engine) -> None:
    embedder = get_embedder()
    empty = IssueVectors.load(sqlite_engine, embedder)
    assert assign_threshold(sqlite_engine, empty) == algorithm.ASSIGN_THRESHOLD  # nothing to learn from yet

    with sqlite_engine.begin() as conn:
        for day in range(10, 70):
            add_issue(conn, STALE[day % len(STALE)] + f" (store {day % 7})", at(day), org=100 + day % 30)
    run_clustering(sqlite_engine)
    vectors = IssueVectors.load(sqlite_engine, embedder)
    with sqlite_engine.connect() as conn:
        rows = conn.execute(select(Issue.id, Issue.cluster_id).where(Issue.cluster_id.is_not(None))).all()
    members: dict[int, list[int]] = {}
    for issue_id, cluster_id in rows:
        members.setdefault(cluster_id, []).append(issue_id)
    sims = []
    for ids in members.values():
        if len(ids) >= 10:
            V = vectors.of(ids)
            centre = V.mean(axis=0) / np.linalg.norm(V.mean(axis=0))
            sims.append(V @ centre)
    assert sims, "the corpus should have made at least one cluster of 10 or more"
    # as close as all but 5% of the current members are to their own centroid
    assert assign_threshold(sqlite_engine, vectors) == np.quantile(np.concatenate(sims), 0.05)
