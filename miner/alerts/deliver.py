"""The deliverer: claim due deliveries, send each through its channel, record the outcome.

A failed attempt is retried after the receiver's Retry-After, or else a full-jitter exponential backoff,
until MINER_ALERT_MAX_ATTEMPTS; a permanent refusal (404, a rejected login) fails at once. A channel in
its quiet hours gets its deliveries back as pending until the window ends, without using an attempt.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from miner.alerts import mail, outbox, slack, teams, webhook
from miner.alerts.channel import DeliveryError
from miner.alerts.message import Alert
from miner.alerts.outbox import Delivery
from miner.alerts.settings import AlertSettings, ChannelSettings
from miner.config import ConfigError
from miner.retry import full_jitter
from miner.vocabulary import ChannelType

log = logging.getLogger(__name__)
BACKOFF_BASE = 30.0  # seconds: the first retry waits up to a minute, doubling
BACKOFF_CAP = 3600.0  # the longest wait between two attempts (a longer Retry-After is cut to it)


@dataclass
class DeliverResult:
    delivered: int = 0
    retried: int = 0
    failed: int = 0
    held: int = 0  # quiet hours
    lost_claims: int = 0  # another sender took a row over while this one was sending (claim expired)

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True)
class Backoff:
    base: float = BACKOFF_BASE
    cap: float = BACKOFF_CAP

    def delay(self, attempts: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.cap)
        return full_jitter(attempts, base=self.base, cap=self.cap)


def send(channel: ChannelSettings, alert: Alert, *, delivery_id: int, timeout: float) -> None:
    """One attempt to deliver `alert` to `channel`; raises DeliveryError."""
    url = channel.url.get_secret_value() if channel.url else ""
    if channel.type is ChannelType.SLACK:
        slack.send(url, alert, timeout=timeout)
    elif channel.type is ChannelType.TEAMS:
        teams.send(url, alert, timeout=timeout)
    elif channel.type is ChannelType.WEBHOOK:
        assert channel.secret is not None  # validated
        webhook.send(url, channel.secret.get_secret_value(), alert, delivery_id=delivery_id, timeout=timeout)
    else:
        assert channel.smtp_host and channel.from_
        mail.send(alert, host=channel.smtp_host, port=channel.smtp_port, sender=channel.from_, recipients=channel.to,
                  user=channel.smtp_user,
                  password=channel.smtp_password.get_secret_value() if channel.smtp_password else None,
                  starttls=channel.smtp_starttls, implicit_tls=channel.implicit_tls, ca_file=channel.smtp_ca_file,
                  delivery_id=delivery_id,
                  timeout=timeout)


def deliver_due(engine: Engine, settings: AlertSettings, *, now: Callable[[], datetime] | None = None,
                limit: int = 50, ids: Sequence[int] | None = None, backoff: Backoff | None = None) -> DeliverResult:
    """Deliver what is due now (or the deliveries `ids`, if due), batch after batch until none is left."""
    clock = now or (lambda: datetime.now(UTC))
    backoff = backoff or Backoff()
    result = DeliverResult()
    while True:
        batch = outbox.claim(engine, clock(), lease=settings.claim_seconds, limit=limit, ids=ids)
        if not batch:
            return result
        for delivery in batch:
            _deliver_one(engine, settings, delivery, clock, backoff, result)


def _deliver_one(engine: Engine, settings: AlertSettings, delivery: Delivery, clock: Callable[[], datetime],
                 backoff: Backoff, result: DeliverResult) -> None:
    try:
        channel = settings.channel(delivery.channel)
    except ConfigError:  # removed from the settings since: nobody to deliver to
        outbox.fail(engine, delivery, clock(), f"channel {delivery.channel!r} is no longer configured")
        result.failed += 1
        return
    started = clock()
    held_until = channel.quiet_hours.held_until(started, settings.tz) if channel.quiet_hours else None
    if held_until is not None:
        outbox.hold(engine, delivery, started, held_until)
        result.held += 1
        return
    try:
        send(channel, delivery.alert, delivery_id=delivery.id, timeout=settings.timeout)
    except DeliveryError as exc:
        _record_failure(engine, settings, delivery, exc, clock(), backoff, result)
        return
    if outbox.delivered(engine, delivery, clock()):
        result.delivered += 1
        log.info("alert delivery %d (%s, %s) delivered to %s", delivery.id, delivery.rule, delivery.cluster_id,
                 delivery.channel)
    else:
        result.lost_claims += 1


def _record_failure(engine: Engine, settings: AlertSettings, delivery: Delivery, exc: DeliveryError, now: datetime,
                    backoff: Backoff, result: DeliverResult) -> None:
    error = f"attempt {delivery.attempts}: {exc}"
    if exc.permanent or delivery.attempts >= settings.max_attempts:
        outbox.fail(engine, delivery, now, error)
        result.failed += 1
        log.warning("alert delivery %d to %s failed for good: %s", delivery.id, delivery.channel, error)
        return
    wait = backoff.delay(delivery.attempts, exc.retry_after)
    outbox.retry(engine, delivery, now, now + timedelta(seconds=wait), error)
    result.retried += 1
    log.info("alert delivery %d to %s: %s; retrying in %.0f s", delivery.id, delivery.channel, error, wait)
