"""Trends: per-cluster daily figures, 7-day change, activity and emerging-issue detection.

`cluster_daily_stats` is updated incrementally: only days touched since the last run (issues whose
`updated_at` moved past the watermark, plus days recorded in `trend_dirty_days` when issues were
deleted) are recomputed, for all clusters at once. Per-cluster figures are then refreshed on the
`clusters` table, so dashboard pages read small, pre-aggregated rows. Days are UTC calendar days.

Emerging, with a one-line reason stored for the dashboard:
- new: first seen within the last 14 days (and not reported before the cluster formed) with at least
  MIN_NEW_TICKETS tickets from MIN_NEW_CUSTOMERS customers;
- rising: the last 7 days carry at least MIN_RISE_TICKETS tickets, at least RISE_FACTOR times the
  weekly average of the 28 days before, and the rise is significant (one-sided Poisson p < 0.001).
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, bindparam, case, delete, distinct, func, insert, select, update
from sqlalchemy.engine import Connection

from miner import db
from miner.analysis import store
from miner.models import (
    app_state_t,
    cluster_days_t,
    clusters_t,
    dirty_t,
    issue_days_t,
    issues_t,
    ticket_days_t,
    tickets_t,
)
from miner.progress import RunControl
from miner.vocabulary import Severity

log = logging.getLogger(__name__)


WATERMARK = "trends_watermark"
NEW_WINDOW_DAYS = 14
MIN_NEW_TICKETS = 4  # the clustering only makes a recent cluster of a problem nobody reported before
MIN_NEW_CUSTOMERS = 3
MIN_RISE_TICKETS = 8
RISE_FACTOR = 2.0
RISE_P_VALUE = 1e-5  # strict: ~60 clusters are tested every night (1,800 tests a month; at 0.001 chance alone
# flagged about two a month on the demo), and ticket counts vary more than a Poisson count does
BASELINE_DAYS = 28
ACTIVE_DAYS = 14
MAX_UNANALYSED_SHARE = 0.05  # more tickets than this waiting for analysis: no cluster is flagged emerging
# (compared with a history that is mostly unread, every cluster looks new - a first run of 500 tickets out
# of 6,000 flagged 19 false "new" clusters)
DAY_CHUNK = 60


@dataclass
class TrendsResult:
    days_recomputed: int = 0
    clusters: int = 0
    active: int = 0
    emerging: int = 0
    unanalysed: int = 0  # tickets waiting for analysis; above MAX_UNANALYSED_SHARE, emerging is withheld
    full: bool = False
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def customer_key() -> Any:
    """Unique customers are organisations, else requesters (negated so the two never collide)."""
    return func.coalesce(issues_t.c.organization_id, -issues_t.c.requester_id)


def update_trends(engine: Engine, *, control: RunControl | None = None, full: bool = False,
                  today: date | None = None, result: TrendsResult | None = None) -> TrendsResult:
    control = control or RunControl()
    result = result if result is not None else TrendsResult()
    started = datetime.now(UTC)
    today = today or started.date()
    control.stage("Updating trends")
    with db.write_transaction(engine) as conn:
        watermark = _read_watermark(conn)
        result.full = full or watermark is None
        days = _dirty_days(conn, None if result.full else watermark)
        if result.full:
            for table in (cluster_days_t, ticket_days_t, issue_days_t):
                conn.execute(delete(table))
        control.update(total=len(days) + 1, message=f"{len(days)} days to recompute")
        for start in range(0, len(days), DAY_CHUNK):
            control.check()
            chunk = days[start:start + DAY_CHUNK]
            _recompute_days(conn, chunk)
            control.update(done=start + len(chunk))
        conn.execute(delete(dirty_t))
        result.days_recomputed = len(days)
        result.unanalysed = store.count_pending(conn)
        figures = refresh_cluster_figures(conn, today, unanalysed=result.unanalysed)
        result.clusters, result.active, result.emerging = figures
        _write_watermark(conn, started)
    control.update(done=len(days) + 1, message=f"{result.emerging} emerging of {result.clusters} clusters")
    result.seconds = round((datetime.now(UTC) - started).total_seconds(), 2)
    log.info("trends: %d days recomputed, %d clusters, %d emerging", result.days_recomputed,
             result.clusters, result.emerging)
    return result


def _read_watermark(conn: Connection) -> datetime | None:
    value = conn.execute(select(app_state_t.c.value).where(app_state_t.c.key == WATERMARK)).scalar()
    return datetime.fromisoformat(value) if value else None


def _write_watermark(conn: Connection, when: datetime) -> None:
    db.upsert(conn, app_state_t, [{"key": WATERMARK, "value": when.isoformat(), "updated_at": when}],
              key=["key"], update=["value", "updated_at"])


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _dirty_days(conn: Connection, since: datetime | None) -> list[date]:
    day = func.date(issues_t.c.ticket_created_at)
    query = select(day).distinct()
    if since is not None:
        query = query.where(issues_t.c.updated_at > since)
    days = {_as_date(d) for d in conn.execute(query).scalars() if d is not None}
    ticket_day = func.date(tickets_t.c.created_at)
    tickets_query = select(ticket_day).distinct()
    if since is not None:
        tickets_query = tickets_query.where(tickets_t.c.synced_at > since)
    days |= {_as_date(d) for d in conn.execute(tickets_query).scalars() if d is not None}
    days |= {_as_date(d) for d in conn.execute(select(dirty_t.c.day)).scalars()}
    return sorted(days)


def _recompute_days(conn: Connection, days: list[date]) -> None:
    """Replace the daily rows of these days with fresh aggregates over live tickets and their issues."""
    start = datetime.combine(min(days), datetime.min.time(), UTC)
    end = datetime.combine(max(days) + timedelta(days=1), datetime.min.time(), UTC)
    wanted = set(days)
    _recompute_overview_days(conn, days, start, end)
    conn.execute(delete(cluster_days_t).where(cluster_days_t.c.day.in_(days)))
    day = func.date(issues_t.c.ticket_created_at)
    rows = conn.execute(
        select(
            issues_t.c.cluster_id,
            day.label("day"),
            func.count().label("issues"),
            func.count(distinct(issues_t.c.ticket_id)).label("tickets"),
            func.count(distinct(customer_key())).label("customers"),
        )
        .select_from(issues_t.join(tickets_t, tickets_t.c.id == issues_t.c.ticket_id))
        .where(issues_t.c.cluster_id.is_not(None), tickets_t.c.status != "deleted",
               issues_t.c.ticket_created_at >= start, issues_t.c.ticket_created_at < end)
        .group_by(issues_t.c.cluster_id, day)
    ).all()
    payload = [
        {"cluster_id": r.cluster_id, "day": _as_date(r.day), "issues": r.issues, "tickets": r.tickets,
         "customers": r.customers}
        for r in rows if _as_date(r.day) in wanted
    ]
    if payload:
        conn.execute(insert(cluster_days_t), payload)


def _recompute_overview_days(conn: Connection, days: list[date], start: datetime, end: datetime) -> None:
    """The overview's figures per day: tickets, tickets with issues, issues by category and severity."""
    wanted = set(days)
    conn.execute(delete(ticket_days_t).where(ticket_days_t.c.day.in_(days)))
    conn.execute(delete(issue_days_t).where(issue_days_t.c.day.in_(days)))
    ticket_day = func.date(tickets_t.c.created_at)
    has_issue = select(issues_t.c.id).where(issues_t.c.ticket_id == tickets_t.c.id).exists()
    tickets = conn.execute(
        select(ticket_day.label("day"), func.count().label("tickets"),
               func.sum(case((has_issue, 1), else_=0)).label("with_issues"))
        .where(tickets_t.c.status != "deleted", tickets_t.c.created_at >= start, tickets_t.c.created_at < end)
        .group_by(ticket_day)
    ).all()
    rows = [{"day": _as_date(r.day), "tickets": r.tickets, "tickets_with_issues": int(r.with_issues or 0)}
            for r in tickets if _as_date(r.day) in wanted]
    if rows:
        conn.execute(insert(ticket_days_t), rows)
    issue_day = func.date(issues_t.c.ticket_created_at)
    issues = conn.execute(  # issues of deleted tickets are removed when the deletion syncs
        select(issue_day.label("day"), issues_t.c.category, issues_t.c.severity, func.count().label("issues"))
        .where(issues_t.c.ticket_created_at >= start, issues_t.c.ticket_created_at < end)
        .group_by(issue_day, issues_t.c.category, issues_t.c.severity)
    ).all()
    rows = [{"day": _as_date(r.day), "category": r.category, "severity": r.severity, "issues": r.issues}
            for r in issues if _as_date(r.day) in wanted]
    if rows:
        conn.execute(insert(issue_days_t), rows)


