"""SQLAlchemy models: the tables analysts query (documented in README "Data model").

Timestamps are stored as UTC without a zone on both SQLite and PostgreSQL and come back as aware UTC
datetimes, so SQL written against either database compares like with like.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, ClassVar, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from miner.vocabulary import TriageStatus


class UTCDateTime(TypeDecorator[datetime]):
    """Naive-UTC storage, aware-UTC in Python."""

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use timezone-aware UTC datetimes")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):  # raw SQLite text, e.g. from a hand-written query
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[str]: JSON}


def utcnow() -> datetime:
    return datetime.now(UTC)


class Ticket(Base):
    """One Zendesk ticket, keyed by its Zendesk id. Deleted tickets stay as tombstones."""

    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    subject: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), index=True)
    priority: Mapped[str | None] = mapped_column(String(16))
    type: Mapped[str | None] = mapped_column(String(16))
    requester_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    submitter_id: Mapped[int | None] = mapped_column(BigInteger)
    assignee_id: Mapped[int | None] = mapped_column(BigInteger)
    organization_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    via_channel: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime | None] = mapped_column(index=True)
    updated_at: Mapped[datetime | None]
    generated_timestamp: Mapped[int] = mapped_column(BigInteger)
    deleted_at: Mapped[datetime | None]
    synced_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    purged_at: Mapped[datetime | None]  # content erased by the cleanup, MINER_PURGE_DELETED_AFTER_DAYS after deletion


class Comment(Base):
    """A ticket comment from the ticket-events stream. `public` = False is an internal agent note."""

    __tablename__ = "comments"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    ticket_id: Mapped[int] = mapped_column(BigInteger)
    author_id: Mapped[int | None] = mapped_column(BigInteger)
    public: Mapped[bool] = mapped_column(Boolean)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class Organization(Base):
    """Organisation names, side-loaded with the ticket export (for readable customer lists)."""

    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime | None]


class SyncState(Base):
    """Where each Zendesk export stream resumes; written in the same transaction as its page."""

    __tablename__ = "sync_state"

    stream: Mapped[str] = mapped_column(String(32), primary_key=True)
    cursor: Mapped[str | None] = mapped_column(Text)
    start_time: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    caught_up_at: Mapped[datetime | None]


Index("ix_comments_ticket_created", Comment.ticket_id, Comment.created_at)


class SyncQuarantine(Base):
    """A Zendesk object the sync could not store (invalid, or refused by the database), kept aside so
    the rest of its page is stored; removed when a later sync stores the object."""

    __tablename__ = "sync_quarantine"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(160), unique=True)  # "<object_type>:<object_id>"
    stream: Mapped[str] = mapped_column(String(32))  # tickets | ticket_events
    object_type: Mapped[str] = mapped_column(String(32))  # ticket | organization | ticket_event | comment | ...
    object_id: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str] = mapped_column(Text)
    excerpt: Mapped[str] = mapped_column(Text)
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime]
    count: Mapped[int] = mapped_column(Integer, default=1)


class TaskRun(Base):
    """Run history: one row per sync/analyze/pipeline/... run, whoever started it.

    While a run is going, `stage`/`done`/`total`/`message` and `heartbeat_at` are refreshed, so
    every process and replica can show the same live progress.
    """

    __tablename__ = "task_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)  # vocabulary.RunKind
    trigger: Mapped[str] = mapped_column(String(16))  # who started it: vocabulary.StartedBy (`started_by` in code)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), index=True)  # vocabulary.RunStatus
    started_at: Mapped[datetime] = mapped_column(index=True)
    finished_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    stage: Mapped[str | None] = mapped_column(String(64))
    done: Mapped[int | None] = mapped_column(Integer)
    total: Mapped[int | None] = mapped_column(Integer)
    message: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    llm_cost_usd: Mapped[float | None] = mapped_column(Float)
    holder: Mapped[str | None] = mapped_column(String(128))
    job_id: Mapped[str | None] = mapped_column(String(64))
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())  # as migrated


class Lease(Base):
    """Named leases with heartbeats: `run` (one run at a time) and `scheduler` (the leader)."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(128))
    run_id: Mapped[int | None] = mapped_column(Integer)
    acquired_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]


