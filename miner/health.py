"""Health checks: is the database up, is Zendesk reachable with valid credentials, is the Claude key
valid, does each alert channel deliver, does each configured tracker (Jira, GitHub) answer the hourly
refresh of the linked issues. Run every 5 minutes by the scheduler and on demand from the
Settings page; the latest result per component is kept in table `health_checks`.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select

from miner import db
from miner.alerts.settings import AlertSettings
from miner.config import Settings
from miner.errors import describe
from miner.fixes.settings import FixSettings
from miner.models import health_t

log = logging.getLogger(__name__)
COMPONENTS = ("database", "zendesk", "claude")
ALERT_COMPONENT = "alert:"  # + the channel's name (health_checks.component is 32 characters)
TRACKER_COMPONENT = "tracker:"  # + "jira" or "github"


@dataclass(frozen=True)
class Health:
    component: str
    ok: bool
    message: str
    latency_ms: float | None
    checked_at: datetime

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["checked_at"] = self.checked_at.isoformat()
        return data


def _timed(component: str, check: Any) -> Health:
    started = time.monotonic()
    try:
        ok, message = check()
    except Exception as exc:  # a failed check is a result, not a crash
        ok, message = False, describe(exc)
        log.debug("health check %s failed", component, exc_info=True)  # MINER_LOG_LEVEL=DEBUG: the traceback
    return Health(component, ok, message, round((time.monotonic() - started) * 1000, 1),
                  datetime.now(UTC))


def check_database(engine: Engine) -> Health:
    def run() -> tuple[bool, str]:
        db.ping(engine)
        return True, f"{engine.dialect.name} reachable, schema at {db.current_revision(engine)}"

    return _timed("database", run)


def check_zendesk(settings: Settings, demo_url: str | None = None) -> Health:
    def run() -> tuple[bool, str]:
        from miner.zendesk import ZendeskClient

        if settings.effective_source == "demo":
            if demo_url is None:
                return True, "demo mode: the built-in demo Zendesk starts with each sync"
            with ZendeskClient(demo_url, rpm=0, max_attempts=1, timeout=10) as client:
                client.me()
            return True, f"demo mode: built-in demo Zendesk at {demo_url}"
        with ZendeskClient.from_settings(settings, rpm=0, max_attempts=1, timeout=10, max_wait=5) as client:
            user = client.me()
        if user.id is None:
            return False, "Zendesk answered as an anonymous user: check ZENDESK_EMAIL and the token"
        role = f" (role: {user.role})" if user.role else ""
        if user.role and user.role != "admin":
            return False, f"signed in as {user.name}{role}; incremental exports need an admin"
        return True, f"signed in to {settings.zendesk_public_url} as {user.name}{role}"

    return _timed("zendesk", run)


def check_claude(settings: Settings) -> Health:
    def run() -> tuple[bool, str]:
        if settings.effective_analyzer == "offline":
            return True, "offline analyzer in use (no ANTHROPIC_API_KEY); Claude not needed"
        import anthropic

        from miner.analysis.claude import anthropic_client

        client = anthropic_client(settings, timeout=10)
        try:
            client.models.retrieve(settings.claude_model)
        except anthropic.AuthenticationError:
            return False, "Anthropic rejected ANTHROPIC_API_KEY (401)"
        except anthropic.NotFoundError:
            return False, f"MINER_CLAUDE_MODEL {settings.claude_model!r} is not available to this key"
        except anthropic.APIConnectionError as exc:
            return False, f"cannot reach the Anthropic API ({exc})"
        return True, f"key valid; model {settings.claude_model} available"

    return _timed("claude", run)


def check_alert_channels(engine: Engine, alerts: AlertSettings) -> list[Health]:
    """One result per alert channel: failing after MINER_ALERT_FAILING_AFTER failed attempts in a row."""
    from miner.alerts.service import channel_health

    started = time.monotonic()
    try:
        found = channel_health(engine, alerts)
    except Exception as exc:  # e.g. the database is down: the database check says so
        return [Health(ALERT_COMPONENT + c.name, False, describe(exc), None, datetime.now(UTC)) for c in alerts.channels]
    took = round((time.monotonic() - started) * 1000, 1)
    return [Health(ALERT_COMPONENT + name, ok, message, took, datetime.now(UTC)) for name, ok, message in found]


def check_trackers(engine: Engine, fixes: FixSettings) -> list[Health]:
    """One result per configured tracker: failing after refreshes in a row in which it answered nothing.
    Read from the refresh runs' results, not asked anew: what counts is whether the hourly job works."""
    from miner.fixes.service import tracker_health

    started = time.monotonic()
    try:
        found = tracker_health(engine, fixes.configured)
    except Exception as exc:  # e.g. the database is down: the database check says so
        return [Health(TRACKER_COMPONENT + name, False, describe(exc), None, datetime.now(UTC))
                for name in fixes.configured]
    took = round((time.monotonic() - started) * 1000, 1)
    return [Health(TRACKER_COMPONENT + name, ok, message, took, datetime.now(UTC)) for name, ok, message in found]


def run_checks(settings: Settings, engine: Engine, demo_url: str | None = None,
               alerts: AlertSettings | None = None) -> list[Health]:
    results = [check_database(engine), check_zendesk(settings, demo_url), check_claude(settings)]
    if alerts is not None:
        results += check_alert_channels(engine, alerts)
    results += check_trackers(engine, settings.fixes)
    try:
        with db.write_transaction(engine) as conn:
            db.upsert(conn, health_t, [
                {"component": h.component, "ok": h.ok, "message": h.message[:1000],
                 "latency_ms": h.latency_ms, "checked_at": h.checked_at} for h in results
            ], key=["component"], update=["ok", "message", "latency_ms", "checked_at"])
    except Exception:  # the database check above already says what is wrong
        log.warning("could not store health-check results", exc_info=True)
    for h in results:
        if not h.ok:
            log.warning("health check %s failed: %s", h.component, h.message)
    return results


def latest(engine: Engine, alerts: AlertSettings | None = None, fixes: FixSettings | None = None) -> list[Health]:
    """The latest result per component; with `alerts`, also its channels', with `fixes` its trackers'
    (configured ones only: a channel or tracker removed from the settings is no longer shown)."""
    with engine.connect() as conn:
        rows = {row.component: row for row in conn.execute(select(health_t))}
    wanted = [*COMPONENTS, *(ALERT_COMPONENT + c.name for c in (alerts.channels if alerts else ())),
              *(TRACKER_COMPONENT + name for name in (fixes.configured if fixes else ()))]
    return [Health(c, rows[c].ok, rows[c].message, rows[c].latency_ms, rows[c].checked_at)
            for c in wanted if c in rows]
