"""Clustering in the database: embed new issues, keep cluster ids stable, respect human edits.

Nightly (incremental) update:
1. embed issues that have no stored embedding (only new issues are embedded);
2. assign each unclustered issue to the nearest cluster centroid when the cosine similarity clears
   ASSIGN_THRESHOLD; existing members never move;
3. cluster the leftovers and keep only dense groups (>= MIN_NEW_CLUSTER issues, tight around their
   centre) as new clusters; the rest wait for company;
4. name new clusters, and rename clusters that grew a lot since they were named (unless pinned).

Full re-cluster (weekly, or on request): cluster every issue from scratch, then map the new groups onto
the old ids by overlap so ids, names, triage status and notes survive. Issues a human moved stay
where they were put; clusters a human merged stay merged.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import Counter, defaultdict
from collections.abc import Set as AbstractSet
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import Engine, Table, bindparam, func, insert, select, update

from miner import db
from miner.clustering import algorithm
from miner.clustering.edits import log_event
from miner.clustering.embeddings import Embedder, get_embedder
from miner.clustering.naming import Namer, dominant_labels
from miner.models import Cluster, ClusterEvent, Issue, IssueEmbedding, Ticket
from miner.progress import RunControl

log = logging.getLogger(__name__)

issues_t: Table = Issue.__table__  # type: ignore[assignment]
tickets_t: Table = Ticket.__table__  # type: ignore[assignment]
emb_t: Table = IssueEmbedding.__table__  # type: ignore[assignment]
clusters_t: Table = Cluster.__table__  # type: ignore[assignment]
events_t: Table = ClusterEvent.__table__  # type: ignore[assignment]

EMBED_CHUNK = 2000
# Chosen on the demo dataset's ground truth (ARI of clusters vs true issues, offline analyzer):
# area weight 0.5 -> 0.34, 0.7 -> 0.42, 0.9 -> 0.49; 400 characters of detail beat 160.
AREA_WEIGHT = 0.9
DETAIL_CHARS = 400
MIN_NEW_CLUSTER = 5
RENAME_GROWTH = 1.5  # rename when a cluster is 1.5x the size it had when it was named


@dataclass
class ClusterResult:
    mode: str = "incremental"
    embedded: int = 0
    assigned: int = 0
    new_clusters: int = 0
    unclustered: int = 0
    clusters: int = 0
    renamed: int = 0
    retired: int = 0
    llm_cost_usd: float = 0.0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def issue_text(summary: str, detail: str | None) -> str:
    """What gets embedded: the normalised summary, with the start of the detail for context."""
    detail = (detail or "").strip()
    if not detail or detail.lower().startswith(summary.lower()[:40]):
        return summary
    return f"{summary}. {detail[:DETAIL_CHARS]}"


def area_vector(area: str, dim: int) -> np.ndarray:
    """A fixed pseudo-random unit vector per product area (`category.subcategory`).

    Added to an issue's text embedding with weight AREA_WEIGHT, it raises the similarity of two
    issues of the same area by about AREA_WEIGHT**2 and leaves other pairs alone (random directions
    in hundreds of dimensions are nearly orthogonal): different wordings of one problem come
    together, while the text still separates different problems of one area.
    """
    seed = int.from_bytes(hashlib.sha256(area.encode()).digest()[:8], "little")
    v = np.random.default_rng(seed).standard_normal(dim).astype(np.float32)
    return v / np.linalg.norm(v)


def _vec(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype=np.float32)


def _unit(v: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    return v / n if n > 0 else v


def run_clustering(
    engine: Engine,
    *,
    embeddings: str | None = None,
    namer: Namer | None = None,
    control: RunControl | None = None,
    full: bool = False,
    result: ClusterResult | None = None,
) -> ClusterResult:
    control = control or RunControl()
    result = result if result is not None else ClusterResult()
    started = time.monotonic()
    embedder = get_embedder(embeddings)
    namer = namer or Namer()
    with engine.connect() as conn:
        models = set(conn.execute(select(clusters_t.c.embedding_model).where(clusters_t.c.retired.is_(False))
                                  .distinct()).scalars())
        live_clusters = conn.execute(select(func.count()).select_from(clusters_t)
                                     .where(clusters_t.c.retired.is_(False))).scalar_one()
    if models - {None, embedder.name}:
        log.info("embedding model changed to %s: re-embedding and re-clustering everything", embedder.name)
        full = True
    result.embedded = embed_missing(engine, embedder, control)
    result.mode = "full" if full or live_clusters == 0 else "incremental"
    if result.mode == "full":
        _full(engine, embedder, control, result)
    else:
        _incremental(engine, embedder, control, result)
    dominant_labels(engine)
    control.stage("Naming clusters")
    result.renamed, cost = namer.name_clusters(engine, control)
    result.llm_cost_usd = round(cost, 6)
    with engine.connect() as conn:
        result.clusters = conn.execute(select(func.count()).select_from(clusters_t)
                                       .where(clusters_t.c.retired.is_(False))).scalar_one()
        result.unclustered = conn.execute(select(func.count()).select_from(issues_t)
                                          .where(issues_t.c.cluster_id.is_(None))).scalar_one()
    result.seconds = round(time.monotonic() - started, 2)
    log.info("clustering (%s): %d embedded, %d assigned, %d new clusters, %d unclustered", result.mode,
             result.embedded, result.assigned, result.new_clusters, result.unclustered)
    return result


# --- embeddings ---------------------------------------------------------------------------------


def embed_missing(engine: Engine, embedder: Embedder, control: RunControl) -> int:
    """Embed issues without a stored vector from this model; returns how many were embedded."""
    query = (select(issues_t.c.id, issues_t.c.summary, issues_t.c.detail, issues_t.c.category,
                    issues_t.c.subcategory)
             .outerjoin(emb_t, emb_t.c.issue_id == issues_t.c.id)
             .where((emb_t.c.issue_id.is_(None)) | (emb_t.c.model != embedder.name))
             .order_by(issues_t.c.id))
    with engine.connect() as conn:
        todo = conn.execute(query).all()
    control.stage("Embedding issues", total=len(todo), message=embedder.name)
    for start in range(0, len(todo), EMBED_CHUNK):
        control.check()
        chunk = todo[start:start + EMBED_CHUNK]
        vectors = embedder.embed([issue_text(r.summary, r.detail) for r in chunk]).astype(np.float32)
        for i, r in enumerate(chunk):
            vectors[i] = _unit(vectors[i] + AREA_WEIGHT * area_vector(f"{r.category}.{r.subcategory}", vectors.shape[1]))
        rows = [{"issue_id": r.id, "model": embedder.name, "vector": v.tobytes()} for r, v in zip(chunk, vectors, strict=True)]
        with db.write_transaction(engine) as conn:
            db.upsert(conn, emb_t, rows, key=["issue_id"], update=["model", "vector"])
        control.update(done=start + len(chunk))
    return len(todo)


def _load(engine: Engine, where: Any) -> tuple[list[int], list[str], np.ndarray, list[Any]]:
    query = (select(issues_t.c.id, issues_t.c.summary, issues_t.c.cluster_id, issues_t.c.cluster_pinned,
                    emb_t.c.vector)
             .join(emb_t, emb_t.c.issue_id == issues_t.c.id)
             .join(tickets_t, tickets_t.c.id == issues_t.c.ticket_id)
             .where(tickets_t.c.status != "deleted", where)
             .order_by(issues_t.c.id))
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    if not rows:
        return [], [], np.zeros((0, 0), dtype=np.float32), []
    X = np.vstack([_vec(r.vector) for r in rows])
    return [r.id for r in rows], [r.summary for r in rows], X, list(rows)


def _centroids(engine: Engine) -> tuple[list[int], np.ndarray, dict[int, int]]:
    with engine.connect() as conn:
        rows = conn.execute(select(clusters_t.c.id, clusters_t.c.centroid, clusters_t.c.size)
                            .where(clusters_t.c.retired.is_(False), clusters_t.c.centroid.is_not(None))
                            .order_by(clusters_t.c.id)).all()
    if not rows:
        return [], np.zeros((0, 0), dtype=np.float32), {}
    return [r.id for r in rows], np.vstack([_vec(r.centroid) for r in rows]), {r.id: r.size for r in rows}


# --- incremental --------------------------------------------------------------------------------


def _incremental(engine: Engine, embedder: Embedder, control: RunControl, result: ClusterResult) -> None:
    ids, texts, X, _ = _load(engine, issues_t.c.cluster_id.is_(None))
    control.stage("Assigning new issues to clusters", total=len(ids))
    if not ids:
        return
    cluster_ids, C, sizes = _centroids(engine)
    labels = np.full(len(ids), -1)
    sims = np.zeros(len(ids), dtype=np.float32)
    if cluster_ids:
        labels, sims = algorithm.assign_to_centroids(X, C, algorithm.ASSIGN_THRESHOLD)
    now = datetime.now(UTC)
    assignments = [{"iid": ids[i], "cid": cluster_ids[labels[i]], "sim": float(sims[i])}
                   for i in range(len(ids)) if labels[i] >= 0]
    result.assigned = len(assignments)
    left = [i for i in range(len(ids)) if labels[i] < 0]
    with db.write_transaction(engine) as conn:
        _assign(conn, assignments, now)
        # centroids move with their new members (a running mean, renormalised)
        grouped: dict[int, list[int]] = defaultdict(list)
        for i in range(len(ids)):
            if labels[i] >= 0:
                grouped[int(labels[i])].append(i)
        for k, members in grouped.items():
            cid = cluster_ids[k]
            n = sizes.get(cid, 0)
            centre = _unit(C[k] * n + X[members].sum(axis=0))
            conn.execute(update(clusters_t).where(clusters_t.c.id == cid)
                         .values(centroid=centre.astype(np.float32).tobytes(), size=n + len(members),
                                 updated_at=now))
        if len(left) >= MIN_NEW_CLUSTER:
            result.new_clusters = _new_clusters_from(conn, [ids[i] for i in left], [texts[i] for i in left],
                                                     X[left], embedder, now)
    control.update(done=len(ids))


def _assign(conn: Any, assignments: list[dict[str, Any]], now: datetime) -> None:
    if not assignments:
        return
    conn.execute(
        update(issues_t).where(issues_t.c.id == bindparam("iid"))
        .values(cluster_id=bindparam("cid"), cluster_similarity=bindparam("sim"), updated_at=now),
        assignments,
    )


def _new_clusters_from(conn: Any, ids: list[int], texts: list[str], X: np.ndarray, embedder: Embedder,
                       now: datetime) -> int:
    """Form clusters only from dense groups of leftovers; returns how many were created."""
    labels = algorithm.cluster_vectors(X, texts)
    created = 0
    names = algorithm.keyphrases(texts, labels)
    for label in sorted(set(int(x) for x in labels)):
        members = np.flatnonzero(labels == label)
        if len(members) < MIN_NEW_CLUSTER:
            continue
        centre = _unit(X[members].mean(axis=0))
        sims = X[members] @ centre
        if float(np.median(sims)) < algorithm.DENSE_GROUP_MEDIAN:
            continue  # a loose group: leave its issues unclustered for now
        cid = _create_cluster(conn, names.get(label) or texts[members[0]], centre, len(members),
                              embedder.name, now)
        _assign(conn, [{"iid": ids[i], "cid": cid, "sim": float(s)} for i, s in zip(members, sims, strict=True)], now)
        created += 1
    return created


def _create_cluster(conn: Any, name: str, centre: np.ndarray, size: int, model: str, now: datetime) -> int:
    cid = int(conn.execute(insert(clusters_t).values(
        name=name[:120], summary=None, name_source="offline", name_pinned=False, named_size=0,
        retired=False, size=size, centroid=centre.astype(np.float32).tobytes(), embedding_model=model,
        triage_status="new", created_at=now, updated_at=now, issue_count=0, ticket_count=0,
        customer_count=0, count_7d=0, count_prev_7d=0, active=False, emerging=False, severity_mix={},
    )).inserted_primary_key[0])
    log_event(conn, cid, "created", {"size": size}, None)
    return cid


# --- full re-cluster ----------------------------------------------------------------------------


def _full(engine: Engine, embedder: Embedder, control: RunControl, result: ClusterResult) -> None:
    ids, texts, X, rows = _load(engine, issues_t.c.id.is_not(None))
    control.stage("Clustering all issues", total=len(ids), message=f"{len(ids)} issues")
    if not ids:
        return
    labels = algorithm.cluster_vectors(X, texts)
    control.check()
    old = np.array([r.cluster_id if r.cluster_id is not None else -1 for r in rows])
    pinned = np.array([bool(r.cluster_pinned) for r in rows])
    now = datetime.now(UTC)
    with engine.connect() as conn:
        live = {r.id: r for r in conn.execute(select(clusters_t).where(clusters_t.c.retired.is_(False)))}
        merge_targets = set(conn.execute(select(clusters_t.c.merged_into)
                                         .where(clusters_t.c.merged_into.is_not(None))).scalars())
        edited = set(conn.execute(select(events_t.c.cluster_id).where(events_t.c.author.is_not(None))).scalars())
    mapping = map_labels(labels, old, live_ids=set(live), sticky=merge_targets, priority=edited)
    names = algorithm.keyphrases(texts, labels)
    final = np.full(len(ids), -1)
    with db.write_transaction(engine) as conn:
        for label in sorted(set(int(x) for x in labels)):
            members = np.flatnonzero((labels == label) & ~pinned)
            if len(members) == 0:
                continue
            cid = mapping.get(label)
            if cid is None:
                if len(members) < MIN_NEW_CLUSTER:
                    continue  # too small to be a cluster of its own
                cid = _create_cluster(conn, names.get(label) or texts[members[0]], _unit(X[members].mean(axis=0)),
                                      len(members), embedder.name, now)
                result.new_clusters += 1
            final[members] = cid
        final[pinned] = old[pinned]  # human moves win
        used = set(int(c) for c in final if c >= 0)
        centres: dict[int, np.ndarray] = {}
        for cid in used:
            members = np.flatnonzero(final == cid)
            centres[cid] = _unit(X[members].mean(axis=0))
        updates = []
        for i, cid in enumerate(final):
            if cid != old[i]:
                sim = float(X[i] @ centres[int(cid)]) if cid >= 0 else None
                updates.append({"iid": ids[i], "cid": int(cid) if cid >= 0 else None, "sim": sim})
        if updates:
            conn.execute(update(issues_t).where(issues_t.c.id == bindparam("iid"))
                         .values(cluster_id=bindparam("cid"), cluster_similarity=bindparam("sim"), updated_at=now),
                         updates)
        result.assigned = int((final >= 0).sum())
        for cid, centre in centres.items():
            conn.execute(update(clusters_t).where(clusters_t.c.id == cid).values(
                centroid=centre.astype(np.float32).tobytes(), size=int((final == cid).sum()),
                embedding_model=embedder.name, updated_at=now))
        for cid in set(live) - used:  # no issue maps to it any more
            conn.execute(update(clusters_t).where(clusters_t.c.id == cid)
                         .values(retired=True, size=0, updated_at=now))
            log_event(conn, cid, "retired", {"reason": "no issues after a full re-cluster"}, None)
            result.retired += 1
    control.update(done=len(ids))


def map_labels(labels: np.ndarray, old: np.ndarray, *, live_ids: AbstractSet[int],
               sticky: AbstractSet[int] = frozenset(), priority: AbstractSet[int] = frozenset()) -> dict[int, int]:
    """Map new labels onto old cluster ids by member overlap.

    Greedy on overlap size (human-edited clusters first): a new label takes the old id it shares the
    most issues with, if that old id is still free and the overlap is at least half of the new group
    or of the old cluster. A `sticky` old id (the target of a human merge) may absorb several new
    groups, so a merge is never undone by the algorithm splitting it again.
    """
    pairs = Counter((int(n), int(o)) for n, o in zip(labels, old, strict=True) if o >= 0 and int(o) in live_ids)
    new_sizes = Counter(int(x) for x in labels)
    old_sizes = Counter(int(o) for o in old if o >= 0)
    ranked = sorted(pairs.items(), key=lambda kv: (kv[0][1] not in priority, -kv[1], kv[0]))
    mapping: dict[int, int] = {}
    taken: set[int] = set()
    for (new, old_id), overlap in ranked:
        if new in mapping or (old_id in taken and old_id not in sticky):
            continue
        if overlap * 2 >= new_sizes[new] or overlap * 2 >= old_sizes[old_id]:
            mapping[new] = old_id
            taken.add(old_id)
    return mapping