def refresh_cluster_figures(conn: Connection, today: date, *, unanalysed: int = 0) -> tuple[int, int, int]:
    """Recompute the per-cluster figures stored on `clusters`; returns (clusters, active, emerging).

    With `unanalysed` tickets waiting for analysis beyond MAX_UNANALYSED_SHARE of all live tickets, no
    cluster is flagged emerging: the reason says why instead."""
    d7 = today - timedelta(days=6)  # the last 7 days include today
    d14 = today - timedelta(days=13)
    base_start = d7 - timedelta(days=BASELINE_DAYS)
    new_since = today - timedelta(days=NEW_WINDOW_DAYS - 1)
    per_day = select(
        cluster_days_t.c.cluster_id,
        func.sum(cluster_days_t.c.tickets).label("tickets"),
        func.sum(case((cluster_days_t.c.day >= d7, cluster_days_t.c.tickets), else_=0)).label("last7"),
        func.sum(case(((cluster_days_t.c.day >= d14) & (cluster_days_t.c.day < d7), cluster_days_t.c.tickets), else_=0)).label("prev7"),
        func.sum(case(((cluster_days_t.c.day >= base_start) & (cluster_days_t.c.day < d7), cluster_days_t.c.tickets), else_=0)).label("base"),
        func.sum(case((cluster_days_t.c.day >= new_since, cluster_days_t.c.tickets), else_=0)).label("recent14"),
    ).group_by(cluster_days_t.c.cluster_id)
    windows = {r.cluster_id: r for r in conn.execute(per_day)}

    live = tickets_t.c.status != "deleted"
    totals = {
        r.cluster_id: r for r in conn.execute(
            select(
                issues_t.c.cluster_id,
                func.count().label("issues"),
                func.count(distinct(issues_t.c.ticket_id)).label("tickets"),
                func.count(distinct(customer_key())).label("customers"),
                func.min(issues_t.c.ticket_created_at).label("first_seen"),
                func.max(issues_t.c.ticket_created_at).label("last_seen"),
            )
            .select_from(issues_t.join(tickets_t, tickets_t.c.id == issues_t.c.ticket_id))
            .where(issues_t.c.cluster_id.is_not(None), live)
            .group_by(issues_t.c.cluster_id)
        )
    }
    mix: dict[int, dict[str, int]] = {}
    for r in conn.execute(
        select(issues_t.c.cluster_id, issues_t.c.severity, func.count())
        .select_from(issues_t.join(tickets_t, tickets_t.c.id == issues_t.c.ticket_id))
        .where(issues_t.c.cluster_id.is_not(None), live)
        .group_by(issues_t.c.cluster_id, issues_t.c.severity)
    ):
        mix.setdefault(r[0], {})[r[1]] = int(r[2])

    live_tickets = conn.execute(select(func.count()).select_from(tickets_t).where(live)).scalar_one()
    withheld = (f"Not assessed: {unanalysed:,} of {live_tickets:,} tickets are not analysed yet, and against a "
                "partly read history every cluster looks new" if unanalysed > MAX_UNANALYSED_SHARE * live_tickets
                else None)
    seen_before = dict(conn.execute(select(clusters_t.c.id, clusters_t.c.seen_before)
                                    .where(clusters_t.c.retired.is_(False))).all())
    ids = list(seen_before)
    now = datetime.now(UTC)
    active_count = emerging_count = 0
    updates = []
    for cid in ids:
        t, w = totals.get(cid), windows.get(cid)
        last7, prev7 = int(w.last7 or 0) if w else 0, int(w.prev7 or 0) if w else 0
        first_seen = t.first_seen if t else None
        last_seen = t.last_seen if t else None
        emerging, reason = detect_emerging(
            first_seen=_as_aware(first_seen), today=today, last7=last7,
            baseline=int(w.base or 0) if w else 0, recent14=int(w.recent14 or 0) if w else 0,
            customers=int(t.customers) if t else 0, seen_before=_as_aware(seen_before[cid]),
        )
        if withheld is not None:
            emerging, reason = False, withheld
        last_seen_at = _as_aware(last_seen)
        active = last_seen_at is not None and last_seen_at.date() >= today - timedelta(days=ACTIVE_DAYS - 1)
        active_count += active
        emerging_count += emerging
        updates.append({
            "cid": cid, "issue_count": int(t.issues) if t else 0, "ticket_count": int(t.tickets) if t else 0,
            "customer_count": int(t.customers) if t else 0, "first_seen": _as_aware(first_seen),
            "last_seen": _as_aware(last_seen), "count_7d": last7, "count_prev_7d": prev7,
            "change_pct": round(100.0 * (last7 - prev7) / prev7, 1) if prev7 else None,
            "active": active, "emerging": emerging, "emerging_reason": reason,
            "severity_mix": mix.get(cid, {}), "trends_at": now,
        })
    if updates:
        stmt = update(clusters_t).where(clusters_t.c.id == bindparam("cid")).values(
            {k: bindparam(k) for k in updates[0] if k != "cid"})
        conn.execute(stmt, updates)
    return len(ids), active_count, emerging_count


