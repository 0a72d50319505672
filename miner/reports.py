"""The weekly digest: top, rising and emerging clusters of the last 7 days, as Markdown and HTML,
stored in table `reports` and downloadable from the dashboard. Also the monthly clean-up."""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, delete, desc, insert, select

from miner import db
from miner.models import calls_t, health_t, reports_t
from miner.queries import (
    ClusterWeek,
    OverviewFigures,
    Period,
    busiest_clusters,
    emerging_clusters,
    overview_figures,
    rising_clusters,
)


@dataclass(frozen=True)
class Digest:
    period: Period
    figures: OverviewFigures
    top: list[ClusterWeek]
    rising: list[ClusterWeek]
    emerging: list[ClusterWeek]


def build_digest(engine: Engine, *, today: datetime | None = None, limit: int = 10) -> Digest:
    today = today or datetime.now(UTC)
    period = Period.last(7, today.date())
    return Digest(period, overview_figures(engine, period), busiest_clusters(engine, limit),
                  rising_clusters(engine, limit), emerging_clusters(engine))


def _change(row: ClusterWeek) -> str:
    return "new" if row.change_pct is None else f"{row.change_pct:+.0f}%"


def to_markdown(d: Digest) -> str:
    f = d.figures.current
    lines = [
        f"# Product issues: week of {d.period.start:%b %d} - {d.period.end:%b %d, %Y}",
        "",
        f"{f.tickets:,} tickets, {f.issues:,} product issues ({f.critical} critical, {f.high} high).",
        "",
        "## Emerging",
    ]
    lines += [f"- **{r.name}** (#{r.id}): {r.emerging_reason}" for r in d.emerging] or ["- none this week"]
    lines += ["", "## Top clusters (tickets in the last 7 days)", "",
              "| # | Cluster | Tickets | Change | Customers | Status |", "|---|---|---|---|---|---|"]
    lines += [f"| {r.id} | {r.name} | {r.count_7d} | {_change(r)} | {r.customer_count} | {r.triage_status} |"
              for r in d.top]
    lines += ["", "## Rising fastest", ""]
    lines += [f"- **{r.name}** (#{r.id}): {r.count_prev_7d} -> {r.count_7d} tickets ({_change(r)})"
              for r in d.rising] or ["- nothing rising"]
    return "\n".join(lines) + "\n"


def to_html(d: Digest) -> str:
    e = html.escape
    f = d.figures.current

    def rows(items: list[ClusterWeek]) -> str:
        return "".join(
            f"<tr><td>{r.id}</td><td>{e(r.name)}</td><td>{r.count_7d}</td><td>{e(_change(r))}</td>"
            f"<td>{r.customer_count}</td><td>{e(r.triage_status)}</td></tr>" for r in items)

    emerging = "".join(f"<li><b>{e(r.name)}</b> (#{r.id}): {e(r.emerging_reason or '')}</li>"
                       for r in d.emerging) or "<li>none this week</li>"
    rising = "".join(f"<li><b>{e(r.name)}</b> (#{r.id}): {r.count_prev_7d} &rarr; {r.count_7d} "
                     f"tickets ({e(_change(r))})</li>" for r in d.rising) or "<li>nothing rising</li>"
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Product issues {d.period.start} to {d.period.end}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:900px;margin:2em auto;color:#1f2937}}
table{{border-collapse:collapse;width:100%}}td,th{{border-bottom:1px solid #e5e7eb;padding:6px;text-align:left}}
h1{{font-size:1.5em}}</style></head><body>
<h1>Product issues: week of {d.period.start:%b %d} - {d.period.end:%b %d, %Y}</h1>
<p>{f.tickets:,} tickets, {f.issues:,} product issues ({f.critical} critical, {f.high} high).</p>
<h2>Emerging</h2><ul>{emerging}</ul>
<h2>Top clusters (tickets in the last 7 days)</h2>
<table><tr><th>#</th><th>Cluster</th><th>Tickets</th><th>Change</th><th>Customers</th><th>Status</th></tr>{rows(d.top)}</table>
<h2>Rising fastest</h2><ul>{rising}</ul>
</body></html>
"""


def generate_weekly_report(engine: Engine, *, today: datetime | None = None) -> int:
    digest = build_digest(engine, today=today)
    with db.write_transaction(engine) as conn:
        key = conn.execute(insert(reports_t).values(
            kind="weekly", period_start=digest.period.start_dt, period_end=digest.period.end_dt,
            created_at=datetime.now(UTC), markdown=to_markdown(digest), html=to_html(digest),
        )).inserted_primary_key
        assert key is not None
        return int(key[0])


@dataclass(frozen=True)
class StoredReport:
    id: int
    kind: str
    period_start: datetime  # the first day's midnight
    period_end: datetime  # midnight after the last day
    created_at: datetime
    markdown: str
    html: str


def list_reports(engine: Engine, limit: int = 20) -> list[StoredReport]:
    """The latest reports, newest first."""
    with engine.connect() as conn:
        return [StoredReport(**r._mapping) for r in conn.execute(
            select(reports_t).order_by(desc(reports_t.c.id)).limit(limit))]


def cleanup(engine: Engine, retention_days: int, purge_deleted_after_days: int | None = None,
            *, now: datetime | None = None) -> dict[str, int]:
    """Prune run history, LLM call records, reports, quarantine entries and finished alert deliveries older
    than the retention period; purge the content of tickets deleted more than `purge_deleted_after_days` ago."""
    from miner import quarantine
    from miner.alerts import outbox
    from miner.purge import purge_deleted
    from miner.runs.history import prune_runs

    now = now or datetime.now(UTC)
    cutoff = now - timedelta(days=retention_days)
    removed = {"task_runs": prune_runs(engine, retention_days)}
    with db.write_transaction(engine) as conn:
        removed["llm_calls"] = conn.execute(delete(calls_t).where(calls_t.c.created_at < cutoff)).rowcount
        removed["reports"] = conn.execute(delete(reports_t).where(reports_t.c.created_at < cutoff)).rowcount
        removed["health_checks"] = conn.execute(delete(health_t).where(health_t.c.checked_at < cutoff)).rowcount
        removed["quarantine"] = quarantine.prune(conn, cutoff)
        removed["alert_deliveries"] = outbox.prune(conn, cutoff)
    if purge_deleted_after_days is not None:
        removed.update(purge_deleted(engine, purge_deleted_after_days, now=now))
    return removed
