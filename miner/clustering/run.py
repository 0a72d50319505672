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

import functools
import logging
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Engine, bindparam, case, func, insert, select, update

from miner import db, trends
from miner.analysis.taxonomy import Taxonomy
from miner.clustering import algorithm
from miner.clustering.edits import INCIDENT_ACTIONS, incident_clusters, log_event
from miner.clustering.embeddings import get_embedder
from miner.clustering.merging import merge_similar
from miner.clustering.naming import Namer, dominant_labels
from miner.clustering.vectors import IssueVectors, embed_missing, reach_of, representation, unit
from miner.models import clusters_t, events_t, issues_t, tickets_t
from miner.progress import RunControl
from miner.vocabulary import TriageStatus

log = logging.getLogger(__name__)


MIN_NEW_CLUSTER = 5
NEIGHBOURS = 3  # a new issue far from every centre joins the cluster of its nearest reports ...
ASSIGN_QUANTILE = 0.05  # a new issue joins a cluster when it is as close as all but 5% of its members are


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
    split: int = 0  # recent incidents taken out of an older cluster into clusters of their own
    merged: int = 0  # clusters merged into another that describes the same problem
    merge_questions: int = 0  # pairs put to Claude
    llm_cost_usd: float = 0.0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _vec(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype=np.float32)


def run_clustering(
    engine: Engine,
    *,
    embeddings: str | None = None,
    namer: Namer | None = None,
    control: RunControl | None = None,
    full: bool = False,
    result: ClusterResult | None = None,
    today: date | None = None,
    taxonomy: Taxonomy | None = None,
) -> ClusterResult:
    """Cluster new issues (or all of them with `full`). `today` is the day the run counts as (a replay
    of past nights passes its own; default: the current UTC day); `taxonomy` finds the keyword evidence
    of issues analysed before it was stored with them."""
    control = control or RunControl()
    today = today or datetime.now(UTC).date()
    result = result if result is not None else ClusterResult()
    started = time.monotonic()
    embedder = get_embedder(embeddings)
    namer = namer or Namer()
    with engine.connect() as conn:
        models = set(conn.execute(select(clusters_t.c.embedding_model).where(clusters_t.c.retired.is_(False))
                                  .distinct()).scalars())
        live_clusters = conn.execute(select(func.count()).select_from(clusters_t)
                                     .where(clusters_t.c.retired.is_(False))).scalar_one()
    model = representation(embedder)
    if models - {None, model}:
        log.info("issue vectors changed to %s: re-clustering everything", model)
        full = True
    result.embedded = embed_missing(engine, embedder, control)
    vectors = IssueVectors.load(engine, embedder, taxonomy)
    result.mode = "full" if full or live_clusters == 0 else "incremental"
    if result.mode == "full":
        _full(engine, vectors, model, control, result)
    else:
        refresh_centroids(engine, vectors, model)
        _incremental(engine, vectors, model, control, result)
    result.split = split_incidents(engine, vectors.literal(), model, today)
    result.new_clusters += result.split
    control.stage("Merging clusters of the same problem")
    merges = merge_similar(engine, vectors, namer)
    result.merged, result.merge_questions = merges.merged, merges.asked
    if merges.merged:
        refresh_centroids(engine, vectors, model)
    dominant_labels(engine)
    control.stage("Naming clusters")
    result.renamed, cost = namer.name_clusters(engine, control)
    result.llm_cost_usd = round(cost + merges.cost_usd, 6)
    with engine.connect() as conn:
        result.clusters = conn.execute(select(func.count()).select_from(clusters_t)
                                       .where(clusters_t.c.retired.is_(False))).scalar_one()
        result.unclustered = conn.execute(select(func.count()).select_from(issues_t)
                                          .where(issues_t.c.cluster_id.is_(None))).scalar_one()
    result.seconds = round(time.monotonic() - started, 2)
    log.info("clustering (%s): %d embedded, %d assigned, %d new clusters, %d unclustered", result.mode,
             result.embedded, result.assigned, result.new_clusters, result.unclustered)
    return result


