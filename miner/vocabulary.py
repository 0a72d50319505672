"""The product's words, each defined once: run status, run kind, who started a run, a schedule's
trigger type, severity, triage status, and the alerts' rule, channel type and delivery status.

They are `StrEnum`s: a member *is* its string, so the database, JSON and the REST API see exactly the
words they always did ("succeeded", "pipeline", "critical"), while the code can only name words that
exist. Iteration order is the display order. Display labels live next to their enum.

Two words that look alike are kept apart on purpose:
- `StartedBy` is who or what started one run (a button, the API, the CLI, a schedule);
- `ScheduleTrigger` is how a schedule fires (cron or interval), APScheduler's "trigger".
"""

from __future__ import annotations

from enum import StrEnum


class Vocabulary(StrEnum):
    """Base of the enums below (it has no members of its own)."""

    @classmethod
    def values(cls) -> tuple[str, ...]:
        """The plain strings, in display order (for messages, JSON schemas and SQL `IN` lists)."""
        return tuple(member.value for member in cls)

    @property
    def label(self) -> str:
        """How a person reads the word; the word itself unless a label is defined below."""
        return _LABELS.get(type(self), {}).get(self, self.value)

    @classmethod
    def label_of(cls, value: str | None) -> str:
        """The label of a stored value, or the value itself when it is not one of ours."""
        if value is None:
            return ""
        try:
            return cls(value).label
        except ValueError:
            return str(value)


class RunStatus(Vocabulary):
    """Where a run is (table `task_runs.status`). Only `running` is not final."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"  # someone asked it to stop (a button, the API, Ctrl+C, SIGTERM)
    INTERRUPTED = "interrupted"  # stopped from outside: shutdown, a lost lease, a process that died
    SKIPPED = "skipped"  # a scheduled job that found another run going: recorded, never started

    @property
    def final(self) -> bool:
        return self is not RunStatus.RUNNING

    @property
    def ended(self) -> bool:
        """The run started and has stopped (a skipped run never started)."""
        return self.final and self is not RunStatus.SKIPPED


class RunKind(Vocabulary):
    """What a run does: the job, in Dagster's words (table `task_runs.kind`, a schedule's kind)."""

    SYNC = "sync"
    ANALYZE = "analyze"
    CLUSTER = "cluster"
    TRENDS = "trends"
    PIPELINE = "pipeline"
    HEALTH_CHECK = "health_check"  # scheduled only; it records health results, not runs
    WEEKLY_REPORT = "weekly_report"
    MONTHLY_CLEANUP = "monthly_cleanup"
    REFRESH_LINKS = "refresh_links"  # re-read the Jira and GitHub issues clusters are linked to


class StartedBy(Vocabulary):
    """Who or what started a run: the run's own trigger (stored in the column `task_runs.trigger`)."""

    DASHBOARD = "dashboard"
    API = "api"
    CLI = "cli"
    SCHEDULE = "schedule"


class ScheduleTrigger(Vocabulary):
    """How a schedule fires (table `schedules.trigger`)."""

    CRON = "cron"
    INTERVAL = "interval"


class Severity(Vocabulary):
    """An issue's severity, most severe first."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @classmethod
    def most_severe(cls, *levels: str) -> Severity:
        return min((cls(level) for level in levels), key=list(cls).index)


class TriageStatus(Vocabulary):
    """Where a cluster is in the product team's triage (table `clusters.triage_status`)."""

    NEW = "new"
    REVIEWING = "reviewing"
    PLANNED = "planned"
    FIXED = "fixed"
    WONT_FIX = "wont_fix"


class AlertRule(Vocabulary):
    """Why an alert fired."""

    EMERGING = "emerging"  # a cluster became emerging
    REGRESSION = "regression"  # a cluster whose linked fix is resolved gets reports again
    DIGEST = "digest"  # the weekly digest
    TEST = "test"  # "Send a test alert"


class ChannelType(Vocabulary):
    """Where an alert channel delivers."""

    SLACK = "slack"
    TEAMS = "teams"
    EMAIL = "email"
    WEBHOOK = "webhook"


class DeliveryStatus(Vocabulary):
    """Where one alert's delivery to one channel stands."""

    PENDING = "pending"  # waiting for its turn (due_at: backoff, Retry-After, quiet hours)
    SENDING = "sending"  # claimed by a deliverer until claimed_until; past that, retried
    DELIVERED = "delivered"
    FAILED = "failed"  # gave up after MINER_ALERT_MAX_ATTEMPTS, or the channel refused it for good


_LABELS: dict[type[Vocabulary], dict[Vocabulary, str]] = {
    RunKind: {
        RunKind.SYNC: "Sync", RunKind.ANALYZE: "Analyze", RunKind.CLUSTER: "Cluster",
        RunKind.TRENDS: "Trends", RunKind.PIPELINE: "Full pipeline", RunKind.HEALTH_CHECK: "Health check",
        RunKind.WEEKLY_REPORT: "Weekly report", RunKind.MONTHLY_CLEANUP: "Cleanup",
        RunKind.REFRESH_LINKS: "Fix links",
    },
    TriageStatus: {
        TriageStatus.NEW: "New", TriageStatus.REVIEWING: "Reviewing", TriageStatus.PLANNED: "Planned",
        TriageStatus.FIXED: "Fixed", TriageStatus.WONT_FIX: "Won't fix",
    },
}
