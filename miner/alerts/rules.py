"""The alert rules: which alerts should exist now, each with the key that makes it fire once.

- emerging: a cluster the trends step flags emerging. Key `emerging:<cluster>:<n>`, n counting the times it
  became emerging: when it stops being emerging its alert is cleared, and the next time fires anew.
- regression: a cluster whose linked fix is resolved gets reports again (`miner.fixes.service.regressions`).
  Key `regression:<cluster>:<tracker>:<issue>:<resolved at>`: a fix resolved again later can regress again.
- digest: the latest weekly report, once. Key `digest:<report id>`.

Rules only read; `miner.alerts.outbox.fire` records the keys and enqueues the deliveries.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, desc, func, inspect, select

from miner.alerts.message import Alert, Candidate, clean_quote
from miner.alerts.settings import AlertSettings
from miner.models import alert_events_t, clusters_t, reports_t
from miner.vocabulary import AlertRule

log = logging.getLogger(__name__)
QUOTES = 3
DIGEST_MAX_AGE = timedelta(days=7)  # an older report is last week's news: not sent


def emerging(engine: Engine, settings: AlertSettings) -> tuple[list[Candidate], list[int]]:
    """Clusters that became emerging and have no open alert; and the ids of open alerts whose cluster is
    no longer emerging (to clear)."""
    cols = [clusters_t.c.id, clusters_t.c.name, clusters_t.c.emerging_reason, clusters_t.c.count_7d,
            clusters_t.c.count_prev_7d, clusters_t.c.ticket_count, clusters_t.c.customer_count,
            clusters_t.c.category, clusters_t.c.first_seen]
    with engine.connect() as conn:
        flagged = {row.id: row for row in conn.execute(
            select(*cols).where(clusters_t.c.retired.is_(False), clusters_t.c.emerging.is_(True)))}
        fired: dict[int, int] = dict(conn.execute(
            select(alert_events_t.c.cluster_id, func.count()).where(alert_events_t.c.rule == AlertRule.EMERGING)
            .group_by(alert_events_t.c.cluster_id)).all())
        open_events = dict(conn.execute(
            select(alert_events_t.c.cluster_id, alert_events_t.c.id)
            .where(alert_events_t.c.rule == AlertRule.EMERGING, alert_events_t.c.cleared_at.is_(None))).all())
        candidates = []
        for cid, row in flagged.items():
            if cid in open_events:
                continue
            alert = Alert(
                rule=AlertRule.EMERGING, title=f"Emerging: {row.name}",
                summary=row.emerging_reason or "flagged emerging by the trends step",
                facts=(("Tickets (last 7 days)", str(row.count_7d)), ("Tickets (7 days before)", str(row.count_prev_7d)),
                       ("Tickets in the cluster", str(row.ticket_count)), ("Customers", str(row.customer_count)),
                       ("Category", row.category or "—"),
                       ("First seen", f"{row.first_seen:%Y-%m-%d}" if row.first_seen else "—")),
                quotes=quotes(engine, cid), link=settings.cluster_url(cid), cluster_id=cid)
            candidates.append(Candidate(f"emerging:{cid}:{int(fired.get(cid, 0)) + 1}", alert, size=row.ticket_count))
    to_clear = [event_id for cid, event_id in open_events.items() if cid not in flagged]
    return candidates, to_clear


def regressions(engine: Engine, settings: AlertSettings, now: datetime) -> list[Candidate]:
    """Clusters whose resolved fix did not hold."""
    from miner.fixes.service import regressions as find_regressions

    if not inspect(engine).has_table("cluster_links"):  # no fix has been linked on this database yet
        return []
    found = find_regressions(engine, now.astimezone(UTC).date())
    if not found:
        return []
    candidates = []
    with engine.connect() as conn:
        for item in found:
            link, verdict = item.link, item.regression
            row = conn.execute(select(clusters_t.c.name, clusters_t.c.ticket_count, clusters_t.c.count_7d)
                               .where(clusters_t.c.id == link.cluster_id)).first()
            if row is None:
                continue
            resolved = link.resolved_at.astimezone(UTC) if link.resolved_at else None
            facts = [("Fix", link.label), ("Resolved", f"{resolved:%Y-%m-%d}" if resolved else "—"),
                     ("Tickets since the grace period", str(verdict.tickets)),
                     ("Tickets (last 7 days)", str(row.count_7d))]
            if verdict.p_value is not None:
                facts.append(("p-value", f"{verdict.p_value:.3g}"))
            alert = Alert(rule=AlertRule.REGRESSION, title=f"Regression: {row.name}",
                          summary=f"{link.label} was resolved, but the problem is back: {verdict.reason}",
                          facts=tuple(facts), quotes=quotes(engine, link.cluster_id),
                          link=settings.cluster_url(link.cluster_id), cluster_id=link.cluster_id)
            key = f"regression:{link.cluster_id}:{link.tracker}:{link.key}:{resolved:%Y%m%dT%H%M%S}" if resolved \
                else f"regression:{link.cluster_id}:{link.tracker}:{link.key}"
            candidates.append(Candidate(key[:160], alert, size=row.ticket_count))
    return candidates


def digest(engine: Engine, settings: AlertSettings, now: datetime) -> list[Candidate]:
    """The latest weekly report, if it is recent."""
    from miner.reports import build_digest

    with engine.connect() as conn:
        report = conn.execute(select(reports_t.c.id, reports_t.c.period_start, reports_t.c.period_end,
                                     reports_t.c.created_at)
                              .where(reports_t.c.kind == "weekly").order_by(desc(reports_t.c.id)).limit(1)).first()
    if report is None or now - report.created_at > DIGEST_MAX_AGE:
        return []
    built = build_digest(engine, today=report.period_end - timedelta(days=1))
    f = built.figures.current
    items = [f"Emerging: {r.name} (#{r.id}): {r.emerging_reason or ''}".rstrip(": ") for r in built.emerging]
    items += [f"{r.name} (#{r.id}): {r.count_7d} tickets" for r in built.top[:5]]
    alert = Alert(rule=AlertRule.DIGEST,
                  title=f"Product issues: week of {built.period.start:%b %d} – {built.period.end:%b %d, %Y}",
                  summary=f"{f.tickets:,} tickets, {f.issues:,} product issues ({f.critical} critical, "
                          f"{f.high} high); {len(built.emerging)} emerging.",
                  items=tuple(items), link=settings.public_url)
    return [Candidate(f"digest:{report.id}", alert)]


def quotes(engine: Engine, cluster_id: int) -> tuple[str, ...]:
    """The cluster's representative quotes as its page shows them (miner.queries.representative_quotes)."""
    from miner.queries import representative_quotes

    found = representative_quotes(engine, cluster_id, QUOTES)
    return tuple(clean_quote(q.representative_quote) for q in found if q.representative_quote.strip())