# --- loading ------------------------------------------------------------------------------------


def _load(engine: Engine, where: Any, vectors: IssueVectors) -> tuple[list[int], list[str], np.ndarray, list[Any]]:
    """Live issues matching `where` that have a vector: ids, summaries, vectors, rows."""
    query = (select(issues_t.c.id, issues_t.c.summary, issues_t.c.cluster_id, issues_t.c.cluster_pinned,
                    issues_t.c.ticket_created_at, issues_t.c.organization_id, issues_t.c.requester_id)
             .join(tickets_t, tickets_t.c.id == issues_t.c.ticket_id)
             .where(tickets_t.c.status != "deleted", where)
             .order_by(issues_t.c.id))
    with engine.connect() as conn:
        rows = [r for r in conn.execute(query) if r.id in vectors]
    ids = [r.id for r in rows]
    return ids, [r.summary for r in rows], vectors.of(ids), rows


def refresh_centroids(engine: Engine, vectors: IssueVectors, model: str, cluster_ids: Iterable[int] | None = None) -> None:
    """Recompute centroids and sizes from the members' vectors (all live clusters, or `cluster_ids`):
    stored centroids are a cache of this run's representation, which a person's merge or move, a new
    IDF or a new version of the representation leaves stale."""
    query = (select(issues_t.c.cluster_id, issues_t.c.id).join(clusters_t, clusters_t.c.id == issues_t.c.cluster_id)
             .where(clusters_t.c.retired.is_(False)))
    if cluster_ids is not None:
        query = query.where(issues_t.c.cluster_id.in_(list(cluster_ids)))
    members: dict[int, list[int]] = defaultdict(list)
    with engine.connect() as conn:
        for row in conn.execute(query):
            members[row.cluster_id].append(row.id)
    if not members:
        return
    now = datetime.now(UTC)
    updates = []
    for cid, ids in members.items():
        inside = [i for i in ids if i in vectors]
        centre = unit(vectors.of(inside).mean(axis=0)) if inside else None
        updates.append({"cid": cid, "size": len(ids), "now": now, "model": model,
                        "centroid": centre.astype(np.float32).tobytes() if centre is not None else None})
    with db.write_transaction(engine) as conn:
        conn.execute(update(clusters_t).where(clusters_t.c.id == bindparam("cid"))
                     .values(size=bindparam("size"), centroid=bindparam("centroid"), updated_at=bindparam("now"),
                             embedding_model=bindparam("model")), updates)


def _centroids(engine: Engine) -> tuple[list[int], np.ndarray, dict[int, int]]:
    with engine.connect() as conn:
        rows = conn.execute(select(clusters_t.c.id, clusters_t.c.centroid, clusters_t.c.size)
                            .where(clusters_t.c.retired.is_(False), clusters_t.c.centroid.is_not(None))
                            .order_by(clusters_t.c.id)).all()
    if not rows:
        return [], np.zeros((0, 0), dtype=np.float32), {}
    return [r.id for r in rows], np.vstack([_vec(r.centroid) for r in rows]), {r.id: r.size for r in rows}


# --- incremental --------------------------------------------------------------------------------


