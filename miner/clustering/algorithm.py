"""Clustering of issue embeddings without being told the number of clusters (pure functions, no database).

The production algorithm, ``cluster_vectors``:

1. Neighbourhood smoothing: each unit vector is replaced by the mean of its ``SMOOTH_NEIGHBOURS`` nearest
   neighbours (itself included). This denoises static word-average embeddings and pulls paraphrases together.
2. Number of clusters: split the data top-down (2-means, seeded on the principal axis) until every cluster is
   *cohesive*: the mean cosine of its members to their centroid reaches ``c1 + COHESION * (1 - c1)``, where
   ``c1`` is the same figure for the whole corpus, and no cluster splits cleanly into two well separated
   halves. Measuring cohesion relative to the corpus baseline keeps the granularity similar for
   single-domain corpora (high baseline similarity) and broad ones, and it does not depend on the number of
   texts, so twice the data gives about the same clusters rather than twice as many.
   Optionally a second view of the same texts (``view``) can also declare a part cohesive, against its own
   target: ``cluster_texts`` passes the texts embedded with rare words weighing more (``RARE_WORDS_A``). A
   plain word average sees two wordings of one request ("see your payment methods", "check the accepted
   payment modalities"; "I want assistance to..." and "problems with...") as distinct groups, as distinct
   as two neighbouring intents are, so broad intents written in many templates were split by wording
   (Bitext: 62 clusters for 27 intents). Weighting down the words that recur across the corpus (template
   words, but also the words neighbouring intents share) makes such an intent cohesive in the view while
   two neighbouring intents stay apart in the plain vectors' margin and cohesion.
3. Final partition: k-means with that k on the smoothed vectors (k-means++ with fixed seeds); clusters
   smaller than ``min_cluster_size`` are dissolved into their nearest neighbour cluster.

Everything is seeded, so the same input gives the same labels.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import scipy.sparse as sp
from scipy.cluster.hierarchy import fcluster, linkage
from sklearn.cluster import KMeans
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer
from sklearn.metrics import silhouette_score
from threadpoolctl import threadpool_limits

from miner.clustering.embeddings import unit_rows

SMOOTH_NEIGHBOURS = 10
COHESION = 0.44
SEPARATION = 0.5
MIN_CLUSTER_SIZE = 5
KMEANS_RESTARTS = 3
# cluster_texts keeps the corpus-weighted clustering when its mean silhouette is at least this many times the
# plain one's: on chatty texts it is 1.5-1.9 times (and accuracy doubles), on short to-the-point texts 0.9-1.1.
WEIGHTED_GAIN = 1.25
RANDOM_STATE = 0
# The second view cluster_texts gives cluster_vectors: word weights a / (a + p) for a word in a share p of
# the texts, a = this (nearly inverse frequency). Measured on the bench sets with each a's own calibrated
# target: a = 0.1 (the chatty-text weighting) leaves Bitext at 48-56 clusters for 27; 0.03 gives 41, 0.01
# gives 34 (32-41 with the target moved by +-0.02) while Banking77 test keeps 60 for 77 and CLINC150 123 for
# 150; 0.003 takes CLINC150 down to 112.
RARE_WORDS_A = 0.01

# Incremental updates (default embedder): a new issue joins its nearest cluster when its cosine similarity
# to that cluster's centroid is at least this. About 80% of the members of clusters made by cluster_vectors
# are this close to their own centroid. Held out: 84% of new Banking77 texts are assigned at 0.60 and
# 62-65% of those land in a cluster whose majority intent is theirs (0.70: 63% assigned, 70% agree); with
# cluster_texts' rare-word view (72 clusters for 77 on Banking77 train rather than 86): 82% and 50%.
ASSIGN_THRESHOLD = 0.60
# Forming a new cluster from leftovers: at least MIN_CLUSTER_SIZE issues whose median similarity to their
# centroid is at least this, i.e. as tight as a typical cluster made by cluster_vectors (median 0.71-0.79).
DENSE_GROUP_MEDIAN = 0.70

# Average linkage is exact up to this many rows (its distance matrix is n^2/2 floats: 144 MB at 6,000);
# above it, rows are first grouped into LINKAGE_SEGMENTS k-means segments and the segments are linked.
LINKAGE_EXACT_MAX = 6000
LINKAGE_SEGMENTS = 3000

_CHUNK_CELLS = 2**23  # similarity-matrix cells per chunk when smoothing (32 MB of float32)


def smooth(X: np.ndarray, n_neighbors: int = SMOOTH_NEIGHBOURS) -> np.ndarray:
    """Mean of each row's ``n_neighbors`` most cosine-similar rows (itself included), renormalised.

    Computed in row chunks so memory stays bounded rather than O(n^2)."""
    X = unit_rows(X)
    n = X.shape[0]
    k = min(n_neighbors, n)
    if k <= 1:
        return X
    out = np.empty_like(X)
    chunk = max(1, _CHUNK_CELLS // n)
    for start in range(0, n, chunk):
        sims = X[start:start + chunk] @ X.T
        rows = np.arange(sims.shape[0])
        sims[rows, start + rows] = np.inf  # a row is always its own neighbour, whatever the ties
        idx = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        out[start:start + chunk] = X[idx].mean(axis=1)
    return unit_rows(out)


def _cohesion(X: np.ndarray) -> float:
    """Mean cosine of unit rows to their (normalised) centroid, which equals the norm of their mean."""
    return float(np.linalg.norm(X.mean(axis=0)))


def _principal_axis(cov: np.ndarray, iterations: int = 50) -> np.ndarray:
    """Leading eigenvector by power iteration (LAPACK's eigh is slow and thread-hungry on small busy machines)."""
    v = np.ones(cov.shape[0], dtype=np.float64) / np.sqrt(cov.shape[0])
    for _ in range(iterations):
        w = cov @ v
        norm = np.linalg.norm(w)
        if norm == 0:
            break
        v = w / norm
    return np.asarray(v)


def _bisect(Z: np.ndarray) -> np.ndarray:
    """Split rows in two: start from the sign of the principal-axis projection, then refine with 2-means."""
    centred = Z - Z.mean(axis=0)
    side = centred @ _principal_axis(centred.T @ centred) > 0
    if side.all() or not side.any():
        return np.asarray(side, dtype=int)
    init = np.vstack([Z[side].mean(axis=0), Z[~side].mean(axis=0)])
    return np.asarray(KMeans(2, init=init, n_init=1, random_state=RANDOM_STATE).fit_predict(Z))


def _margin(X: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    """Mean over both halves of (cosine to own half's centroid - cosine to the other's): how cleanly a
    split separates. Loose paraphrase sub-groups score about 0.2, distinct topics 0.6 and more."""
    ca, cb = unit_rows(np.vstack([X[a].mean(axis=0), X[b].mean(axis=0)]))
    return float(np.concatenate([X[a] @ (ca - cb), X[b] @ (cb - ca)]).mean())


def choose_k(X: np.ndarray, Z: np.ndarray, *, cohesion: float = COHESION, separation: float = SEPARATION,
             min_cluster_size: int = MIN_CLUSTER_SIZE, view: tuple[np.ndarray, float] | None = None) -> int:
    """Number of clusters: split top-down (on the smoothed ``Z``) while a part of the raw unit vectors ``X``
    is not cohesive relative to the corpus (see the module docstring), or while it splits cleanly into two
    well separated halves (margin >= ``separation``: two tight, distinct topics can look as loose as one
    broad topic). ``view``: other unit rows of the same texts and their cohesion target; a part cohesive
    there counts as cohesive too. Parts never go below ``min_cluster_size``."""
    cohesive = _cohesive_test(X, cohesion)
    other = _cohesive_test(*view) if view is not None else None
    pending, done = [np.arange(X.shape[0])], 0
    while pending:
        idx = pending.pop()
        if len(idx) < 2 * min_cluster_size:
            done += 1
            continue
        side = _bisect(Z[idx])
        a, b = idx[side == 0], idx[side == 1]
        if min(len(a), len(b)) < min_cluster_size or (
                (cohesive(idx) or (other is not None and other(idx))) and _margin(X, a, b) < separation):
            done += 1
            continue
        pending += [a, b]
    return done


def _cohesive_test(X: np.ndarray, cohesion: float) -> Callable[[np.ndarray], bool]:
    """Whether the rows ``idx`` of ``X`` reach the cohesion target relative to all of ``X``."""
    baseline = _cohesion(X)
    target = baseline + cohesion * (1.0 - baseline)
    return lambda idx: _cohesion(X[idx]) >= target


def _dissolve_small(Z: np.ndarray, labels: np.ndarray, min_size: int) -> np.ndarray:
    """Move members of clusters smaller than ``min_size`` to the nearest remaining centroid."""
    counts = np.bincount(labels)
    keep = np.flatnonzero(counts >= min_size)
    if len(keep) == 0 or len(keep) == len(counts):
        return labels
    centres = unit_rows(np.vstack([Z[labels == c].mean(axis=0) for c in keep]))
    small = ~np.isin(labels, keep)
    labels = labels.copy()
    labels[small] = keep[np.argmax(Z[small] @ centres.T, axis=1)]
    return labels


def _canonical(labels: np.ndarray) -> np.ndarray:
    """Renumber clusters 0..k-1 by decreasing size (ties: first occurrence), for stable output."""
    ids, first, counts = np.unique(labels, return_index=True, return_counts=True)
    order = ids[np.lexsort((first, -counts))]
    remap = np.empty(ids.max() + 1, dtype=np.int64)
    remap[order] = np.arange(len(order))
    return np.asarray(remap[labels])


def cluster_vectors(X: np.ndarray, texts: Sequence[str] | None = None, *,
                    min_cluster_size: int = MIN_CLUSTER_SIZE, cohesion: float = COHESION,
                    n_neighbors: int = SMOOTH_NEIGHBOURS, view: np.ndarray | None = None,
                    view_cohesion: float = COHESION) -> np.ndarray:
    """Cluster embedding rows without a given number of clusters; every row gets a label >= 0.

    ``texts`` (optional, aligned with ``X``) makes identical texts always share a label. Small groups are
    absorbed by their nearest cluster here; callers that prefer to leave loose issues unclustered can drop
    members whose similarity to their centroid is below ``ASSIGN_THRESHOLD`` (see ``assign_to_centroids``).
    ``view`` (optional, aligned with ``X``): a second embedding of the same texts, in which a part reaching
    ``view_cohesion`` is cohesive too (see ``choose_k``); the partition itself is made in ``X``.
    """
    if view is not None and len(view) != len(X):
        raise ValueError(f"{len(view)} view rows for {len(X)} vectors")
    V = unit_rows(view) if view is not None else None
    return _labelled(X, texts, min_cluster_size, lambda rows, order: _cluster(
        rows, min_cluster_size, cohesion, n_neighbors, None if V is None else (V[order], view_cohesion)))


def _labelled(X: np.ndarray, texts: Sequence[str] | None, min_cluster_size: int,
              partition: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> np.ndarray:
    """What every clustering entry point does around its `partition` of unit rows (given the rows and
    their positions in the input): validate, order the rows canonically, limit threads, give identical
    texts one label and number clusters by size."""
    X = unit_rows(X)
    n = X.shape[0]
    if texts is not None and len(texts) != n:
        raise ValueError(f"{len(texts)} texts for {n} vectors")
    if n < 2 * min_cluster_size:
        return np.zeros(n, dtype=np.int64)
    # A canonical row order makes the result independent of the order the rows came in.
    order = np.lexsort(X.T[::-1])
    # One thread: on a small, busy machine multi-threaded BLAS/OpenMP spin-waiting made this 5x slower.
    with threadpool_limits(limits=1):
        labels = np.empty(n, dtype=np.int64)
        labels[order] = partition(X[order], order)
    if texts is not None:
        labels = _same_text_same_label(texts, labels)
    return _canonical(labels)


def _cluster(X: np.ndarray, min_cluster_size: int, cohesion: float, n_neighbors: int,
             view: tuple[np.ndarray, float] | None) -> np.ndarray:
    n = X.shape[0]
    # Few texts mean few paraphrases per topic: smoothing over 10 neighbours would blur small groups.
    Z = smooth(X, min(n_neighbors, max(1, n // 20)))
    k = choose_k(X, Z, cohesion=cohesion, min_cluster_size=min_cluster_size, view=view)
    if k <= 1:
        return np.zeros(n, dtype=np.int64)
    labels = KMeans(k, n_init=KMEANS_RESTARTS, random_state=RANDOM_STATE).fit_predict(Z)
    return _dissolve_small(Z, labels, min_cluster_size)


def cluster_by_linkage(X: np.ndarray, texts: Sequence[str] | None = None, *,
                       min_cluster_size: int = MIN_CLUSTER_SIZE, n_neighbors: int = SMOOTH_NEIGHBOURS) -> np.ndarray:
    """Like ``cluster_vectors`` (same number of clusters, from ``choose_k``), but the final partition is an
    average-linkage cut of the raw vectors instead of k-means.

    For issue vectors, which add categorical product-area and keyword directions to a sentence embedding,
    problems are unequal in size and not spherical: k-means splits the big ones and joins the small ones
    (on all the demo's issues, same k: accuracy 54% against 82% for this). Average linkage joins groups by their mean
    pairwise similarity, so a large problem stays whole and a rare one keeps its own cluster."""
    return _labelled(X, texts, min_cluster_size,
                     lambda rows, _order: _linkage_partition(rows, min_cluster_size, n_neighbors))


def _linkage_partition(X: np.ndarray, min_cluster_size: int, n_neighbors: int) -> np.ndarray:
    n = X.shape[0]
    Z = smooth(X, min(n_neighbors, max(1, n // 20)))
    k = choose_k(X, Z, min_cluster_size=min_cluster_size)
    if k <= 1:
        return np.zeros(n, dtype=np.int64)
    if n <= LINKAGE_EXACT_MAX:
        segments, points = np.arange(n), X
    else:
        segments = KMeans(LINKAGE_SEGMENTS, n_init=1, max_iter=20, random_state=RANDOM_STATE).fit_predict(X)
        segments = np.unique(segments, return_inverse=True)[1]
        # the mean (not unit) vector of a segment: the dot product of two means is the mean pairwise cosine
        points = np.vstack([X[segments == s].mean(axis=0) for s in range(segments.max() + 1)])
    tree = linkage(points.astype(np.float64), method="average", metric="cosine")
    labels = fcluster(tree, min(k, points.shape[0]), criterion="maxclust")[segments] - 1
    return _dissolve_small(Z, labels.astype(np.int64), min_cluster_size)


def _same_text_same_label(texts: Sequence[str], labels: np.ndarray) -> np.ndarray:
    labels = labels.copy()
    groups: dict[str, list[int]] = {}
    for i, text in enumerate(texts):
        groups.setdefault(" ".join(text.lower().split()), []).append(i)
    for members in groups.values():
        if len(members) > 1:
            values, counts = np.unique(labels[members], return_counts=True)
            labels[members] = values[np.argmax(counts)]
    return labels


def centroids_of(X: np.ndarray, labels: Sequence[int] | np.ndarray) -> dict[int, np.ndarray]:
    """Unit-length mean vector of each cluster (label -1, unclustered, is skipped)."""
    X = unit_rows(X)
    labels = np.asarray(labels)
    return {int(c): unit_rows(X[labels == c].mean(axis=0, keepdims=True))[0]
            for c in np.unique(labels) if c >= 0}


def assign_to_centroids(X: np.ndarray, centroids: np.ndarray | Mapping[int, np.ndarray],
                        threshold: float = ASSIGN_THRESHOLD) -> tuple[np.ndarray, np.ndarray]:
    """Nearest centroid by cosine similarity for each row of ``X``.

    ``centroids`` is an (m, d) array (labels are row indices) or a mapping label -> vector (labels are its
    keys). Returns (labels, similarities); a row whose best similarity is below ``threshold`` gets -1."""
    if isinstance(centroids, Mapping):
        keys = np.array(list(centroids.keys()), dtype=np.int64)
        C = np.vstack(list(centroids.values())) if len(keys) else np.zeros((0, X.shape[1]))
    else:
        C = np.asarray(centroids)
        keys = np.arange(C.shape[0], dtype=np.int64)
    X = unit_rows(X)
    if X.shape[0] == 0 or C.shape[0] == 0:
        return np.full(X.shape[0], -1, dtype=np.int64), np.zeros(X.shape[0], dtype=np.float32)
    sims = X @ unit_rows(C).T
    best = np.argmax(sims, axis=1)
    best_sims = sims[np.arange(X.shape[0]), best].astype(np.float32)
    labels = np.where(best_sims >= threshold, keys[best], -1)
    return labels, best_sims


# --- names --------------------------------------------------------------------------------------

_KEEP = {"not", "no", "never", "nothing", "cannot", "without", "none", "nor"}
STOP_WORDS = frozenset(ENGLISH_STOP_WORDS - _KEEP) | {
    "hi", "hello", "hey", "please", "pls", "thanks", "thank", "im", "ive", "id", "dont", "doesnt", "didnt",
    "cant", "wont", "isnt", "want", "need", "help", "like", "just", "know", "does", "did", "way", "able",
}
# longer phrases read better: the score grows with (content words) ** this
_LENGTH_EXPONENT = 0.75
_WORD = re.compile(r"\b[a-z][a-z']*")


def phrase_words(text: str) -> list[str]:
    """The words key phrases are made of: lower case, apostrophes dropped."""
    return [w.replace("'", "") for w in _WORD.findall(text.lower())]


def _phrases(text: str) -> list[str]:
    """1-4 word n-grams as written, that neither start nor end with a stop word and are at least half
    content words (so "reset my password" but not "my password" or "can i ask")."""
    words = phrase_words(text)
    out = []
    for n in range(1, 5):
        for i in range(len(words) - n + 1):
            gram = words[i:i + n]
            if gram[0] in STOP_WORDS or gram[-1] in STOP_WORDS:
                continue
            if 2 * sum(w in STOP_WORDS for w in gram) > n:
                continue
            out.append(" ".join(gram))
    return out


def top_phrases(texts: Sequence[str], labels: Sequence[int] | np.ndarray, top: int = 3) -> dict[int, list[str]]:
    """Key phrases of each cluster from class-based TF-IDF (as in BERTopic) over phrases that occur in the texts.

    A phrase scores (share of the cluster's texts containing it) * log(1 + A / texts containing it anywhere),
    A being the mean cluster size, times (content words) ** 0.75 so that "password reset email" beats
    "password" when both are about as typical. Label -1 is skipped; a cluster with no usable phrase gets []."""
    labels = np.asarray(labels)
    ids = sorted(int(c) for c in np.unique(labels) if c >= 0)
    if not ids:
        return {}
    if len(texts) != len(labels):
        raise ValueError(f"{len(texts)} texts for {len(labels)} labels")
    # min_df=2: a phrase used once is an accident of wording, not a name
    vectorizer = CountVectorizer(analyzer=_phrases, binary=True, min_df=min(2, len(texts)))
    try:
        M = vectorizer.fit_transform(list(texts))
    except ValueError:  # no phrase at all (empty or stop-word-only texts)
        return {c: [] for c in ids}
    vocab = vectorizer.get_feature_names_out()
    content = np.array([sum(w not in STOP_WORDS for w in v.split()) for v in vocab], dtype=np.float64)
    row = {c: i for i, c in enumerate(ids)}
    members = np.flatnonzero(labels >= 0)
    P = sp.csr_matrix((np.ones(len(members)), ([row[int(c)] for c in labels[members]], members)),
                      shape=(len(ids), len(labels)))
    counts = (P @ M).tocsr()  # texts of each cluster containing each phrase (sparse: clusters x phrases)
    sizes = np.asarray(P.sum(axis=1)).ravel()
    weight = np.log1p(sizes.mean() / np.maximum(np.asarray(counts.sum(axis=0)).ravel(), 1)) * content ** _LENGTH_EXPONENT
    scores = sp.diags(1.0 / sizes) @ counts @ sp.diags(weight)
    out: dict[int, list[str]] = {}
    for c, i in row.items():
        ranked = scores.getrow(i).toarray().ravel()
        order = [j for j in np.argsort(-ranked, kind="stable")[: top * 4] if ranked[j] > 0]
        chosen: list[str] = []
        for j in order:  # skip phrases contained in (or containing) one already chosen
            phrase = str(vocab[j])
            if not any(phrase in other or other in phrase for other in chosen):
                chosen.append(phrase)
            if len(chosen) == top:
                break
        out[c] = chosen
    return out


def keyphrases(texts: Sequence[str], labels: Sequence[int] | np.ndarray) -> dict[int, str]:
    """The best key phrase of each cluster (see ``top_phrases``); "" when there is none."""
    return {c: (phrases[0] if phrases else "") for c, phrases in top_phrases(texts, labels, top=1).items()}


def cluster_texts(texts: Sequence[str], *, embedder: str | None = None) -> list[int]:
    """The public entry point: embed (default embedder unless ``embedder`` names another, as
    ``MINER_EMBEDDINGS`` does) and cluster with production defaults, the cohesion target calibrated for
    that embedder (``miner.clustering.calibration``).

    With an embedder that can weight words by the corpus (the default), the texts are also clustered in
    that weighted embedding, and that clustering is kept when its clusters are clearly better separated
    (mean silhouette at least WEIGHTED_GAIN times the plain one's). Raw, chatty texts (call transcripts, with
    greetings and filler around the request) are such a corpus; short, to-the-point texts are not. The plain
    clustering also takes the texts embedded with rare words weighing more (``RARE_WORDS_A``) as a second
    view of cohesion, so that an intent written in many templates is not split by wording."""
    from miner.clustering.calibration import cohesion_for, weighted_cohesion_for
    from miner.clustering.embeddings import CorpusWeightedEmbedder, get_embedder

    if not texts:
        return []
    model = get_embedder(embedder)
    X = model.embed(list(texts))
    cohesion = cohesion_for(model)
    # word weights learnt from a handful of texts say nothing
    if not isinstance(model, CorpusWeightedEmbedder) or len(texts) < 4 * MIN_CLUSTER_SIZE:
        return [int(x) for x in cluster_vectors(X, texts, cohesion=cohesion)]
    labels = cluster_vectors(X, texts, cohesion=cohesion, view=model.embed_weighted(list(texts), RARE_WORDS_A),
                             view_cohesion=weighted_cohesion_for(model, RARE_WORDS_A))
    W = model.embed_weighted(list(texts))
    weighted = cluster_vectors(W, texts, cohesion=cohesion)
    if separation(W, weighted) >= WEIGHTED_GAIN * separation(X, labels):
        labels = weighted
    return [int(x) for x in labels]


def separation(X: np.ndarray, labels: np.ndarray, sample: int = 2500) -> float:
    """Mean silhouette (cosine) of a clustering, on a seeded sample of rows; 0 with a single cluster."""
    labels = np.asarray(labels)
    rows = np.random.default_rng(RANDOM_STATE).choice(len(labels), min(len(labels), sample), replace=False)
    if len(np.unique(labels[rows])) < 2:
        return 0.0
    with threadpool_limits(limits=1):
        return float(silhouette_score(X[rows], labels[rows], metric="cosine"))
