"""Unequal intents, and raw chatty texts (call-centre turns: greetings and filler around one request): the
number of clusters still follows the intents, and not knowing it costs little against k-means told it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import KMeans

from miner.clustering import cluster_texts
from miner.clustering.algorithm import cluster_vectors
from miner.clustering.embeddings import get_embedder

FIXTURE = Path(__file__).parent / "fixtures/intents/banking77_imbalanced.jsonl"
TEMPLATED = Path(__file__).parent / "fixtures/intents/bitext_templates.jsonl"
OPENERS = ["Hi there, thanks for picking up.", "Yeah hello, um, okay so", "Hello, how are you today? I'm good.",
           "Right, so basically,", "Hi, I called yesterday too and nobody could help.",
           "Sorry, the line is bad, can you hear me?", "Okay, one second, let me grab my details.",
           "Good morning, I've been with you for years and", "My name is Sam and I'm calling because",
           "I'm at work so I only have a few minutes.", "Uh, hold on, let me check.", "So the thing is,"]
CLOSERS = ["Thanks so much.", "I appreciate it.", "That would be great, thank you.", "Okay, cheers.", "",
           "Sorry about the noise in the background.", "This is really frustrating to be honest.",
           "I hope you can sort this out today.", "Right, yes, that's my account."]


def intents(path: Path = FIXTURE) -> tuple[list[str], np.ndarray]:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    names = {name: i for i, name in enumerate(sorted({r["label"] for r in rows}))}
    return [r["text"] for r in rows], np.array([names[r["label"]] for r in rows])


def chatty(texts: list[str]) -> list[str]:
    rng = np.random.default_rng(11)
    out = []
    for text in texts:
        opener = " ".join(rng.choice(OPENERS, size=int(rng.integers(1, 3)), replace=False))
        out.append(f"{opener} {text} {rng.choice(CLOSERS)}".strip())
    return out


def accuracy(truth: np.ndarray, pred: np.ndarray) -> float:
    table = np.zeros((pred.max() + 1, truth.max() + 1))
    np.add.at(table, (pred, truth), 1)
    rows, cols = linear_sum_assignment(-table)
    return float(table[rows, cols].sum() / len(truth))


@pytest.mark.parametrize("make", [list, chatty], ids=["plain", "chatty"])
def test_unequal_intents_get_about_one_cluster_each(make) -> None:  # type: ignore[no-untyped-def]
    texts, truth = intents()
    texts = make(texts)
    true_k = len(set(truth.tolist()))

    labels = np.array(cluster_texts(texts))

    found = len(set(labels.tolist()))
    assert 0.5 * true_k <= found <= 1.5 * true_k, f"{found} clusters for {true_k} intents"
    told_k = KMeans(true_k, n_init=3, random_state=0).fit_predict(get_embedder().embed(texts))
    assert accuracy(truth, labels) >= accuracy(truth, told_k) - 0.04


def test_broad_intents_written_in_many_templates_are_not_split_by_wording() -> None:
    texts, truth = intents(TEMPLATED)
    true_k = len(set(truth.tolist()))
    X = get_embedder().embed(texts)

    labels = np.array(cluster_texts(texts))
    plain_only = cluster_vectors(X, texts)  # no rare-word view: what cluster_texts did before

    found = len(set(labels.tolist()))
    assert 0.5 * true_k <= found <= 1.5 * true_k, f"{found} clusters for {true_k} intents"
    assert len(set(plain_only.tolist())) > 1.5 * true_k  # the plain word average splits by wording
    told_k = KMeans(true_k, n_init=3, random_state=0).fit_predict(X)
    assert accuracy(truth, labels) >= accuracy(truth, told_k) - 0.04
    assert accuracy(truth, labels) >= accuracy(truth, plain_only) + 0.1