def _incremental(engine: Engine, vectors: IssueVectors, model: str, control: RunControl,
                 result: ClusterResult) -> None:
    ids, texts, X, rows = _load(engine, issues_t.c.cluster_id.is_(None), vectors)
    control.stage("Assigning new issues to clusters", total=len(ids))
    if not ids:
        return
    cluster_ids, C, sizes = _centroids(engine)
    clustered = Members.load(engine, vectors)
    radius = clustered.radius()
    labels = np.full(len(ids), -1)
    sims = np.zeros(len(ids), dtype=np.float32)
    if cluster_ids:
        labels, sims = algorithm.assign_to_centroids(X, C, clustered.join_threshold())
        # far from every centre but next to reports of one cluster: a cluster that holds several wordings
        # of a problem has its centre between them, so its rarer wordings are judged by their neighbours
        far = np.flatnonzero(labels < 0)
        if len(far):
            position = {cid: k for k, cid in enumerate(cluster_ids)}
            found, near = join_by_neighbours(X[far], clustered.vectors, clustered.clusters)
            for row, found_id, sim in zip(far, found, near, strict=True):
                if int(found_id) in position:
                    labels[row], sims[row] = position[int(found_id)], sim
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
            centre = unit(C[k] * n + X[members].sum(axis=0))
            conn.execute(update(clusters_t).where(clusters_t.c.id == cid)
                         .values(centroid=centre.astype(np.float32).tobytes(), size=n + len(members),
                                 updated_at=now))
        if len(left) >= MIN_NEW_CLUSTER:
            times = np.array([db.as_utc(rows[i].ticket_created_at).timestamp() for i in left])
            result.new_clusters = _new_clusters_from(conn, [ids[i] for i in left], [texts[i] for i in left],
                                                     X[left], times, model, now,
                                                     History.load(engine, vectors), radius)
    control.update(done=len(ids))


def _assign(conn: Any, assignments: list[dict[str, Any]], now: datetime) -> None:
    if not assignments:
        return
    conn.execute(
        update(issues_t).where(issues_t.c.id == bindparam("iid"))
        .values(cluster_id=bindparam("cid"), cluster_similarity=bindparam("sim"), updated_at=now),
        assignments,
    )


def _new_clusters_from(conn: Any, ids: list[int], texts: list[str], X: np.ndarray, times: np.ndarray,
                       model: str, now: datetime, history: History, radius: float | None) -> int:
    """Form clusters only from dense groups of leftovers; returns how many were created. A group whose
    problem was reported before (its earlier reports went elsewhere) remembers when (`seen_before`)."""
    labels = algorithm.cluster_by_linkage(X, texts)
    created = 0
    names = algorithm.keyphrases(texts, labels)
    for label in sorted(set(int(x) for x in labels)):
        members = np.flatnonzero(labels == label)
        if len(members) < MIN_NEW_CLUSTER:
            continue
        centre = unit(X[members].mean(axis=0))
        sims = X[members] @ centre
        if float(np.median(sims)) < (radius if radius is not None else algorithm.DENSE_GROUP_MEDIAN):
            continue  # looser than a typical cluster: leave its issues unclustered for now
        cid = _create_cluster(conn, names.get(label) or texts[members[0]], centre, len(members), model, now,
                              seen_before=history.seen_before(centre, sims, float(times[members].min()),
                                                              float(times[members].max()), radius))
        _assign(conn, [{"iid": ids[i], "cid": cid, "sim": float(s)} for i, s in zip(members, sims, strict=True)], now)
        created += 1
    return created


def _create_cluster(conn: Any, name: str, centre: np.ndarray, size: int, model: str, now: datetime, *,
                    seen_before: datetime | None = None) -> int:
    cid = int(conn.execute(insert(clusters_t).values(
        name=name[:120], summary=None, name_source="offline", name_pinned=False, named_size=0, seen_before=seen_before,
        retired=False, size=size, centroid=centre.astype(np.float32).tobytes(), embedding_model=model,
        triage_status=TriageStatus.NEW, created_at=now, updated_at=now, issue_count=0, ticket_count=0,
        customer_count=0, count_7d=0, count_prev_7d=0, active=False, emerging=False, severity_mix={},
    )).inserted_primary_key[0])
    log_event(conn, cid, "created", {"size": size, **({"seen_before": seen_before.isoformat()} if seen_before else {})},
              None)
    return cid


# --- new incidents inside old clusters --------------------------------------------------------------


