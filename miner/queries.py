"""Read-side queries for the dashboard and exports. Figures come from the pre-aggregated
`clusters` and `cluster_daily_stats` tables; raw tables are only read for drill-downs, always
bounded by an id, a date range or a LIMIT.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import Engine, and_, desc, func, or_, select

from miner import db
from miner.analysis import store
from miner.models import (
    Cluster,
    ClusterDailyStat,
    ClusterEvent,
    ClusterNote,
    Comment,
    DailyIssueStat,
    DailyTicketStat,
    Issue,
    Organization,
    Ticket,
    TicketAnalysis,
)
from miner.trends import critical_share, customer_key, typical_severity
from miner.vocabulary import Severity


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive

    @property
    def start_dt(self) -> datetime:
        return datetime.combine(self.start, time.min, UTC)

    @property
    def end_dt(self) -> datetime:
        return datetime.combine(self.end + timedelta(days=1), time.min, UTC)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @classmethod
    def last(cls, days: int, today: date | None = None) -> Period:
        today = today or datetime.now(UTC).date()
        return cls(today - timedelta(days=days - 1), today)


def _df(engine: Engine, query: Any) -> pd.DataFrame:
    with engine.connect() as conn:
        result = conn.execute(query)
        return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


# --- overview -----------------------------------------------------------------------------------


def has_data(engine: Engine) -> dict[str, bool]:
    """Whether there is anything to show yet (cheap existence checks, whatever the table sizes)."""
    with engine.connect() as conn:
        def exists(query: Any) -> bool:
            return bool(conn.execute(select(query.exists())).scalar_one())

        return {
            "tickets": exists(select(Ticket.id).where(Ticket.status != "deleted")),
            "issues": exists(select(Issue.id)),
            "clusters": exists(select(Cluster.id).where(Cluster.retired.is_(False))),
        }


def analysis_backlog(engine: Engine) -> dict[str, int]:
    """Tickets waiting for analysis, and live tickets in all: figures that count issues are partial
    while the first is not zero."""
    with engine.connect() as conn:
        tickets = conn.execute(select(func.count()).select_from(Ticket).where(Ticket.status != "deleted")).scalar_one()
    return {"pending": store.count_pending(engine), "tickets": int(tickets)}


def overview_figures(engine: Engine, period: Period) -> dict[str, Any]:
    """Headline numbers for the period and for the period just before it (from the daily tables), and
    whether the data covers the whole previous period (a change against a period before the first
    ticket is no change at all)."""

    def window(start: date, end: date) -> dict[str, int]:
        lo, hi = Period(start, end).start_dt, Period(start, end).end_dt
        with engine.connect() as conn:
            # tickets straight from the tickets table: right even before trends have run on a new sync
            tickets = conn.execute(select(func.count()).select_from(Ticket).where(
                Ticket.status != "deleted", Ticket.created_at >= lo, Ticket.created_at < hi)).scalar_one()
            with_issues = conn.execute(
                select(func.coalesce(func.sum(DailyTicketStat.tickets_with_issues), 0))
                .where(DailyTicketStat.day >= start, DailyTicketStat.day <= end)
            ).scalar_one()
            by_sev = dict(conn.execute(
                select(DailyIssueStat.severity, func.sum(DailyIssueStat.issues))
                .where(DailyIssueStat.day >= start, DailyIssueStat.day <= end)
                .group_by(DailyIssueStat.severity)
            ).all())
        return {
            "tickets": int(tickets), "issues": int(sum(by_sev.values())),
            "tickets_with_issues": int(with_issues),
            "critical": int(by_sev.get(Severity.CRITICAL, 0)), "high": int(by_sev.get(Severity.HIGH, 0)),
        }

    span = timedelta(days=period.days)
    previous = Period(period.start - span, period.start - timedelta(days=1))
    with engine.connect() as conn:
        first = conn.execute(select(func.min(Ticket.created_at)).where(Ticket.status != "deleted")).scalar()
    return {"current": window(period.start, period.end),
            "previous": window(previous.start, previous.end),
            "previous_covered": first is not None and first <= previous.start_dt}


def top_cluster_series(engine: Engine, period: Period, top: int = 8) -> pd.DataFrame:
    """Daily tickets of the `top` clusters of the period (by tickets), others folded into 'Other'."""
    ranking = (select(ClusterDailyStat.cluster_id, func.sum(ClusterDailyStat.tickets).label("n"))
               .where(ClusterDailyStat.day >= period.start, ClusterDailyStat.day <= period.end)
               .group_by(ClusterDailyStat.cluster_id).order_by(desc("n")).limit(top))
    top_ids = [r.cluster_id for r in _df(engine, ranking).itertuples()]
    if not top_ids:
        return pd.DataFrame(columns=["day", "cluster_id", "name", "tickets"])
    q = (select(ClusterDailyStat.day, ClusterDailyStat.cluster_id, Cluster.name, ClusterDailyStat.tickets)
         .join(Cluster, Cluster.id == ClusterDailyStat.cluster_id)
         .where(ClusterDailyStat.day >= period.start, ClusterDailyStat.day <= period.end,
                ClusterDailyStat.cluster_id.in_(top_ids)))
    df = _df(engine, q)
    df["day"] = pd.to_datetime(df["day"])
    # fill missing days with zero so stacked areas do not interpolate across gaps
    days = pd.date_range(period.start, period.end, freq="D")
    names = df.drop_duplicates("cluster_id").set_index("cluster_id")["name"].to_dict()
    full = pd.MultiIndex.from_product([days, top_ids], names=["day", "cluster_id"])
    df = df.set_index(["day", "cluster_id"])["tickets"].reindex(full, fill_value=0).reset_index()
    df["name"] = df["cluster_id"].map(names)
    order = {cid: i for i, cid in enumerate(top_ids)}
    return df.sort_values(["day", "cluster_id"], key=lambda s: s.map(order) if s.name == "cluster_id" else s)


# --- clusters -----------------------------------------------------------------------------------


def cluster_table(engine: Engine, period: Period) -> pd.DataFrame:
    """Every live cluster with its stored (all-time, last-7-days) figures and its tickets, issues and
    distinct customers within the period (`period_*`)."""
    in_period = (select(ClusterDailyStat.cluster_id, func.sum(ClusterDailyStat.tickets).label("period_tickets"),
                        func.sum(ClusterDailyStat.issues).label("period_issues"))
                 .where(ClusterDailyStat.day >= period.start, ClusterDailyStat.day <= period.end)
                 .group_by(ClusterDailyStat.cluster_id).subquery())
    # distinct customers cannot be summed from daily counts: read the period's issues
    customers = (select(Issue.cluster_id, func.count(func.distinct(customer_key())).label("period_customers"))
                 .join(Ticket, Ticket.id == Issue.ticket_id)
                 .where(Issue.cluster_id.is_not(None), Ticket.status != "deleted",
                        Issue.ticket_created_at >= period.start_dt, Issue.ticket_created_at < period.end_dt)
                 .group_by(Issue.cluster_id).subquery())
    q = (select(Cluster.id, Cluster.name, Cluster.category, Cluster.subcategory, Cluster.issue_type,
                Cluster.triage_status, Cluster.ticket_count, Cluster.issue_count, Cluster.customer_count,
                Cluster.count_7d, Cluster.count_prev_7d, Cluster.change_pct, Cluster.active,
                Cluster.emerging, Cluster.emerging_reason, Cluster.first_seen, Cluster.last_seen,
                Cluster.severity_mix, Cluster.name_pinned,
                func.coalesce(in_period.c.period_tickets, 0).label("period_tickets"),
                func.coalesce(customers.c.period_customers, 0).label("period_customers"))
         .outerjoin(in_period, in_period.c.cluster_id == Cluster.id)
         .outerjoin(customers, customers.c.cluster_id == Cluster.id)
         .where(Cluster.retired.is_(False))
         .order_by(desc("period_tickets"), desc(Cluster.ticket_count)))
    df = _df(engine, q)
    if not df.empty:
        df["severity"] = df["severity_mix"].map(typical_severity)
        df["critical_share"] = df["severity_mix"].map(critical_share)
    return df


def emerging_clusters(engine: Engine) -> pd.DataFrame:
    q = (select(Cluster.id, Cluster.name, Cluster.emerging_reason, Cluster.count_7d, Cluster.customer_count,
                Cluster.category, Cluster.triage_status)
         .where(Cluster.retired.is_(False), Cluster.emerging.is_(True))
         .order_by(desc(Cluster.count_7d)))
    return _df(engine, q)


def rising_clusters(engine: Engine, limit: int = 10, min_count: int = 5) -> pd.DataFrame:
    q = (select(Cluster.id, Cluster.name, Cluster.count_7d, Cluster.count_prev_7d, Cluster.change_pct)
         .where(Cluster.retired.is_(False), Cluster.count_7d >= min_count, Cluster.change_pct > 0)
         .order_by(desc(Cluster.change_pct)).limit(limit))
    return _df(engine, q)


def severity_mix(engine: Engine, period: Period) -> pd.DataFrame:
    q = (select(DailyIssueStat.category, DailyIssueStat.severity, func.sum(DailyIssueStat.issues).label("issues"))
         .where(DailyIssueStat.day >= period.start, DailyIssueStat.day <= period.end)
         .group_by(DailyIssueStat.category, DailyIssueStat.severity))
    return _df(engine, q)


def get_cluster(engine: Engine, cluster_id: int) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(select(Cluster.__table__).where(Cluster.id == cluster_id)).first()
    return dict(row._mapping) if row else None


def cluster_choices(engine: Engine) -> list[tuple[int, str]]:
    q = select(Cluster.id, Cluster.name).where(Cluster.retired.is_(False)).order_by(desc(Cluster.ticket_count))
    with engine.connect() as conn:
        return [(r.id, r.name) for r in conn.execute(q)]


def cluster_daily(engine: Engine, cluster_id: int, period: Period) -> pd.DataFrame:
    q = (select(ClusterDailyStat.day, ClusterDailyStat.issues, ClusterDailyStat.tickets,
                ClusterDailyStat.customers)
         .where(ClusterDailyStat.cluster_id == cluster_id, ClusterDailyStat.day >= period.start,
                ClusterDailyStat.day <= period.end)
         .order_by(ClusterDailyStat.day))
    df = _df(engine, q)
    days = pd.date_range(period.start, period.end, freq="D")
    if df.empty:
        return pd.DataFrame({"day": days, "issues": 0, "tickets": 0, "customers": 0})
    df["day"] = pd.to_datetime(df["day"])
    return df.set_index("day").reindex(days, fill_value=0).rename_axis("day").reset_index()


def cluster_customers_cumulative(engine: Engine, cluster_id: int, period: Period) -> pd.DataFrame:
    """Distinct customers affected so far, by day (first appearance of each customer)."""
    customer = func.coalesce(Issue.organization_id, -Issue.requester_id)
    q = (select(customer.label("customer"), func.min(Issue.ticket_created_at).label("first"))
         .where(Issue.cluster_id == cluster_id)  # issues of deleted tickets are already gone
         .group_by(customer))
    df = _df(engine, q)
    days = pd.date_range(period.start, period.end, freq="D")
    if df.empty:
        return pd.DataFrame({"day": days, "customers": 0})
    first = pd.to_datetime(df["first"], utc=True).dt.tz_convert(None).dt.normalize()
    counts = first.value_counts().sort_index().cumsum()
    series = counts.reindex(counts.index.union(days)).ffill().fillna(0).reindex(days)
    return pd.DataFrame({"day": days, "customers": series.astype(int).to_numpy()})


def cluster_issues(engine: Engine, cluster_id: int, limit: int = 200) -> pd.DataFrame:
    q = (select(Issue.id.label("issue_id"), Issue.ticket_id, Ticket.subject, Issue.summary,
                Issue.representative_quote, Issue.severity, Issue.issue_type, Issue.confidence,
                Issue.ticket_created_at, Issue.cluster_pinned, Organization.name.label("organization"),
                Issue.organization_id, Issue.requester_id)
         .join(Ticket, Ticket.id == Issue.ticket_id)
         .outerjoin(Organization, Organization.id == Issue.organization_id)
         .where(Issue.cluster_id == cluster_id, Ticket.status != "deleted")
         .order_by(desc(Issue.ticket_created_at)).limit(limit))
    return _with_customer_label(_df(engine, q))


def _with_customer_label(df: pd.DataFrame) -> pd.DataFrame:
    """Fill ``organization`` for display: the organisation's name, else "organization <id>" (a name not
    synced), else "requester <id>" (a ticket with no organisation), else "—"."""
    if df.empty:
        return df
    def label(row: Any) -> str:
        if isinstance(row.organization, str) and row.organization:
            return row.organization
        if pd.notna(row.organization_id):
            return f"organization {int(row.organization_id)}"
        if pd.notna(row.requester_id):
            return f"requester {int(row.requester_id)}"
        return "—"
    df["organization"] = [label(r) for r in df.itertuples(index=False)]
    return df


def representative_quotes(engine: Engine, cluster_id: int, limit: int = 5) -> pd.DataFrame:
    """High-confidence quotes from different customers, most similar to the cluster centre first.

    Many reports near the centre often say the very same thing, so a wide sample is read to find
    ``limit`` different quotes."""
    q = (select(Issue.representative_quote, Issue.ticket_id, Issue.severity, Issue.organization_id,
                Issue.requester_id)
         .where(Issue.cluster_id == cluster_id)
         .order_by(desc(func.coalesce(Issue.cluster_similarity, 0)), desc(Issue.confidence)).limit(limit * 100))
    df = _df(engine, q)
    if df.empty:
        return df
    df["customer"] = df["organization_id"].fillna(-df["requester_id"].fillna(0))
    df = df.drop_duplicates("customer")
    # The same complaint pasted into another message ("Second thing: <quote>") says nothing new.
    chosen: list[int] = []
    folded: list[str] = []
    for i, quote in zip(df.index, df["representative_quote"], strict=True):
        text = " ".join(str(quote).casefold().split()).strip(" .!?")
        if text and not any(text in other or other in text for other in folded):
            chosen.append(i)
            folded.append(text)
        if len(chosen) == limit:
            break
    return df.loc[chosen]


def cluster_notes(engine: Engine, cluster_id: int) -> pd.DataFrame:
    q = (select(ClusterNote.created_at, ClusterNote.author, ClusterNote.body)
         .where(ClusterNote.cluster_id == cluster_id).order_by(desc(ClusterNote.created_at)))
    return _df(engine, q)


def cluster_events(engine: Engine, cluster_id: int, limit: int = 50) -> pd.DataFrame:
    q = (select(ClusterEvent.created_at, ClusterEvent.action, ClusterEvent.author, ClusterEvent.detail)
         .where(ClusterEvent.cluster_id == cluster_id).order_by(desc(ClusterEvent.id)).limit(limit))
    return _df(engine, q)


# --- tickets ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TicketFilter:
    text: str = ""
    period: Period | None = None
    statuses: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    severities: tuple[str, ...] = ()
    with_issues: bool | None = None  # None = all, True = only with issues, False = only without
    cluster_id: int | None = None


def _ticket_conditions(f: TicketFilter) -> list[Any]:
    conds: list[Any] = [Ticket.status != "deleted"]
    if f.period is not None:
        conds += [Ticket.created_at >= f.period.start_dt, Ticket.created_at < f.period.end_dt]
    if f.statuses:
        conds.append(Ticket.status.in_(f.statuses))
    text = f.text.strip()
    if text:
        needle = f"%{db.like_escape(text.lower())}%"
        matches = [func.lower(Ticket.subject).like(needle, escape="\\"),
                   func.lower(Ticket.description).like(needle, escape="\\")]
        number = db.parse_id(text)
        conds.append(or_(Ticket.id == number, *matches) if number is not None else or_(*matches))
    issue_conds: list[Any] = []
    if f.categories:
        issue_conds.append(Issue.category.in_(f.categories))
    if f.severities:
        issue_conds.append(Issue.severity.in_(f.severities))
    if f.cluster_id is not None:
        issue_conds.append(Issue.cluster_id == f.cluster_id)
    if issue_conds or f.with_issues:
        conds.append(Ticket.id.in_(select(Issue.ticket_id).where(and_(*issue_conds)) if issue_conds
                                   else select(Issue.ticket_id)))
    elif f.with_issues is False:
        conds.append(Ticket.id.not_in(select(Issue.ticket_id)))
    return conds


def search_tickets(engine: Engine, f: TicketFilter, limit: int = 200) -> pd.DataFrame:
    """Tickets matching the filters, newest first, with their issues summarised in one column."""
    conds = _ticket_conditions(f)
    q = (select(Ticket.id, Ticket.subject, Ticket.status, Ticket.created_at, Ticket.organization_id,
                Ticket.requester_id, Organization.name.label("organization"), TicketAnalysis.state.label("analysis"),
                TicketAnalysis.issue_count, TicketAnalysis.no_issue_reason)
         .outerjoin(Organization, Organization.id == Ticket.organization_id)
         .outerjoin(TicketAnalysis, TicketAnalysis.ticket_id == Ticket.id)
         .where(*conds).order_by(desc(Ticket.created_at)).limit(limit))
    df = _df(engine, q)
    if df.empty:
        return df
    issues = _df(engine, select(Issue.ticket_id, Issue.summary, Issue.category, Issue.severity, Issue.cluster_id)
                 .where(Issue.ticket_id.in_(df["id"].tolist())))
    joined = issues.groupby("ticket_id")["summary"].apply(lambda s: " | ".join(s)).to_dict() if not issues.empty else {}
    df["issues"] = [joined.get(ticket_id, "") for ticket_id in df["id"]]
    return _with_customer_label(df)


def ticket_detail(engine: Engine, ticket_id: int) -> dict[str, Any] | None:
    with engine.connect() as conn:
        ticket = conn.execute(select(Ticket.__table__).where(Ticket.id == ticket_id)).first()
        if ticket is None:
            return None
        comments = conn.execute(select(Comment.__table__).where(Comment.ticket_id == ticket_id)
                                .order_by(Comment.created_at, Comment.id)).all()
        issues = conn.execute(select(Issue.__table__, Cluster.name.label("cluster_name"))
                              .outerjoin(Cluster, Cluster.id == Issue.cluster_id)
                              .where(Issue.ticket_id == ticket_id)).all()
        analysis = conn.execute(select(TicketAnalysis.__table__).where(TicketAnalysis.ticket_id == ticket_id)).first()
        org = conn.execute(select(Organization.name).where(Organization.id == ticket.organization_id)).scalar()
    return {
        "ticket": dict(ticket._mapping),
        "organization": org,
        "comments": [dict(c._mapping) for c in comments],
        "issues": [dict(i._mapping) for i in issues],
        "analysis": dict(analysis._mapping) if analysis else None,
    }


def categories_in_use(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return sorted(r for r in conn.execute(select(Issue.category).distinct()).scalars() if r)


# --- exports ------------------------------------------------------------------------------------


def export_issues(engine: Engine, f: TicketFilter) -> pd.DataFrame:
    """Every issue of the tickets matching `f` (no row limit), with the category's and severity's filters
    applied to the issues too: what the Tickets page shows, in full."""
    conds = _ticket_conditions(f)
    if f.categories:
        conds.append(Issue.category.in_(f.categories))
    if f.severities:
        conds.append(Issue.severity.in_(f.severities))
    q = (select(Issue.id, Issue.ticket_id, Issue.ticket_created_at, Ticket.subject, Ticket.status.label("ticket_status"),
                Issue.category, Issue.subcategory, Issue.issue_type, Issue.severity, Issue.summary, Issue.detail,
                Issue.representative_quote, Issue.confidence, Issue.cluster_id, Cluster.name.label("cluster_name"),
                Issue.organization_id, Organization.name.label("organization"))
         .join(Ticket, Ticket.id == Issue.ticket_id)
         .outerjoin(Cluster, Cluster.id == Issue.cluster_id)
         .outerjoin(Organization, Organization.id == Issue.organization_id)
         .where(*conds)
         .order_by(Issue.ticket_created_at, Issue.id))
    return _df(engine, q)