class Schedule(Base):
    """One scheduled job's trigger, editable at run time (the scheduler re-reads this table)."""

    __tablename__ = "schedules"

    job_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    trigger: Mapped[str] = mapped_column(String(16))  # vocabulary.ScheduleTrigger: "cron" | "interval"
    cron: Mapped[str | None] = mapped_column(String(64))  # "minute hour day month day_of_week"
    interval_seconds: Mapped[int | None] = mapped_column(Integer)
    paused: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())  # as migrated
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(128))


class HealthCheck(Base):
    """The latest health-check result per component (database, zendesk, claude)."""

    __tablename__ = "health_checks"

    component: Mapped[str] = mapped_column(String(32), primary_key=True)
    ok: Mapped[bool] = mapped_column(Boolean)
    message: Mapped[str] = mapped_column(Text)
    latency_ms: Mapped[float | None] = mapped_column(Float)
    checked_at: Mapped[datetime]


class Report(Base):
    """Weekly digests (Markdown and HTML), kept for download."""

    __tablename__ = "reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))
    period_start: Mapped[datetime]
    period_end: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    markdown: Mapped[str] = mapped_column(Text)
    html: Mapped[str] = mapped_column(Text)


class TicketAnalysis(Base):
    """Analysis state per ticket: done, failed (will be retried) or needs_review (gave up)."""

    __tablename__ = "ticket_analyses"

    ticket_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    state: Mapped[str] = mapped_column(String(16), index=True)  # done | failed | needs_review
    analyzer: Mapped[str | None] = mapped_column(String(16))  # claude | offline
    model: Mapped[str | None] = mapped_column(String(64))
    prompt_version: Mapped[str | None] = mapped_column(String(32))
    schema_version: Mapped[int | None] = mapped_column(Integer)
    taxonomy_version: Mapped[str | None] = mapped_column(String(32))
    issue_count: Mapped[int] = mapped_column(Integer, default=0)
    no_issue_reason: Mapped[str | None] = mapped_column(String(32))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cache_read_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cache_write_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
    run_id: Mapped[int | None] = mapped_column(Integer)
    batch_id: Mapped[str | None] = mapped_column(String(64))
    analyzed_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Issue(Base):
    """One product issue extracted from a ticket. Ticket facts are copied in for fast trends."""

    __tablename__ = "issues"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("tickets.id"), index=True)
    category: Mapped[str] = mapped_column(String(48), index=True)
    subcategory: Mapped[str] = mapped_column(String(48))
    issue_type: Mapped[str] = mapped_column(String(24))
    severity: Mapped[str] = mapped_column(String(12))
    summary: Mapped[str] = mapped_column(Text)
    detail: Mapped[str] = mapped_column(Text)
    representative_quote: Mapped[str] = mapped_column(Text)
    confidence: Mapped[float] = mapped_column(Float)
    # what the analyzer found the problem is about, for clustering: {"areas": {"cat.sub": share},
    # "terms": {"keyword phrase": weight}} (see ExtractedIssue)
    evidence: Mapped[dict[str, dict[str, float]] | None] = mapped_column(JSON)
    ticket_created_at: Mapped[datetime] = mapped_column(index=True)
    organization_id: Mapped[int | None] = mapped_column(BigInteger)
    requester_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # clustering (a human move pins the issue to its cluster for good)
    cluster_id: Mapped[int | None] = mapped_column(Integer, index=True)
    cluster_similarity: Mapped[float | None] = mapped_column(Float)
    cluster_pinned: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())  # as migrated
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class LLMCall(Base):
    """Every Claude call: tokens, cost and outcome, for run costs and audits."""

    __tablename__ = "llm_calls"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int | None] = mapped_column(Integer, index=True)
    ticket_id: Mapped[int | None] = mapped_column(BigInteger)
    purpose: Mapped[str] = mapped_column(String(24))  # analyze | name_cluster
    model: Mapped[str] = mapped_column(String(64))
    via_batch: Mapped[bool] = mapped_column(Boolean, default=False)
    input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cache_read_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cache_write_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cost_usd: Mapped[float | None] = mapped_column(Float)
    stop_reason: Mapped[str | None] = mapped_column(String(32))
    outcome: Mapped[str] = mapped_column(String(24))  # ok | refusal | max_tokens | invalid | error
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AnalysisBatch(Base):
    """A Message Batches API submission, persisted so a restarted process collects its results."""

    __tablename__ = "analysis_batches"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    run_id: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), index=True)  # submitted | collected | failed
    model: Mapped[str] = mapped_column(String(64))
    prompt_version: Mapped[str] = mapped_column(String(32))
    ticket_ids: Mapped[list[int]] = mapped_column(JSON)
    request_count: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    collected_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)