RECENT_DAYS = 7  # "recent" issues: tickets of the last week
RECENT_SPANS = (1, 2, 3, 5, RECENT_DAYS)  # the time windows incidents are searched in, in days back from today
MIN_INCIDENT = 4  # issues an incident needs before it gets a cluster of its own ...
MIN_INCIDENT_CUSTOMERS = 3  # ... from at least this many customers
NEW_RATE_SHARE = 0.2  # a new problem: before this week, at most this share of its current weekly rate ...
NEW_P_VALUE = 1e-6  # ... and this week's count would be very unlikely at the rate it had before (every night
# searches many candidate groups: at 0.001, chance alone made a false "new problem" most weeks of the demo)
INCIDENT_HOME_SHARE = 2 / 3  # a new incident has most of its reports in one cluster (or none yet)


@dataclass(frozen=True)
class Incident:
    """A dense group of recent issues that is a new problem."""

    members: list[int]  # row indices into the recent issues
    centre: np.ndarray
    similarity: np.ndarray  # each member's to the centre
    before: int  # earlier issues as close to the seed as its members (reports of it before its span)
    span: int  # the days it was found in
    p_value: float  # its count's probability at the earlier rate


@dataclass
class Members:
    """The issues in live clusters: their vectors and cluster ids, from which this corpus's scale-free
    thresholds are measured."""

    vectors: np.ndarray
    clusters: np.ndarray

    @classmethod
    def load(cls, engine: Engine, vectors: IssueVectors) -> Members:
        query = (select(issues_t.c.id, issues_t.c.cluster_id)
                 .join(clusters_t, clusters_t.c.id == issues_t.c.cluster_id)
                 .where(clusters_t.c.retired.is_(False)).order_by(issues_t.c.id))
        with engine.connect() as conn:
            rows = [r for r in conn.execute(query) if r.id in vectors]
        if not rows:
            return cls(np.zeros((0, vectors.dim), dtype=np.float32), np.zeros(0, dtype=np.int64))
        return cls(vectors.of([r.id for r in rows]), np.array([r.cluster_id for r in rows], dtype=np.int64))

    @functools.cached_property
    def spreads(self) -> list[np.ndarray]:
        """For each cluster of 10 or more issues: its members' similarities to its centroid."""
        out = []
        for cid in np.unique(self.clusters):
            V = self.vectors[self.clusters == cid]
            if len(V) >= 10:
                out.append(V @ unit(V.mean(axis=0)))
        return out

    def radius(self) -> float | None:
        """See `corpus_radius`."""
        quartiles = [float(np.quantile(sims, 0.25)) for sims in self.spreads]
        return float(np.median(quartiles)) if quartiles else None

    def join_threshold(self) -> float:
        """See `assign_threshold`."""
        if not self.spreads:
            return algorithm.ASSIGN_THRESHOLD
        return float(np.quantile(np.concatenate(self.spreads), ASSIGN_QUANTILE))


