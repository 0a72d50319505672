"""Merging clusters that describe the same problem, after every clustering run.

Two clusters are compared by how alike they are *relative to how alike their own members are*, on
corpus-centred vectors (the mean of the cluster centroids removed, so what every issue shares does not
count):

    ratio(A, B) = mean similarity between A's and B's members / sqrt(within(A) * within(B))

where within(C) is the mean similarity between two different members of C. Two random halves of one
problem score about 1, unrelated problems about 0, whatever the embedder's similarity scale, because both
the numerator and the denominator are measured in it.

Two *wordings* of one problem ("charged twice" / "double charge on our card") score well below 1, though:
each cluster is tight around its own wording, so its `within` is high. How far below depends on the
representation and the corpus, so the offline rule is calibrated on the corpus itself: every cluster of
at least 2 * MIN_SIZE issues is cut into its two most separated halves (2-means from the principal axis),
and the ratio between those halves says how unlike two parts of one accepted cluster can be. Two clusters
are merged offline when they are each other's most alike cluster and at least as alike as the halves of
all but HALVES_QUANTILE of the corpus's clusters are (never stricter than MERGE_AT). On the demo's 30
replayed nights this threshold is 0.4-0.5 where a fixed 0.9 merged nothing.

- merged offline: as above;
- below it, but at least as alike as a typical cluster is to its nearest neighbour on this corpus (the
  median over clusters of their best ratio): ambiguous. With Claude configured, a few summaries of each
  side are put to it, most alike pairs first (structured yes/no with a reason; the call's cost is recorded
  like every call); a "no" is remembered (a `kept_apart` event) so the pair is not asked again. At most
  MAX_QUESTIONS per run. Without Claude, they stay apart.

The larger cluster's id survives (edits, notes and links follow it); a recent incident (split out in the
last 2 * RECENT_DAYS days) is never merged into an older cluster: folding it back into an older problem is
what splitting undid. Two clusters split out for one incident on different nights may be merged.

Pieces of one incident (`incident_pieces`): one incident's reports can be found as two recent incidents,
e.g. one piece filed by the analyzer under the mobile app and another, worded differently ("Clocking in
crashes it every time"), under time tracking. Their composed vectors then differ in area and phrases, and a
piece of identical reports is so tight that the ratio above stays far below the threshold. So two recent
incidents are also compared on their text embeddings alone: the smaller piece joins the larger when its
reports came in over the same days (their median ticket times at most PIECE_DAYS apart), each is the
other's most alike (the smaller's nearest cluster of all, the larger's nearest recent incident, by text
centroid) and the smaller's median report is as close in wording to the larger's centre as the larger's
own reports are (its lower quartile, or a typical cluster's on this corpus if that is looser: the
`reach` the incident scan uses). Two unrelated incidents of one week say different things, and stay apart.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy import Engine, select

from miner import db
from miner.clustering.edits import incident_clusters, log_event, merge_in
from miner.clustering.vectors import reach_of, unit
from miner.models import clusters_t, events_t, issues_t

if TYPE_CHECKING:
    from miner.clustering.naming import Namer
    from miner.clustering.vectors import IssueVectors

log = logging.getLogger(__name__)


MERGE_AT = 0.9  # always the same problem at this ratio, whatever the calibration says
HALVES_QUANTILE = 0.1  # merge offline when as alike as the two halves of 90% of this corpus's clusters
MIN_CALIBRATION = 5  # clusters of 2 * MIN_SIZE issues needed to calibrate; with fewer, MERGE_AT decides
MAX_QUESTIONS = 20
MIN_CENTRED = 4
MIN_SIZE = 5  # smaller clusters have too few members to measure their own spread
PROTECT_DAYS = 14  # 2 * RECENT_DAYS: how long an incident split out is kept apart
PIECE_DAYS = 7  # RECENT_DAYS: two pieces of one incident have their reports in the same week


@dataclass
class MergeResult:
    merged: int = 0
    asked: int = 0
    cost_usd: float = 0.0
    decisions: list[dict[str, object]] = field(default_factory=list)


@dataclass
class _Profile:
    cluster_id: int
    size: int
    mean: np.ndarray  # mean of the members' centred vectors
    within: float  # mean similarity between two different members (centred)
    summaries: list[str]


def similarity_ratios(profiles: list[_Profile]) -> np.ndarray:
    """ratio(A, B) for every pair (see the module docstring); the diagonal is 1."""
    M = np.vstack([p.mean for p in profiles])
    within = np.array([max(p.within, 1e-9) for p in profiles])
    R = (M @ M.T) / np.sqrt(np.outer(within, within))
    np.fill_diagonal(R, 1.0)
    return np.asarray(R)


def profiles_of(X: np.ndarray, labels: np.ndarray, ids: list[int], summaries: list[list[str]]) -> list[_Profile]:
    """Profiles of the clusters `ids` (labels of the rows of unit vectors `X`), centred on the mean of their
    centroids when there are at least MIN_CENTRED clusters (with fewer, the mean is one of the problems
    itself, and centring would set two halves of it against each other)."""
    centred = centre_on_clusters(X, labels, ids)
    out = []
    for cid, texts in zip(ids, summaries, strict=True):
        rows = centred[labels == cid]
        if len(rows) >= 2:
            out.append(_profile(cid, rows, texts))
    return out


def centre_on_clusters(X: np.ndarray, labels: np.ndarray, ids: list[int]) -> np.ndarray:
    """`X` less the mean of the centroids of clusters `ids` (when there are at least MIN_CENTRED of them)."""
    centroids = np.vstack([X[labels == cid].mean(axis=0) for cid in ids])
    return X - centroids.mean(axis=0) if len(ids) >= MIN_CENTRED else X


def _profile(cluster_id: int, rows: np.ndarray, summaries: list[str]) -> _Profile:
    n = len(rows)
    mean = rows.mean(axis=0)
    within = (n * n * float(mean @ mean) - float((rows * rows).sum())) / (n * (n - 1))
    return _Profile(cluster_id, n, mean, within, summaries)


def halves_ratio(rows: np.ndarray) -> float | None:
    """The ratio between the two most separated halves of one cluster (centred rows): split on the sign of
    the principal axis, refined by a few 2-means steps. None when a half has fewer than 2 members."""
    centred = rows - rows.mean(axis=0)
    side = centred @ np.linalg.svd(centred, full_matrices=False)[2][0] > 0
    for _ in range(10):
        if side.sum() < 2 or (~side).sum() < 2:
            return None
        a, b = rows[side].mean(axis=0), rows[~side].mean(axis=0)
        moved = rows @ (a - b) > (float(a @ a) - float(b @ b)) / 2  # nearer to a than to b
        if (moved == side).all():
            break
        side = moved
    if side.sum() < 2 or (~side).sum() < 2:
        return None
    halves = [_profile(0, rows[side], []), _profile(1, rows[~side], [])]
    return float(similarity_ratios(halves)[0, 1])


def offline_threshold(centred: np.ndarray, labels: np.ndarray, ids: list[int]) -> float:
    """The ratio from which the offline rule merges, calibrated on this corpus: as alike as the two halves
    of all but HALVES_QUANTILE of the clusters of 2 * MIN_SIZE or more issues; MERGE_AT caps it, and
    decides alone with fewer than MIN_CALIBRATION such clusters."""
    ratios = [r for cid in ids if (labels == cid).sum() >= 2 * MIN_SIZE
              for r in [halves_ratio(centred[labels == cid])] if r is not None]
    if len(ratios) < MIN_CALIBRATION:
        return MERGE_AT
    return min(MERGE_AT, float(np.quantile(ratios, HALVES_QUANTILE)))


def merge_similar(engine: Engine, vectors: IssueVectors, namer: Namer | None = None) -> MergeResult:
    """Merge live clusters that describe the same problem; see the module docstring."""
    result = MergeResult()
    query = (select(issues_t.c.id, issues_t.c.cluster_id, issues_t.c.summary, issues_t.c.ticket_created_at)
             .join(clusters_t, clusters_t.c.id == issues_t.c.cluster_id)
             .where(clusters_t.c.retired.is_(False)).order_by(issues_t.c.id))
    since = datetime.now(UTC) - timedelta(days=PROTECT_DAYS)
    with engine.connect() as conn:
        rows = [r for r in conn.execute(query) if r.id in vectors]
        protected = incident_clusters(conn, since)
        declined = {frozenset((r.cluster_id, int((r.detail or {}).get("other", -1)))) for r in conn.execute(
            select(events_t.c.cluster_id, events_t.c.detail).where(events_t.c.action == "kept_apart"))}
    members: dict[int, list[int]] = defaultdict(list)
    texts: dict[int, list[str]] = defaultdict(list)
    for i, r in enumerate(rows):
        members[r.cluster_id].append(i)
        texts[r.cluster_id].append(r.summary)
    labels = np.array([r.cluster_id for r in rows])
    gone: set[int] = set()
    if len(protected & set(members)) >= 2:
        times = np.array([db.as_utc(r.ticket_created_at).timestamp() for r in rows])
        for piece in incident_pieces(vectors.text().of([r.id for r in rows]), labels, times, protected):
            with db.write_transaction(engine) as conn:
                merge_in(conn, piece.smaller, piece.larger, author=None, pin=False,
                         detail={"reason": piece.reason, "by": "offline", "similarity": round(piece.closeness, 3)})
            gone.add(piece.smaller)
            members[piece.larger] += members.pop(piece.smaller)
            texts[piece.larger] += texts.pop(piece.smaller)
            labels[labels == piece.smaller] = piece.larger
            result.merged += 1
            result.decisions.append({"clusters": [piece.larger, piece.smaller], "same": True, "by": "offline",
                                     "reason": piece.reason})
            log.info("merged cluster %s into %s (%s)", piece.smaller, piece.larger, piece.reason)
    ids = sorted(c for c, m in members.items() if len(m) >= MIN_SIZE)
    if len(ids) < 2:
        return result
    X = vectors.of([r.id for r in rows])
    profiles = profiles_of(X, labels, ids, [_spread(texts[c]) for c in ids])
    merge_at = offline_threshold(centre_on_clusters(X, labels, ids), labels, ids)
    R = similarity_ratios(profiles)
    np.fill_diagonal(R, -np.inf)
    nearest = R.argmax(axis=1)
    ask_from = min(merge_at, float(np.median(R.max(axis=1))))
    np.fill_diagonal(R, 1.0)
    pairs = sorted(((float(R[a, b]), a, b) for a in range(len(profiles)) for b in range(a + 1, len(profiles))
                    if R[a, b] >= ask_from), reverse=True)
    can_ask = namer is not None and namer.claude is not None
    for ratio, a, b in pairs:
        pa, pb = profiles[a], profiles[b]
        if pa.cluster_id in gone or pb.cluster_id in gone:
            continue  # compared again on the next run, with the merged cluster's members
        if (pa.cluster_id in protected) != (pb.cluster_id in protected):
            continue  # a recent incident is not folded back into an older problem (two parts of it may join)
        if ratio >= MERGE_AT or (ratio >= merge_at and nearest[a] == b and nearest[b] == a):
            same, by, reason = True, "offline", (f"as alike as their own members (similarity ratio {ratio:.2f}; "
                                                 f"the halves of most clusters here: {merge_at:.2f})")
        elif (can_ask and namer is not None and result.asked < MAX_QUESTIONS
              and frozenset((pa.cluster_id, pb.cluster_id)) not in declined):
            answer, cost = namer.same_problem(engine, pa.summaries, pb.summaries)
            result.asked += 1
            result.cost_usd += cost
            if answer is None:
                continue
            same, by, reason = answer.same_problem, "claude", answer.reason.strip()[:300]
        else:
            continue
        result.decisions.append({"clusters": [pa.cluster_id, pb.cluster_id], "ratio": round(ratio, 3),
                                 "same": same, "by": by, "reason": reason})
        if not same:
            with db.write_transaction(engine) as conn:
                for one, other in ((pa, pb), (pb, pa)):
                    log_event(conn, one.cluster_id, "kept_apart",
                              {"other": other.cluster_id, "reason": reason, "by": by, "ratio": round(ratio, 3)}, None)
            continue
        # the larger cluster's id survives (the older one on a tie)
        target, source = sorted((pa, pb), key=lambda p: (-p.size, p.cluster_id))
        with db.write_transaction(engine) as conn:
            merge_in(conn, source.cluster_id, target.cluster_id, author=None, pin=False,
                     detail={"reason": reason, "by": by, "ratio": round(ratio, 3)})
        gone.add(source.cluster_id)
        result.merged += 1
        log.info("merged cluster %s into %s (%s: %s)", source.cluster_id, target.cluster_id, by, reason)
    return result


@dataclass(frozen=True)
class Piece:
    """A recent incident found to be a piece of a larger one (see `incident_pieces`)."""

    smaller: int
    larger: int
    closeness: float  # the smaller's median report's text similarity to the larger's centre
    reach: float  # what the larger's own reports reach
    days_apart: float  # between the two pieces' median ticket times
    reason: str


def incident_pieces(T: np.ndarray, labels: np.ndarray, times: np.ndarray, incidents: set[int]) -> list[Piece]:
    """Recent incidents (cluster ids in `incidents`) that are pieces of one incident, on text embeddings
    alone (unit rows `T` of clustered issues, in clusters `labels`, tickets at epoch seconds `times`): see the
    module docstring. After each join the pieces are compared again, so a third piece may join the two."""
    labels = labels.copy()
    found: list[Piece] = []
    while (piece := _next_piece(T, labels, times, incidents)) is not None:
        found.append(piece)
        labels[labels == piece.smaller] = piece.larger
    return found


def _next_piece(T: np.ndarray, labels: np.ndarray, times: np.ndarray, incidents: set[int]) -> Piece | None:
    """The smallest recent incident that is a piece of a larger one, if any."""
    sizes = {int(c): int(n) for c, n in zip(*np.unique(labels, return_counts=True), strict=True)}
    ids = sorted(c for c, n in sizes.items() if n >= MIN_SIZE or c in incidents)
    recent = [c for c in ids if c in incidents]
    if len(recent) < 2:
        return None
    rows = {c: labels == c for c in ids}
    centres = np.vstack([unit(T[rows[c]].mean(axis=0)) for c in ids])
    spreads = [T[rows[c]] @ centres[k] for k, c in enumerate(ids) if sizes[c] >= 2 * MIN_SIZE]
    if not spreads:
        return None
    radius = float(np.median([np.quantile(s, 0.25) for s in spreads]))  # a typical cluster's reach in text
    position = {c: k for k, c in enumerate(ids)}
    S = centres @ centres.T
    np.fill_diagonal(S, -np.inf)
    for small in sorted(recent, key=lambda c: (sizes[c], c)):
        large = ids[int(np.argmax(S[position[small]]))]  # its most alike cluster of all
        if large not in incidents or (sizes[large], large) < (sizes[small], small) or sizes[large] < MIN_SIZE:
            continue  # an older problem, or not the larger piece, or too few reports to measure its reach
        if max((c for c in recent if c != large), key=lambda c: S[position[large], position[c]]) != small:
            continue  # the larger has a more alike recent incident
        days = abs(float(np.median(times[rows[small]])) - float(np.median(times[rows[large]]))) / 86400
        if days > PIECE_DAYS:
            continue
        reach = reach_of(T[rows[large]] @ centres[position[large]], radius)
        closeness = float(np.median(T[rows[small]] @ centres[position[large]]))
        if closeness >= reach:
            return Piece(small, large, closeness, reach, days, (
                f"a piece of the same recent incident: its reports are as close in wording to this cluster's "
                f"centre as its own reports (text similarity {closeness:.2f}; its own from {reach:.2f}), in the "
                f"same days ({days:.1f} days apart)"))
    return None


def _spread(summaries: list[str]) -> list[str]:
    """A few different summaries, spread over the cluster (not just its first reports)."""
    distinct = list(dict.fromkeys(" ".join(s.split()) for s in summaries if s and s.strip()))
    step = max(1, len(distinct) // 6)
    return distinct[::step][:6]