class IssueEmbedding(Base):
    """The stored embedding of an issue's text, so only new issues are embedded."""

    __tablename__ = "issue_embeddings"

    issue_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("issues.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    model: Mapped[str] = mapped_column(String(96))
    vector: Mapped[bytes] = mapped_column(LargeBinary)


class Cluster(Base):
    """A group of similar issues with a stable id, a name, triage state and its current figures."""

    __tablename__ = "clusters"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(Text)
    summary: Mapped[str | None] = mapped_column(Text)
    name_source: Mapped[str] = mapped_column(String(16))  # offline | claude | human
    name_pinned: Mapped[bool] = mapped_column(Boolean, default=False)
    named_size: Mapped[int] = mapped_column(Integer, default=0)
    merged_into: Mapped[int | None] = mapped_column(Integer)
    retired: Mapped[bool] = mapped_column(Boolean, default=False)
    category: Mapped[str | None] = mapped_column(String(48))
    subcategory: Mapped[str | None] = mapped_column(String(48))
    issue_type: Mapped[str | None] = mapped_column(String(24))
    size: Mapped[int] = mapped_column(Integer, default=0)
    centroid: Mapped[bytes | None] = mapped_column(LargeBinary)
    embedding_model: Mapped[str | None] = mapped_column(String(96))
    triage_status: Mapped[str] = mapped_column(String(16), default=TriageStatus.NEW)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # figures, refreshed by the trends step
    issue_count: Mapped[int] = mapped_column(Integer, default=0)
    ticket_count: Mapped[int] = mapped_column(Integer, default=0)
    customer_count: Mapped[int] = mapped_column(Integer, default=0)
    first_seen: Mapped[datetime | None]
    last_seen: Mapped[datetime | None]
    count_7d: Mapped[int] = mapped_column(Integer, default=0)
    count_prev_7d: Mapped[int] = mapped_column(Integer, default=0)
    change_pct: Mapped[float | None] = mapped_column(Float)
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    emerging: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    emerging_reason: Mapped[str | None] = mapped_column(Text)
    # set when the cluster formed after its problem had already been reported (its earlier reports sit in
    # other clusters or none): the earliest such report. A cluster like that is not a new problem.
    seen_before: Mapped[datetime | None]
    severity_mix: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    trends_at: Mapped[datetime | None]


class ClusterDailyStat(Base):
    """Per cluster and UTC day: issues, distinct tickets, distinct customers."""

    __tablename__ = "cluster_daily_stats"

    cluster_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    day: Mapped[date] = mapped_column(Date, primary_key=True, index=True)
    issues: Mapped[int] = mapped_column(Integer)
    tickets: Mapped[int] = mapped_column(Integer)
    customers: Mapped[int] = mapped_column(Integer)


class DailyTicketStat(Base):
    """Per UTC day: tickets created (live) and how many of them carry a product issue."""

    __tablename__ = "daily_ticket_stats"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    tickets: Mapped[int] = mapped_column(Integer)
    tickets_with_issues: Mapped[int] = mapped_column(Integer)


class DailyIssueStat(Base):
    """Per UTC day, category and severity: issues and distinct tickets (clustered or not)."""

    __tablename__ = "daily_issue_stats"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    category: Mapped[str] = mapped_column(String(48), primary_key=True)
    severity: Mapped[str] = mapped_column(String(12), primary_key=True)
    issues: Mapped[int] = mapped_column(Integer)


class ClusterEvent(Base):
    """Audit trail of cluster changes: human edits (rename, merge, move, pin, status, note) and runs."""

    __tablename__ = "cluster_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    cluster_id: Mapped[int] = mapped_column(Integer, index=True)
    action: Mapped[str] = mapped_column(String(24))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    author: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ClusterNote(Base):
    """Notes product managers leave on a cluster."""

    __tablename__ = "cluster_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    cluster_id: Mapped[int] = mapped_column(Integer, index=True)
    author: Mapped[str | None] = mapped_column(String(128))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ClusterLink(Base):
    """A cluster's link to the issue that fixes it, in Jira or GitHub, with the issue's last known state
    (refreshed by the `refresh_links` run; see `miner.fixes.store`)."""

    __tablename__ = "cluster_links"
    __table_args__ = (
        UniqueConstraint("cluster_id", "tracker", "key", name="uq_cluster_links_issue"),
        CheckConstraint("tracker IN ('jira', 'github')", name="ck_cluster_links_tracker"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    cluster_id: Mapped[int] = mapped_column(Integer, index=True)
    tracker: Mapped[str] = mapped_column(String(16))  # jira | github
    key: Mapped[str] = mapped_column(String(200))  # SW-12 | owner/repo#12
    url: Mapped[str] = mapped_column(Text)  # the issue's page, for people
    title: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str | None] = mapped_column(String(255))  # Jira's status name | open | closed | ...
    resolved: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    resolved_at: Mapped[datetime | None]
    last_checked_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)  # the last refresh's error; None once one succeeds
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(128))


