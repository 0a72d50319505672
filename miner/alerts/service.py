"""What the pipeline, the scheduler, the CLI, the REST API and the Settings page call."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from miner.alerts import outbox, rules
from miner.alerts.deliver import Backoff, DeliverResult, deliver_due
from miner.alerts.message import Alert, Candidate
from miner.alerts.settings import AlertSettings
from miner.vocabulary import AlertRule, DeliveryStatus

log = logging.getLogger(__name__)
RULES = (AlertRule.EMERGING, AlertRule.REGRESSION, AlertRule.DIGEST)


@dataclass
class EvaluateResult:
    fired: dict[str, int] = field(default_factory=dict)  # rule -> new alerts
    cleared: int = 0  # emerging alerts whose cluster is no longer emerging

    def as_dict(self) -> dict[str, Any]:
        return {"fired": dict(self.fired), "cleared": self.cleared}


def evaluate(engine: Engine, settings: AlertSettings, *, rules_to_run: Iterable[AlertRule] = RULES,
             now: datetime | None = None) -> EvaluateResult:
    """Run the rules and enqueue what is new. Safe to run any number of times, in several processes."""
    now = now or datetime.now(UTC)
    result = EvaluateResult()
    for rule in rules_to_run:
        found: list[Candidate]
        if rule is AlertRule.EMERGING:
            found, to_clear = rules.emerging(engine, settings)
            outbox.clear(engine, to_clear, now)
            result.cleared += len(to_clear)
        elif rule is AlertRule.REGRESSION:
            found = rules.regressions(engine, settings, now)
        elif rule is AlertRule.DIGEST:
            found = rules.digest(engine, settings, now)
        else:
            continue
        result.fired[rule.value] = len(outbox.fire(engine, found, settings.channels, now))
    if any(result.fired.values()):
        log.info("alerts: %s", result.as_dict())
    return result


def deliver(engine: Engine, settings: AlertSettings, *, now: Callable[[], datetime] | None = None,
            backoff: Backoff | None = None) -> DeliverResult:
    """Deliver the outbox's due deliveries (the scheduled job, every minute)."""
    if not settings.channels:
        return DeliverResult()
    return deliver_due(engine, settings, now=now, backoff=backoff)


def send_now(engine: Engine, settings: AlertSettings) -> dict[str, Any]:
    """`alerts send`: evaluate every rule and deliver what is due."""
    evaluated = evaluate(engine, settings)
    return {**evaluated.as_dict(), "delivery": deliver(engine, settings).as_dict()}


def sample_alert(settings: AlertSettings) -> Alert:
    quote = 'A customer wrote: "the <b>export</b> & import buttons do nothing"'
    return Alert(rule=AlertRule.TEST, title="Test alert from Product Issue Miner",
                 summary="If you can read this, the channel works. Quotes look like the one below.",
                 facts=(("Tickets (last 7 days)", "12"), ("Customers", "5")), quotes=(quote,),
                 link=settings.public_url)


@dataclass(frozen=True)
class SentTest:
    channel: str
    ok: bool
    message: str
    delivery_id: int


def send_test(engine: Engine, settings: AlertSettings, channel_name: str, *,
              now: datetime | None = None) -> SentTest:
    """Send a test alert to one channel now, through the outbox (so it is in the delivery log too).
    A failed test is not retried: the person pressing the button wants to know now."""
    channel = settings.channel(channel_name)
    now = now or datetime.now(UTC)
    delivery_id = outbox.fire_test(engine, channel.name, sample_alert(settings), now)
    one_shot = settings.model_copy(update={"max_attempts": 1,
                                           "channels": (channel.model_copy(update={"quiet_hours": None}),)})
    deliver_due(engine, one_shot, ids=[delivery_id], now=lambda: now)
    row = outbox.get(engine, delivery_id)
    assert row is not None
    ok = row["status"] == DeliveryStatus.DELIVERED
    message = f"test alert delivered to {channel.name}" if ok else f"{channel.name}: {row['last_error']}"
    return SentTest(channel.name, ok, message, delivery_id)


def channel_health(engine: Engine, settings: AlertSettings) -> list[tuple[str, bool, str]]:
    """Per channel: (name, ok, message). A channel is failing after MINER_ALERT_FAILING_AFTER failed
    attempts in a row since its last delivery."""
    found = []
    for channel in settings.channels:
        streak, error, last_ok = outbox.failing_streak(engine, channel.name)
        last = f"last delivered {last_ok:%Y-%m-%d %H:%M} UTC" if last_ok else "nothing delivered yet"
        if streak >= settings.failing_after:
            found.append((channel.name, False, f"{streak} failed attempt{'' if streak == 1 else 's'} in a row ({last}); last error: {error}"))
        else:
            found.append((channel.name, True, f"{channel.type.label} channel; {last}"))
    return found
