"""The outbox: alerts recorded once (`alert_events`, unique key) and their deliveries (`alert_deliveries`,
which is also the delivery log).

- `fire` inserts an alert's key if absent and, in the same transaction, one delivery per channel that
  wants it; a second replica or a restart inserting the same key gets nothing, so nothing is sent twice.
- `claim` takes due deliveries for one sender: pending ones whose time has come, and ones another sender
  claimed but never finished (its claim expired: the process died mid-delivery). On PostgreSQL the rows are
  locked with FOR UPDATE SKIP LOCKED; on SQLite the write transaction (BEGIN IMMEDIATE) serialises
  claimers. The update re-checks the condition either way.
- `delivered`, `retry`, `fail`, `hold` record the outcome, only while the sender still holds the claim.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Engine, and_, desc, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from miner import db
from miner.alerts.message import Alert, Candidate
from miner.alerts.settings import ChannelSettings
from miner.models import alert_deliveries_t, alert_events_t
from miner.vocabulary import AlertRule, DeliveryStatus

MAX_ERROR_CHARS = 1000
SIZED_RULES = (AlertRule.EMERGING, AlertRule.REGRESSION)  # the rules a channel's minimum size applies to


@dataclass(frozen=True)
class Delivery:
    """A claimed delivery: what to send where, and the claim that lets this sender record the outcome."""

    id: int
    channel: str
    rule: AlertRule
    cluster_id: int | None
    attempts: int  # including this one
    alert: Alert
    claim_token: str


def wants(channel: ChannelSettings, candidate: Candidate) -> bool:
    """Does the channel receive this alert: its rule, and (for a cluster's alert) the minimum size."""
    rule = candidate.alert.rule
    if rule is AlertRule.TEST or rule not in channel.rules:
        return False
    return rule not in SIZED_RULES or candidate.size >= channel.min_size


def fire(engine: Engine, candidates: Sequence[Candidate], channels: Sequence[ChannelSettings],
         now: datetime) -> list[int]:
    """Record each candidate's key unless it is already there, with its deliveries; the new alerts' ids."""
    fired = []
    for candidate in candidates:
        targets = [c.name for c in channels if wants(c, candidate)]
        with db.write_transaction(engine) as conn:
            event_id = _insert_if_absent(conn, candidate, now)
            if event_id is not None:
                _enqueue(conn, event_id, candidate.alert, targets, now)
                fired.append(event_id)
    return fired


def fire_test(engine: Engine, channel: str, alert: Alert, now: datetime) -> int:
    """A test alert for one channel (never deduplicated: each press sends one); the delivery's id."""
    with db.write_transaction(engine) as conn:
        event_id = _insert_if_absent(conn, Candidate(f"test:{channel}:{uuid.uuid4().hex}", alert), now)
        assert event_id is not None
        return _enqueue(conn, event_id, alert, [channel], now)[0]


def clear(engine: Engine, event_ids: Sequence[int], now: datetime) -> None:
    """The state an alert was about ended (a cluster no longer emerging): its next change fires again."""
    if event_ids:
        with db.write_transaction(engine) as conn:
            conn.execute(update(alert_events_t).where(alert_events_t.c.id.in_(event_ids), alert_events_t.c.cleared_at.is_(None))
                         .values(cleared_at=now))


def _insert_if_absent(conn: Connection, candidate: Candidate, now: datetime) -> int | None:
    values = {"key": candidate.key, "rule": candidate.alert.rule.value, "cluster_id": candidate.alert.cluster_id,
              "content": candidate.alert.as_json(), "created_at": now}
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(alert_events_t).values(**values).on_conflict_do_nothing(index_elements=["key"])
    row = conn.execute(stmt.returning(alert_events_t.c.id)).first()
    return None if row is None else int(row[0])


def _enqueue(conn: Connection, event_id: int, alert: Alert, channels: Sequence[str], now: datetime) -> list[int]:
    ids = []
    for channel in channels:
        key = conn.execute(insert(alert_deliveries_t).values(
            event_id=event_id, channel=channel, rule=alert.rule.value, cluster_id=alert.cluster_id,
            status=DeliveryStatus.PENDING.value, attempts=0, due_at=now, created_at=now, updated_at=now,
        )).inserted_primary_key
        assert key is not None
        ids.append(int(key[0]))
    return ids


# --- claiming and outcomes ---------------------------------------------------------------------------


def _due(now: datetime) -> ColumnElement[bool]:
    c = alert_deliveries_t.c
    return or_(and_(c.status == DeliveryStatus.PENDING.value, c.due_at <= now),
               and_(c.status == DeliveryStatus.SENDING.value, c.claimed_until < now))


def claim(engine: Engine, now: datetime, *, lease: float, limit: int = 50,
          ids: Sequence[int] | None = None) -> list[Delivery]:
    """Take up to `limit` due deliveries (or the given ones, if due) for this sender, oldest first."""
    c = alert_deliveries_t.c
    token = uuid.uuid4().hex
    query = select(c.id).where(_due(now)).order_by(c.due_at, c.id).limit(limit)
    if ids is not None:
        query = query.where(c.id.in_(ids))
    with db.write_transaction(engine) as conn:
        if conn.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        chosen = [row[0] for row in conn.execute(query)]
        if not chosen:
            return []
        conn.execute(update(alert_deliveries_t).where(c.id.in_(chosen), _due(now)).values(
            status=DeliveryStatus.SENDING.value, claim_token=token, claimed_until=now + timedelta(seconds=lease),
            attempts=c.attempts + 1, updated_at=now))
        rows = conn.execute(select(c.id, c.channel, c.rule, c.cluster_id, c.attempts, alert_events_t.c.content)
                            .join(alert_events_t, alert_events_t.c.id == c.event_id)
                            .where(c.claim_token == token).order_by(c.due_at, c.id)).all()
    return [Delivery(row.id, row.channel, AlertRule(row.rule), row.cluster_id, row.attempts,
                     Alert.from_json(row.content), token) for row in rows]


def _finish(engine: Engine, delivery: Delivery, now: datetime, **values: Any) -> bool:
    """Record an outcome if this sender still holds the claim (else another sender took the row over)."""
    c = alert_deliveries_t.c
    with db.write_transaction(engine) as conn:
        done = conn.execute(update(alert_deliveries_t).where(
            c.id == delivery.id, c.claim_token == delivery.claim_token, c.status == DeliveryStatus.SENDING.value,
        ).values(updated_at=now, claimed_until=None, **values))
        return bool(done.rowcount)


def delivered(engine: Engine, delivery: Delivery, now: datetime) -> bool:
    return _finish(engine, delivery, now, status=DeliveryStatus.DELIVERED.value, delivered_at=now, last_error=None)


def retry(engine: Engine, delivery: Delivery, now: datetime, due_at: datetime, error: str) -> bool:
    return _finish(engine, delivery, now, status=DeliveryStatus.PENDING.value, due_at=due_at,
                   last_error=error[:MAX_ERROR_CHARS])


def fail(engine: Engine, delivery: Delivery, now: datetime, error: str) -> bool:
    return _finish(engine, delivery, now, status=DeliveryStatus.FAILED.value, last_error=error[:MAX_ERROR_CHARS])


def hold(engine: Engine, delivery: Delivery, now: datetime, until: datetime) -> bool:
    """Quiet hours: back to pending until the window ends; the claim does not count as an attempt."""
    return _finish(engine, delivery, now, status=DeliveryStatus.PENDING.value, due_at=until,
                   attempts=alert_deliveries_t.c.attempts - 1)


def prune(conn: Connection, cutoff: datetime) -> int:
    """The delivery log's finished rows older than `cutoff` (the monthly clean-up). The alerts themselves
    stay: their keys are what keeps an old alert from firing again."""
    c = alert_deliveries_t.c
    done = conn.execute(alert_deliveries_t.delete().where(
        c.status.in_([DeliveryStatus.DELIVERED.value, DeliveryStatus.FAILED.value]), c.updated_at < cutoff))
    return int(done.rowcount)


# --- reading -------------------------------------------------------------------------------------------


def recent(engine: Engine, *, limit: int = 50, channel: str | None = None) -> list[dict[str, Any]]:
    """The delivery log, newest first: channel, rule, cluster, status, attempts, last error, timestamps."""
    c = alert_deliveries_t.c
    query = (select(c.id, c.channel, c.rule, c.cluster_id, alert_events_t.c.content["title"].label("title"), c.status,
                    c.attempts, c.last_error, c.created_at, c.updated_at, c.due_at, c.delivered_at)
             .join(alert_events_t, alert_events_t.c.id == c.event_id).order_by(desc(c.id)).limit(limit))
    if channel is not None:
        query = query.where(c.channel == channel)
    with engine.connect() as conn:
        rows = [dict(row._mapping) for row in conn.execute(query)]
    for row in rows:
        title = row["title"]
        row["title"] = title if isinstance(title, str) or title is None else str(title)
    return rows


def get(engine: Engine, delivery_id: int) -> dict[str, Any] | None:
    """One delivery's row."""
    with engine.connect() as conn:
        row = conn.execute(select(alert_deliveries_t).where(alert_deliveries_t.c.id == delivery_id)).first()
    return dict(row._mapping) if row is not None else None


def failing_streak(engine: Engine, channel: str) -> tuple[int, str | None, datetime | None]:
    """How many failed attempts in a row the channel has had since its last delivery, the latest error, and
    when it last delivered."""
    c = alert_deliveries_t.c
    with engine.connect() as conn:
        last_ok = conn.execute(select(c.delivered_at).where(c.channel == channel, c.status == DeliveryStatus.DELIVERED)
                               .order_by(desc(c.delivered_at)).limit(1)).scalar()
        since = [c.channel == channel, c.attempts > 0, c.status != DeliveryStatus.DELIVERED, c.last_error.is_not(None)]
        if last_ok is not None:
            since.append(c.updated_at > last_ok)
        rows = conn.execute(select(c.attempts, c.status, c.last_error).where(*since).order_by(desc(c.updated_at))).all()
    attempts = sum(row.attempts - (1 if row.status == DeliveryStatus.SENDING else 0) for row in rows)
    return attempts, (rows[0].last_error if rows else None), last_ok