def _as_aware(value: Any) -> datetime | None:
    return None if value is None else db.as_utc(value)


def typical_severity(mix: dict[str, int] | None) -> Severity | None:
    """A cluster's severity as the dashboard shows it: that of its median member (not the worst one, which
    nearly every large cluster has somewhere)."""
    mildest_first = list(reversed(Severity))
    counts = [int((mix or {}).get(level, 0)) for level in mildest_first]
    total = sum(counts)
    if not total:
        return None
    running = 0
    for level, count in zip(mildest_first, counts, strict=True):
        running += count
        if 2 * running >= total:
            return level
    return None


def critical_share(mix: dict[str, int] | None) -> float:
    """Share of a cluster's issues that are critical, shown beside its typical severity."""
    total = sum(int(v) for v in (mix or {}).values())
    return int((mix or {}).get(Severity.CRITICAL, 0)) / total if total else 0.0


def detect_emerging(*, first_seen: datetime | None, today: date, last7: int, baseline: int,
                    recent14: int, customers: int, seen_before: datetime | None = None) -> tuple[bool, str | None]:
    """Is this cluster emerging? Returns the verdict and a one-line reason for the dashboard.

    `seen_before` (set by the clustering) says the problem was reported before the cluster formed: such a
    cluster is not new, and without weeks of its own history it cannot be called rising either."""
    window_start = today - timedelta(days=NEW_WINDOW_DAYS - 1)
    if first_seen is not None and first_seen.date() >= window_start:
        unheard_of = seen_before is None or seen_before.date() >= window_start
        if unheard_of and recent14 >= MIN_NEW_TICKETS and customers >= MIN_NEW_CUSTOMERS:
            return True, (f"New: first seen {first_seen:%b %d}, {recent14} tickets "
                          f"from {customers} customers since")
        return False, None
    if seen_before is not None and first_seen is not None and \
            first_seen.date() > today - timedelta(days=BASELINE_DAYS + 6):
        return False, None  # its earlier reports are elsewhere: its own baseline would read as zero
    weekly = baseline / (BASELINE_DAYS / 7)
    if last7 >= MIN_RISE_TICKETS and last7 >= RISE_FACTOR * max(weekly, 1.0):
        p = poisson_sf(last7, max(weekly, 0.5))
        if p < RISE_P_VALUE:
            factor = last7 / weekly if weekly > 0 else float("inf")
            shown = f"x{factor:.1f}" if math.isfinite(factor) else "from zero"
            return True, (f"Rising: {last7} tickets in the last 7 days vs {weekly:.1f}/week over the "
                          f"previous 4 weeks ({shown})")
    return False, None


def poisson_sf(k: int, mean: float) -> float:
    """P(X >= k) for X ~ Poisson(mean)."""
    from scipy.stats import poisson  # imported when first needed: it takes most of a second

    return float(poisson.sf(k - 1, mean)) if k > 0 else 1.0
