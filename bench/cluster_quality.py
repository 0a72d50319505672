"""Clustering benchmark: quality without the true number of clusters, speed, and determinism.

1. ``cluster_texts`` on every labelled *.jsonl set in the intent-clustering folder: NMI, ARI, accuracy
   (Hungarian matching of clusters to labels), clusters found against the true count (target: within
   +-25% on every file), seconds. Banking77 test targets NMI >= 80 and accuracy >= 63.
2. 10,000 texts end to end (the first 10,000 of banking77_train): target <= 30 s.
3. Assigning 1,000 new texts (banking77_test) to the centroids of that clustering, embedding included:
   target <= 3 s.
4. Re-run ARI: banking77_test clustered twice: target >= 0.95.

    python bench/cluster_quality.py [DATASET_DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from miner.clustering import cluster_texts  # noqa: E402
from miner.clustering.algorithm import ASSIGN_THRESHOLD, assign_to_centroids, centroids_of  # noqa: E402
from miner.clustering.embeddings import get_embedder  # noqa: E402

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "shared/datasets/intent-clustering"
COUNT_TOLERANCE = 0.25


def load(path: Path) -> tuple[list[str], np.ndarray]:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    names = {name: i for i, name in enumerate(sorted({r["label"] for r in rows}))}
    return [r["text"] for r in rows], np.array([names[r["label"]] for r in rows])


def accuracy(truth: np.ndarray, pred: np.ndarray) -> float:
    """Share of texts whose cluster is matched (one-to-one, Hungarian) to their true label."""
    table = np.zeros((pred.max() + 1, truth.max() + 1), dtype=np.int64)
    np.add.at(table, (pred, truth), 1)
    rows, cols = linear_sum_assignment(-table)
    return float(table[rows, cols].sum() / len(truth))


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("datasets", nargs="?", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--embeddings", default=None, metavar="SPEC",
                        help="embedder, as MINER_EMBEDDINGS (default: wordllama), e.g. sentence-transformers:/path")
    args = parser.parse_args()
    files = sorted(args.datasets.glob("*.jsonl"))
    if not files:
        print(f"no *.jsonl files in {args.datasets}")
        return 1

    started = time.perf_counter()
    embedder = get_embedder(args.embeddings)
    print(f"embedder {embedder.name} ({embedder.dim} dims), loaded in {time.perf_counter() - started:.2f} s\n")

    header = (f"{'file':<30}{'rows':>7}{'NMI':>7}{'ARI':>7}{'acc':>7}{'found':>7}{'true':>6}  {'count':<6}{'s':>7}"
              f"   | true k: {'NMI':>5}{'ARI':>7}{'acc':>7}")
    print(header)
    print("-" * len(header))
    failures: list[str] = []
    results: dict[str, tuple[list[str], np.ndarray, np.ndarray]] = {}
    for path in files:
        texts, truth = load(path)
        t0 = time.perf_counter()
        pred = np.array(cluster_texts(texts, embedder=args.embeddings))
        seconds = time.perf_counter() - t0
        found, true_k = len(set(pred.tolist())), len(set(truth.tolist()))
        count_ok = abs(found / true_k - 1) <= COUNT_TOLERANCE
        if not count_ok:
            failures.append(f"cluster count on {path.name}")
        nmi = 100 * normalized_mutual_info_score(truth, pred)
        ari = 100 * adjusted_rand_score(truth, pred)
        acc = 100 * accuracy(truth, pred)
        # the same embedder given the true number of clusters: k-means on its vectors (the reference the
        # figures without k are held to)
        ref = KMeans(true_k, n_init=3, random_state=0).fit_predict(embedder.embed(texts))
        print(f"{path.stem:<30}{len(texts):>7}{nmi:>7.1f}{ari:>7.1f}{acc:>7.1f}{found:>7}{true_k:>6}  "
              f"{verdict(count_ok):<6}{seconds:>7.1f}   |         "
              f"{100 * normalized_mutual_info_score(truth, ref):>5.1f}{100 * adjusted_rand_score(truth, ref):>7.1f}"
              f"{100 * accuracy(truth, ref):>7.1f}")
        results[path.stem] = (texts, truth, pred)
    print(f"(count: clusters found within +-{COUNT_TOLERANCE:.0%} of the true number; true k: the same "
          f"embedder's k-means told the true number of clusters)\n")

    if "banking77_test" in results:
        _, truth, pred = results["banking77_test"]
        nmi = 100 * normalized_mutual_info_score(truth, pred)
        acc = 100 * accuracy(truth, pred)
        ok = nmi >= 80 and acc >= 63
        failures += [] if ok else ["banking77_test quality"]
        print(f"banking77_test quality: NMI {nmi:.1f} (target >= 80), accuracy {acc:.1f} (target >= 63): "
              f"{verdict(ok)}")

    if "banking77_train" in results and "banking77_test" in results:
        train_texts = results["banking77_train"][0][:10_000]
        t0 = time.perf_counter()
        labels = np.array(cluster_texts(train_texts, embedder=args.embeddings))
        seconds = time.perf_counter() - t0
        ok = seconds <= 30
        failures += [] if ok else ["10k time"]
        print(f"10,000 texts end to end: {seconds:.1f} s (target <= 30 s): {verdict(ok)}")

        X = embedder.embed(train_texts)
        ids = sorted(centroids_of(X, labels))
        C = np.vstack([centroids_of(X, labels)[c] for c in ids])
        test_texts, test_truth, _ = results["banking77_test"]
        new_texts = test_texts[:1000]
        t0 = time.perf_counter()
        assigned, _sims = assign_to_centroids(embedder.embed(new_texts), C, ASSIGN_THRESHOLD)
        seconds = time.perf_counter() - t0
        ok = seconds <= 3
        failures += [] if ok else ["assign time"]
        print(f"assign 1,000 new texts to {len(ids)} clusters (embed + assign): {seconds:.2f} s "
              f"(target <= 3 s): {verdict(ok)}")
        # how sensible the assignments are: a cluster's majority intent in train, against the new text's intent
        train_truth = results["banking77_train"][1][:10_000]
        majority = np.array([np.bincount(train_truth[labels == c]).argmax() for c in ids])
        joined = assigned >= 0
        agree = float(np.mean(majority[assigned[joined]] == test_truth[:1000][joined])) if joined.any() else 0.0
        print(f"  (threshold {ASSIGN_THRESHOLD}: {joined.mean():.0%} assigned, {agree:.0%} of them to a cluster "
              f"whose majority intent is theirs)")

    if "banking77_test" in results:
        texts, _, first = results["banking77_test"]
        again = np.array(cluster_texts(texts, embedder=args.embeddings))
        ari = adjusted_rand_score(first, again)
        ok = ari >= 0.95
        failures += [] if ok else ["re-run ARI"]
        print(f"re-run ARI on banking77_test: {ari:.3f} (target >= 0.95): {verdict(ok)}")
        order = np.random.default_rng(0).permutation(len(texts))
        shuffled = np.empty_like(first)
        shuffled[order] = cluster_texts([texts[i] for i in order], embedder=args.embeddings)
        print(f"  (ARI against a run on the same texts in shuffled order: "
              f"{adjusted_rand_score(first, shuffled):.3f}, for information)")

    print(f"\n{'all targets met' if not failures else 'targets missed: ' + ', '.join(failures)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