class DirtyDay(Base):
    """Days whose daily stats must be recomputed although no issue row shows it (deletions)."""

    __tablename__ = "trend_dirty_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)


class AppState(Base):
    """Small named values: watermarks and the like."""

    __tablename__ = "app_state"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
class AlertEvent(Base):
    """An alert that fired: one row per rule, cluster and state change. The unique `key` is the
    deduplication across restarts and replicas: whoever inserts it first enqueues the deliveries."""

    __tablename__ = "alert_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(160), unique=True)  # e.g. "emerging:12:1", "digest:2026-11-30"
    rule: Mapped[str] = mapped_column(String(16))  # emerging | regression | digest | test
    cluster_id: Mapped[int | None] = mapped_column(Integer, index=True)
    content: Mapped[dict[str, Any]] = mapped_column(JSON)  # the message, channel-neutral (miner.alerts.message)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    cleared_at: Mapped[datetime | None]  # the state ended (no longer emerging): the next change fires again


class AlertDelivery(Base):
    """The outbox and delivery log: one alert to one channel, with its attempts and outcome."""

    __tablename__ = "alert_deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[int] = mapped_column(Integer, ForeignKey("alert_events.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(64), index=True)
    rule: Mapped[str] = mapped_column(String(16))
    cluster_id: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), index=True)  # pending | sending | delivered | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime]  # not before: backoff, Retry-After, quiet hours
    claimed_until: Mapped[datetime | None]  # a sender holds it until then; past it, another may retry
    claim_token: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None]


Index("ix_issues_cluster_created", Issue.cluster_id, Issue.ticket_created_at)
# Covers "customers affected per cluster" (first appearance of each customer) without table reads.
Index("ix_issues_cluster_customer", Issue.cluster_id, Issue.organization_id, Issue.requester_id,
      Issue.ticket_created_at)
# The deliverer's query (due rows of a status); and one delivery per alert and channel.
Index("ix_alert_deliveries_due", AlertDelivery.status, AlertDelivery.due_at)
Index("uq_alert_deliveries_event_channel", AlertDelivery.event_id, AlertDelivery.channel, unique=True)


# The tables, for Core queries: the same objects as the models' `__table__`, typed as the Tables they are
# (the declarative attribute is typed FromClause).
tickets_t = cast(Table, Ticket.__table__)
comments_t = cast(Table, Comment.__table__)
sync_state_t = cast(Table, SyncState.__table__)
quarantine_t = cast(Table, SyncQuarantine.__table__)
runs_t = cast(Table, TaskRun.__table__)
leases_t = cast(Table, Lease.__table__)
schedules_t = cast(Table, Schedule.__table__)
health_t = cast(Table, HealthCheck.__table__)
reports_t = cast(Table, Report.__table__)
analyses_t = cast(Table, TicketAnalysis.__table__)
issues_t = cast(Table, Issue.__table__)
calls_t = cast(Table, LLMCall.__table__)
batches_t = cast(Table, AnalysisBatch.__table__)
embeddings_t = cast(Table, IssueEmbedding.__table__)
clusters_t = cast(Table, Cluster.__table__)
cluster_days_t = cast(Table, ClusterDailyStat.__table__)
ticket_days_t = cast(Table, DailyTicketStat.__table__)
issue_days_t = cast(Table, DailyIssueStat.__table__)
events_t = cast(Table, ClusterEvent.__table__)
notes_t = cast(Table, ClusterNote.__table__)
dirty_t = cast(Table, DirtyDay.__table__)
app_state_t = cast(Table, AppState.__table__)
alert_events_t = cast(Table, AlertEvent.__table__)
alert_deliveries_t = cast(Table, AlertDelivery.__table__)
