"""Read-side queries for the dashboard and exports. Figures come from the pre-aggregated
`clusters` and `cluster_daily_stats` tables; raw tables are only read for drill-downs, always
bounded by an id, a date range or a LIMIT.

Each read returns named, typed rows (a frozen dataclass or NamedTuple per read) where a page reads fields,
and a DataFrame whose columns the docstring lists where a page shows a table or a chart.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, NamedTuple, TypeVar, cast

import pandas as pd
from sqlalchemy import Column, Connection, Engine, Executable, Table, and_, desc, func, or_, select

from miner import db
from miner.analysis import store
from miner.models import (
    Base,
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


def _df(engine: Engine, query: Executable) -> pd.DataFrame:
    with engine.connect() as conn:
        result = conn.execute(query)
        return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


RowT = TypeVar("RowT")


def _columns(model: type[Base], row: type[Any]) -> list[Column[Any]]:
    """The columns of `model`'s table that a row dataclass names, in its field order (fields the table does
    not have are left to the query to add)."""
    table = cast(Table, model.__table__)
    return [table.c[f.name] for f in fields(row) if f.name in table.c]


def _fetch(conn: Connection, row: type[RowT], query: Executable) -> list[RowT]:
    return [row(**r._mapping) for r in conn.execute(query)]


def _rows(engine: Engine, row: type[RowT], query: Executable) -> list[RowT]:
    with engine.connect() as conn:
        return _fetch(conn, row, query)


# --- overview -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DataPresence:
    """Whether there is any of each yet."""

    tickets: bool
    issues: bool
    clusters: bool


def has_data(engine: Engine) -> DataPresence:
    """Whether there is anything to show yet (cheap existence checks, whatever the table sizes)."""
    with engine.connect() as conn:
        def exists(query: Any) -> bool:
            return bool(conn.execute(select(query.exists())).scalar_one())

        return DataPresence(
            tickets=exists(select(Ticket.id).where(Ticket.status != "deleted")),
            issues=exists(select(Issue.id)),
            clusters=exists(select(Cluster.id).where(Cluster.retired.is_(False))),
        )


@dataclass(frozen=True)
class Backlog:
    pending: int  # tickets waiting for analysis
    tickets: int  # live tickets in all


def analysis_backlog(engine: Engine) -> Backlog:
    """Tickets waiting for analysis, and live tickets in all: figures that count issues are partial
    while the first is not zero."""
    with engine.connect() as conn:
        tickets = conn.execute(select(func.count()).select_from(Ticket).where(Ticket.status != "deleted")).scalar_one()
    return Backlog(pending=store.count_pending(engine), tickets=int(tickets))


@dataclass(frozen=True)
class PeriodFigures:
    """Headline numbers of one period."""

    tickets: int
    issues: int
    tickets_with_issues: int
    critical: int  # issues of that severity
    high: int


@dataclass(frozen=True)
class OverviewFigures:
    current: PeriodFigures
    previous: PeriodFigures  # the as many days just before
    previous_covered: bool  # whether the data reaches back over the whole previous period


def overview_figures(engine: Engine, period: Period) -> OverviewFigures:
    """Headline numbers for the period and for the period just before it (from the daily tables), and
    whether the data covers the whole previous period (a change against a period before the first
    ticket is no change at all)."""

    def window(start: date, end: date) -> PeriodFigures:
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
        return PeriodFigures(
            tickets=int(tickets), issues=int(sum(by_sev.values())), tickets_with_issues=int(with_issues),
            critical=int(by_sev.get(Severity.CRITICAL, 0)), high=int(by_sev.get(Severity.HIGH, 0)),
        )

    span = timedelta(days=period.days)
    previous = Period(period.start - span, period.start - timedelta(days=1))
    with engine.connect() as conn:
        first = conn.execute(select(func.min(Ticket.created_at)).where(Ticket.status != "deleted")).scalar()
    return OverviewFigures(current=window(period.start, period.end), previous=window(previous.start, previous.end),
                           previous_covered=first is not None and first <= previous.start_dt)


def top_cluster_series(engine: Engine, period: Period, top: int = 8) -> pd.DataFrame:
    """Daily tickets of the `top` clusters of the period (by tickets), every day of the period (zero where
    none). Columns: day (Timestamp), cluster_id, name, tickets."""
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
    """Every live cluster with its stored (all-time, last-7-days) figures and its tickets and distinct
    customers within the period, most tickets in the period first. Columns: id, name, category,
    subcategory, issue_type, triage_status, ticket_count, issue_count, customer_count, count_7d,
    count_prev_7d, change_pct, active, emerging, emerging_reason, first_seen, last_seen, severity_mix,
    name_pinned, period_tickets, period_customers, and (when there are rows) severity (the typical one)
    and critical_share."""
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


@dataclass(frozen=True)
class ClusterWeek:
    """A live cluster's name, triage status and its figures of the last 7 days (stored by the trends step)."""

    id: int
    name: str
    category: str | None
    triage_status: str
    count_7d: int  # tickets in the last 7 days
    count_prev_7d: int  # in the 7 days before
    change_pct: float | None  # None: none the 7 days before
    customer_count: int  # all time
    emerging_reason: str | None