def join_by_neighbours(X: np.ndarray, M: np.ndarray, clusters: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each row of `X`: the cluster that most of its NEIGHBOURS nearest clustered issues (`M`, in
    `clusters`) belong to, when at least two of them do and they are as close to it as three quarters of
    this corpus's members are to their nearest fellow member; else -1. Returns (clusters, mean similarity
    to those neighbours)."""
    out, sims = np.full(len(X), -1, dtype=np.int64), np.zeros(len(X), dtype=np.float32)
    if len(M) <= NEIGHBOURS or len(X) == 0:
        return out, sims
    floor = _neighbour_floor(M, clusters)
    for start in range(0, len(X), 512):
        S = X[start:start + 512] @ M.T
        top = np.argsort(-S, axis=1)[:, :NEIGHBOURS]
        for row, idx in enumerate(top):
            values, counts = np.unique(clusters[idx], return_counts=True)
            if counts.max() < 2:
                continue
            cid = values[np.argmax(counts)]
            near = S[row, idx[clusters[idx] == cid]]
            if float(near.mean()) >= floor:
                out[start + row], sims[start + row] = cid, float(near.mean())
    return out, sims


def _neighbour_floor(M: np.ndarray, clusters: np.ndarray, sample: int = 2000) -> float:
    """The lower quartile, over (a sample of) clustered issues, of the similarity to their nearest fellow
    member: how close "next to a report of the same problem" is on this corpus and embedder."""
    rows = np.random.default_rng(0).choice(len(M), min(len(M), sample), replace=False)
    S = M[rows] @ M.T
    S[np.arange(len(rows)), rows] = -np.inf  # not itself
    S[clusters[rows][:, None] != clusters[None, :]] = -np.inf
    best = S.max(axis=1)
    best = best[np.isfinite(best)]
    return float(np.quantile(best, 0.25)) if len(best) else 1.0


def corpus_radius(engine: Engine, vectors: IssueVectors) -> float | None:
    """How far a typical cluster's members spread around their centre on this corpus and embedder: the
    median over clusters (of 10 or more issues) of the similarity their lower quartile of members has
    to the centroid. None with no such cluster yet. Scale-free thresholds are taken relative to it."""
    return Members.load(engine, vectors).radius()


def assign_threshold(engine: Engine, vectors: IssueVectors) -> float:
    """The similarity a new issue needs to join its nearest cluster, calibrated on this corpus: as close as
    all but ASSIGN_QUANTILE of the current members are to their own centroid. A fixed figure suits one
    embedder and representation only (on the demo's issue vectors 0.60 left a third of new issues out,
    though 78% of those belonged to their nearest cluster). Before any cluster has 10 members:
    ``algorithm.ASSIGN_THRESHOLD``."""
    return Members.load(engine, vectors).join_threshold()


def find_incidents(R: np.ndarray, customers: list[Any], ages: np.ndarray, older: np.ndarray, older_days: float,
                   radius: float) -> list[Incident]:
    """New problems among recent issues (vectors `R`, from `customers`, `ages` whole days before today),
    against `older` issues seen over `older_days` days before the recent window: a prospective space-time
    scan (as disease surveillance finds outbreaks), with similarity for space.

    Every recent issue is the seed of growing windows: for each time span of RECENT_SPANS, its k nearest
    issues of that span (k from MIN_INCIDENT), reaching out to similarity tau, the k-th one's. A window
    counts the issues before its span within the same tau of the seed (or within `radius`, a typical
    cluster's reach, when tau is tighter: five reports worded alike are not new if the problem is old).
    It is an incident when
    - dense: its median member is as close to the window's centre as a typical cluster's lower quartile
      is to its own (`radius`), and it holds MIN_INCIDENT issues from MIN_INCIDENT_CUSTOMERS customers;
    - new: the earlier issues came in at under NEW_RATE_SHARE of the span's rate, and the span's count
      would have a probability under NEW_P_VALUE (shared among the spans) at that earlier rate (Poisson,
      with half an issue of prior).
    The most significant window wins; its issues are taken out and the scan goes on with the rest.
    No partition of the week's issues is needed, so four reports of a new crash are found even while a
    clustering of the week would still fold them into a bigger, older group; and the short spans find
    them while they are still days old, before a week's worth of look-alikes dilutes them.
    """
    n = len(R)
    if n < MIN_INCIDENT:
        return []
    S = R @ R.T
    behind = np.sort(older @ R.T, axis=0)[::-1].T if len(older) else np.zeros((n, 0))  # per seed, descending
    free = np.ones(n, dtype=bool)
    found: list[Incident] = []
    while free.sum() >= MIN_INCIDENT:
        best: tuple[float, list[int], int, int] | None = None
        for seed in np.flatnonzero(free):
            for span in RECENT_SPANS:
                if ages[seed] >= span:
                    continue
                inside = free & (ages < span)
                if inside.sum() < MIN_INCIDENT:
                    continue
                earlier = S[seed, ages >= span]  # this week's issues before the span: reports of it before too
                order = [int(j) for j in np.argsort(-S[seed], kind="stable") if inside[j]]
                sims = S[seed, order]
                for k in range(MIN_INCIDENT, len(order) + 1):
                    tau = float(sims[k - 1])
                    if tau < radius * radius:
                        break  # pairs this far apart: the window's members are looser than a typical cluster's
                    # Earlier reports count out to tau, or to a typical cluster's reach if tau is tighter: a
                    # burst of one wording (customers quoting the same error message) of an old problem is not
                    # new. (The 1e-6: an older report worded like the window's edge member is at the same
                    # similarity, which two matrix products may round differently.)
                    reach = min(tau, radius) - 1e-6
                    before = int(np.searchsorted(-behind[seed], -reach, side="right")) if behind.shape[1] else 0
                    before += int((earlier >= reach).sum())
                    before_days = older_days + RECENT_DAYS - span
                    if not is_new_problem(k, span, before, before_days, tests=len(RECENT_SPANS)):
                        continue
                    if len({customers[j] for j in order[:k]}) < MIN_INCIDENT_CUSTOMERS:
                        continue
                    window = R[order[:k]]
                    if float(np.median(window @ unit(window.mean(axis=0)))) < radius:
                        continue  # as tight around its centre as a typical cluster's members are
                    p = trends.poisson_sf(k, (before + 0.5) / max(before_days, 1.0) * span)
                    if best is None or p < best[0]:
                        best = (p, order[:k], before, span)
        if best is None:
            break
        p, group, before, span = best
        centre = unit(R[group].mean(axis=0))
        # found in its span; its other reports of the week, as close to its centre as its own, belong to it
        near = free & (R @ centre >= reach_of(R[group] @ centre, radius))
        members = sorted(set(group) | {int(j) for j in np.flatnonzero(near)})
        centre = unit(R[members].mean(axis=0))
        found.append(Incident(members, centre, R[members] @ centre, before, span, p))
        free[members] = False
    return found


def is_new_problem(count: int, days: float, before: int, before_days: float, *, tests: int = 1) -> bool:
    """`count` reports in `days` days is a new problem if the `before_days` days before brought `before`
    reports of it: under NEW_RATE_SHARE of the current rate, and so few that `count` would have a
    probability under NEW_P_VALUE / `tests` at the old rate (Poisson, with half a report of prior)."""
    before_days = max(before_days, 1.0)
    if before / before_days * days >= NEW_RATE_SHARE * count:
        return False  # reported before at a similar rate: more of an old problem
    return trends.poisson_sf(count, (before + 0.5) / before_days * days) < NEW_P_VALUE / tests


@dataclass
class History:
    """Every live issue's vector and ticket time, to ask whether a group's problem was reported before."""

    vectors: np.ndarray
    times: np.ndarray  # epoch seconds of the issue's ticket

    @classmethod
    def load(cls, engine: Engine, vectors: IssueVectors) -> History:
        query = (select(issues_t.c.id, issues_t.c.ticket_created_at)
                 .join(tickets_t, tickets_t.c.id == issues_t.c.ticket_id).where(tickets_t.c.status != "deleted"))
        with engine.connect() as conn:
            rows = [r for r in conn.execute(query) if r.id in vectors]
        if not rows:
            return cls(np.zeros((0, 0), dtype=np.float32), np.zeros(0))
        return cls(vectors.of([r.id for r in rows]),
                   np.array([db.as_utc(r.ticket_created_at).timestamp() for r in rows]))

    def seen_before(self, centre: np.ndarray, own: np.ndarray, first: float, last: float,
                    radius: float | None) -> datetime | None:
        """When a group (members' similarities `own` to `centre`, tickets from `first` to `last`) was first
        reported, if earlier reports make it an old problem rather than a new one; else None."""
        if radius is None or not len(self.times):
            return None
        older = self.times < first
        if not older.any():
            return None
        hits = older & (self.vectors @ centre >= reach_of(own, radius))
        days = max(RECENT_DAYS, (last - first) / 86400)
        if is_new_problem(len(own), days, int(hits.sum()), (first - float(self.times.min())) / 86400):
            return None
        return datetime.fromtimestamp(float(self.times[hits].min()), UTC) if hits.any() else None


def split_incidents(engine: Engine, vectors: IssueVectors, model: str, today: date) -> int:
    """Gather each new incident into a cluster of its own; returns how many clusters were made.

    A new problem first lands in the clusters of older ones it resembles (an iPhone crash on clock-in in
    "clock-in problems" and "app problems"). So every night the issues of the last RECENT_DAYS days are
    searched for incidents (`find_incidents`), whatever cluster they are in. Each becomes a cluster of its
    own, named from its own members, which trend detection then sees as new; the clusters its issues
    leave keep their ids and their older issues. An incident that already has its cluster gathers its
    new reports there. Issues a person placed stay where they are.
    """
    since = datetime.combine(today - timedelta(days=RECENT_DAYS - 1), datetime.min.time(), UTC)
    radius = corpus_radius(engine, vectors)
    if radius is None:
        return 0
    _, _, R, recent = _load(engine, issues_t.c.ticket_created_at >= since, vectors)
    keep = [i for i, r in enumerate(recent) if not r.cluster_pinned]
    R, recent = R[keep], [recent[i] for i in keep]
    if len(recent) < MIN_INCIDENT:
        return 0
    _, _, old_vectors, older = _load(engine, issues_t.c.ticket_created_at < since, vectors)
    with engine.connect() as conn:
        recent_share = case((issues_t.c.ticket_created_at >= since, 1.0), else_=0.0)
        young_share = dict(conn.execute(  # share of each cluster's issues that are from this week
            select(issues_t.c.cluster_id, func.avg(recent_share)).where(issues_t.c.cluster_id.is_not(None))
            .group_by(issues_t.c.cluster_id)).all())
    if not older:
        return 0  # no history yet: everything is "new"
    first = min(db.as_utc(r.ticket_created_at) for r in older)
    ages = np.array([(today - db.as_utc(r.ticket_created_at).date()).days for r in recent])
    incidents = find_incidents(
        R, [r.organization_id if r.organization_id is not None else f"u{r.requester_id}" for r in recent],
        ages, old_vectors, (since - first).total_seconds() / 86400, radius)
    made = 0
    now = datetime.now(UTC)
    with engine.connect() as conn:
        marked = incident_clusters(conn, now - timedelta(days=2 * RECENT_DAYS))
    for incident in incidents:
        group = incident.members
        homes = Counter(recent[i].cluster_id for i in group)
        young = [(n, c) for c, n in homes.items() if c is not None and n * 3 >= len(group)
                 and young_share.get(c, 0.0) >= 0.5]  # a cluster of this week's issues: the incident's own
        target = max(young)[1] if young else _earlier_split(engine, incident, radius, since)
        if target is not None and target not in marked:
            # its own cluster formed without a split (a first full clustering, or leftovers gathered on a
            # night): mark it, so merging keeps it apart from the older problem it resembles
            with db.write_transaction(engine) as conn:
                log_event(conn, target, "incident", {"issues": len(group), "days": incident.span,
                                                     "reported_before": incident.before}, None)
            marked.add(target)
        if target is not None and homes[target] == len(group):
            continue  # already a cluster of its own
        placed = [n for c, n in homes.items() if c is not None]
        if target is None and placed and max(placed) < INCIDENT_HOME_SHARE * sum(placed):
            # this week's look-alikes from several clusters: chance resemblance among the many groups
            # searched every night, not a new problem arriving in the one place its reports land
            continue
        with db.write_transaction(engine) as conn:
            new_id = target if target is not None else _create_cluster(
                conn, recent[group[0]].summary, incident.centre, len(group), model, now)
            _assign(conn, [{"iid": recent[i].id, "cid": new_id, "sim": float(s)}
                           for i, s in zip(group, incident.similarity, strict=True)], now)
            for cid in {c for c in homes if c is not None and c != new_id}:
                log_event(conn, cid, "split", {"into": new_id, "issues": homes[cid],
                                               "reason": "a new problem among the last week's issues"}, None)
            if target is None:
                log_event(conn, new_id, "split_from", {"clusters": sorted(c for c in homes if c is not None),
                                                       "issues": len(group), "reported_before": incident.before},
                          None)
        refresh_centroids(engine, vectors, model, {new_id, *(c for c in homes if c is not None)})
        made += target is None
        log.info("gathered %d recent issues of the last %d days (from clusters %s; %d earlier look-alikes, p=%.1e) "
                 "into cluster %s", len(group), incident.span, dict(homes), incident.before, incident.p_value, new_id)
    return made


def _earlier_split(engine: Engine, incident: Incident, radius: float, since: datetime) -> int | None:
    """The cluster an earlier night split out for this same incident, if any: one split out within the last
    2 * RECENT_DAYS whose centre is as close to this group's centre as the group's own members are. (Its
    later reports in other words can land in an older cluster again and be found there.)"""
    with engine.connect() as conn:
        rows = conn.execute(select(clusters_t.c.id, clusters_t.c.centroid).join(
            events_t, events_t.c.cluster_id == clusters_t.c.id).where(
            events_t.c.action.in_(INCIDENT_ACTIONS), events_t.c.created_at >= since - timedelta(days=RECENT_DAYS),
            clusters_t.c.retired.is_(False), clusters_t.c.centroid.is_not(None))).all()
    if not rows:
        return None
    sims = np.vstack([_vec(r.centroid) for r in rows]) @ incident.centre
    best = int(np.argmax(sims))
    return int(rows[best].id) if sims[best] >= reach_of(incident.similarity, radius) else None


# --- full re-cluster ----------------------------------------------------------------------------


def _full(engine: Engine, vectors: IssueVectors, model: str, control: RunControl, result: ClusterResult) -> None:
    ids, texts, X, rows = _load(engine, issues_t.c.id.is_not(None), vectors)
    control.stage("Clustering all issues", total=len(ids), message=f"{len(ids)} issues")
    if not ids:
        return
    labels = algorithm.cluster_by_linkage(X, texts)
    control.check()
    old = np.array([r.cluster_id if r.cluster_id is not None else -1 for r in rows])
    now = datetime.now(UTC)
    history, radius = History.load(engine, vectors), corpus_radius(engine, vectors)
    times = np.array([db.as_utc(r.ticket_created_at).timestamp() for r in rows])
    with engine.connect() as conn:
        # a recent incident keeps its cluster: re-clustering everything would fold it back into the
        # older problems it resembles, which is what splitting it out undid
        incidents = incident_clusters(conn, now - timedelta(days=2 * RECENT_DAYS))
        live = {r.id: r for r in conn.execute(select(clusters_t).where(clusters_t.c.retired.is_(False)))}
        merge_targets = set(conn.execute(select(clusters_t.c.merged_into)
                                         .where(clusters_t.c.merged_into.is_not(None))).scalars())
        edited = set(conn.execute(select(events_t.c.cluster_id).where(events_t.c.author.is_not(None))).scalars())
    pinned = np.array([bool(r.cluster_pinned) or (r.cluster_id in incidents and r.cluster_id in live) for r in rows])
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
                centre = unit(X[members].mean(axis=0))
                cid = _create_cluster(conn, names.get(label) or texts[members[0]], centre, len(members),
                                      model, now, seen_before=history.seen_before(
                                          centre, X[members] @ centre, float(times[members].min()),
                                          float(times[members].max()), radius))
                result.new_clusters += 1
            final[members] = cid
        final[pinned] = old[pinned]  # human moves win
        used = set(int(c) for c in final if c >= 0)
        centres: dict[int, np.ndarray] = {}
        for cid in used:
            members = np.flatnonzero(final == cid)
            centres[cid] = unit(X[members].mean(axis=0))
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
                embedding_model=model, updated_at=now))
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