def _weeks(engine: Engine, *conditions: Any, order: Any, limit: int | None = None) -> list[ClusterWeek]:
    q = select(*_columns(Cluster, ClusterWeek)).where(Cluster.retired.is_(False), *conditions).order_by(desc(order))
    return _rows(engine, ClusterWeek, q.limit(limit) if limit is not None else q)


def emerging_clusters(engine: Engine) -> list[ClusterWeek]:
    """The clusters flagged emerging, most tickets in the last 7 days first."""
    return _weeks(engine, Cluster.emerging.is_(True), order=Cluster.count_7d)


def busiest_clusters(engine: Engine, limit: int = 10) -> list[ClusterWeek]:
    """The clusters with the most tickets in the last 7 days."""
    return _weeks(engine, Cluster.count_7d > 0, order=Cluster.count_7d, limit=limit)


def rising_clusters(engine: Engine, limit: int = 10, min_count: int = 5) -> list[ClusterWeek]:
    """Clusters with at least `min_count` tickets in the last 7 days and more than the 7 before, fastest
    rising first."""
    return _weeks(engine, Cluster.count_7d >= min_count, Cluster.change_pct > 0, order=Cluster.change_pct,
                  limit=limit)


def severity_mix(engine: Engine, period: Period) -> pd.DataFrame:
    """Issues of the period by category and severity. Columns: category, severity, issues."""
    q = (select(DailyIssueStat.category, DailyIssueStat.severity, func.sum(DailyIssueStat.issues).label("issues"))
         .where(DailyIssueStat.day >= period.start, DailyIssueStat.day <= period.end)
         .group_by(DailyIssueStat.category, DailyIssueStat.severity))
    return _df(engine, q)


@dataclass(frozen=True)
class ClusterView:
    """A cluster as its page shows it: what it is, its triage state and its stored figures."""

    id: int
    name: str
    summary: str | None
    name_source: str | None
    name_pinned: bool
    merged_into: int | None
    retired: bool
    category: str | None
    subcategory: str | None
    issue_type: str | None
    size: int
    triage_status: str
    created_at: datetime
    updated_at: datetime
    issue_count: int
    ticket_count: int
    customer_count: int
    first_seen: datetime | None
    last_seen: datetime | None
    count_7d: int
    count_prev_7d: int
    change_pct: float | None
    active: bool
    emerging: bool
    emerging_reason: str | None
    severity_mix: dict[str, Any]
    trends_at: datetime | None


def get_cluster(engine: Engine, cluster_id: int) -> ClusterView | None:
    rows = _rows(engine, ClusterView, select(*_columns(Cluster, ClusterView)).where(Cluster.id == cluster_id))
    return rows[0] if rows else None


class ClusterChoice(NamedTuple):
    id: int
    name: str


def cluster_choices(engine: Engine) -> list[ClusterChoice]:
    """Every live cluster, largest first: (id, name) pairs for a picker."""
    q = select(Cluster.id, Cluster.name).where(Cluster.retired.is_(False)).order_by(desc(Cluster.ticket_count))
    return _rows(engine, ClusterChoice, q)


def cluster_daily(engine: Engine, cluster_id: int, period: Period) -> pd.DataFrame:
    """The cluster's figures for every day of the period (zero where none). Columns: day (Timestamp),
    issues, tickets, customers."""
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
    """Distinct customers affected so far, by day (first appearance of each customer). Columns: day
    (Timestamp), customers."""
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
    """The cluster's issues of live tickets, newest ticket first. Columns: issue_id, ticket_id, subject,
    summary, representative_quote, severity, issue_type, confidence, ticket_created_at, cluster_pinned,
    organization (the customer's label, see `_with_customer_label`), organization_id, requester_id."""
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


@dataclass(frozen=True)
class Quote:
    representative_quote: str
    ticket_id: int
    severity: str
    organization_id: int | None
    requester_id: int | None


def representative_quotes(engine: Engine, cluster_id: int, limit: int = 5) -> list[Quote]:
    """High-confidence quotes from different customers, most similar to the cluster centre first.

    Many reports near the centre often say the very same thing, so a wide sample is read to find
    ``limit`` different quotes."""
    q = (select(*_columns(Issue, Quote))
         .where(Issue.cluster_id == cluster_id)
         .order_by(desc(func.coalesce(Issue.cluster_similarity, 0)), desc(Issue.confidence)).limit(limit * 100))
    chosen: list[Quote] = []
    customers: set[int] = set()
    folded: list[str] = []
    for quote in _rows(engine, Quote, q):
        customer = quote.organization_id if quote.organization_id is not None else -(quote.requester_id or 0)
        if customer in customers:
            continue
        customers.add(customer)
        # The same complaint pasted into another message ("Second thing: <quote>") says nothing new.
        text = " ".join(str(quote.representative_quote).casefold().split()).strip(" .!?")
        if text and not any(text in other or other in text for other in folded):
            chosen.append(quote)
            folded.append(text)
        if len(chosen) == limit:
            break
    return chosen


@dataclass(frozen=True)
class Note:
    created_at: datetime
    author: str | None
    body: str


def cluster_notes(engine: Engine, cluster_id: int) -> list[Note]:
    """The cluster's notes, newest first."""
    q = (select(*_columns(ClusterNote, Note))
         .where(ClusterNote.cluster_id == cluster_id).order_by(desc(ClusterNote.created_at)))
    return _rows(engine, Note, q)


@dataclass(frozen=True)
class Event:
    created_at: datetime
    action: str
    author: str | None  # None: the clustering
    detail: dict[str, Any]


def cluster_events(engine: Engine, cluster_id: int, limit: int = 50) -> list[Event]:
    """The cluster's activity log, newest first."""
    q = (select(*_columns(ClusterEvent, Event))
         .where(ClusterEvent.cluster_id == cluster_id).order_by(desc(ClusterEvent.id)).limit(limit))
    return _rows(engine, Event, q)


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
    """Tickets matching the filters, newest first, with their issues summarised in one column. Columns:
    id, subject, status, created_at, organization_id, requester_id, organization (the customer's label),
    analysis (its state, None when not analysed), issue_count, no_issue_reason, issues (summaries joined
    by " | ")."""
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


@dataclass(frozen=True)
class TicketView:
    id: int
    subject: str | None
    description: str | None
    status: str
    requester_id: int | None
    organization_id: int | None
    created_at: datetime | None


@dataclass(frozen=True)
class CommentView:
    id: int
    author_id: int | None
    public: bool  # False: an internal note
    body: str
    created_at: datetime


@dataclass(frozen=True)
class IssueView:
    id: int
    category: str
    subcategory: str
    issue_type: str
    severity: str
    summary: str
    detail: str
    representative_quote: str
    confidence: float
    cluster_id: int | None
    cluster_name: str | None


@dataclass(frozen=True)
class AnalysisView:
    state: str
    analyzer: str | None
    model: str | None
    prompt_version: str | None
    no_issue_reason: str | None
    attempts: int
    last_error: str | None
    analyzed_at: datetime | None


@dataclass(frozen=True)
class TicketDetail:
    ticket: TicketView
    organization: str | None  # the organisation's name, when synced
    comments: list[CommentView]  # oldest first
    issues: list[IssueView]
    analysis: AnalysisView | None  # None: not analysed yet


def ticket_detail(engine: Engine, ticket_id: int) -> TicketDetail | None:
    """One ticket in full: its conversation, what was extracted from it and how."""
    with engine.connect() as conn:
        tickets = _fetch(conn, TicketView, select(*_columns(Ticket, TicketView)).where(Ticket.id == ticket_id))
        if not tickets:
            return None
        ticket = tickets[0]
        comments = _fetch(conn, CommentView, select(*_columns(Comment, CommentView))
                          .where(Comment.ticket_id == ticket_id).order_by(Comment.created_at, Comment.id))
        issues = _fetch(conn, IssueView, select(*_columns(Issue, IssueView), Cluster.name.label("cluster_name"))
                        .outerjoin(Cluster, Cluster.id == Issue.cluster_id).where(Issue.ticket_id == ticket_id))
        analysis = _fetch(conn, AnalysisView, select(*_columns(TicketAnalysis, AnalysisView))
                          .where(TicketAnalysis.ticket_id == ticket_id))
        org = conn.execute(select(Organization.name).where(Organization.id == ticket.organization_id)).scalar()
    return TicketDetail(ticket=ticket, organization=org, comments=comments, issues=issues,
                        analysis=analysis[0] if analysis else None)


def categories_in_use(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return sorted(r for r in conn.execute(select(Issue.category).distinct()).scalars() if r)


# --- exports ------------------------------------------------------------------------------------


def export_issues(engine: Engine, f: TicketFilter) -> pd.DataFrame:
    """Every issue of the tickets matching `f` (no row limit), with the category's and severity's filters
    applied to the issues too: what the Tickets page shows, in full. Columns: id, ticket_id,
    ticket_created_at, subject, ticket_status, category, subcategory, issue_type, severity, summary,
    detail, representative_quote, confidence, cluster_id, cluster_name, organization_id, organization."""
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
