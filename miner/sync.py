"""Incremental Zendesk sync: ticket export and comment events into the database.

Crash safety comes from one rule: each page's rows and the position to resume from are written in
the same transaction. A crash before the commit loses that page and the next run fetches it again;
a crash after it resumes after it. Upserts make re-reading any page harmless, so `backfill_days` can
re-read a window at will.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Table, select
from sqlalchemy.engine import Connection

from miner import db
from miner.config import Settings
from miner.models import Comment, Organization, SyncState, Ticket
from miner.progress import RunControl
from miner.zendesk import EventPage, TicketPage, ZendeskClient, ZTicket

log = logging.getLogger(__name__)

TICKETS_STREAM = "tickets"
EVENTS_STREAM = "ticket_events"
DEMO_ANCHOR = "demo_anchor"
BACKFILL_OVERLAP = 3600  # seconds re-read before the high-water mark when backfilling

tickets_t: Table = Ticket.__table__  # type: ignore[assignment]
comments_t: Table = Comment.__table__  # type: ignore[assignment]
orgs_t: Table = Organization.__table__  # type: ignore[assignment]
state_t: Table = SyncState.__table__  # type: ignore[assignment]

# Columns a newer live version of a ticket overwrites. A tombstone overwrites only its own columns.
LIVE_COLUMNS = [
    "subject", "description", "status", "priority", "type", "requester_id", "submitter_id",
    "assignee_id", "organization_id", "tags", "via_channel", "created_at", "updated_at",
    "generated_timestamp", "deleted_at", "synced_at",
]  # fmt: skip
TOMBSTONE_COLUMNS = ["status", "generated_timestamp", "deleted_at", "synced_at"]
NEWER = "excluded.generated_timestamp >= tickets.generated_timestamp"


@dataclass
class SyncResult:
    pages: int = 0
    requests: int = 0
    tickets_new: int = 0
    tickets_updated: int = 0
    tickets_deleted: int = 0
    tickets_unchanged: int = 0
    comments: int = 0
    rate_limited: int = 0
    seconds_waited: float = 0.0
    seconds: float = 0.0
    caught_up: bool = False
    started_from: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("extra")
        data.update(self.extra)
        return data

    def summary(self) -> str:
        return (
            f"{self.tickets_new} new, {self.tickets_updated} updated, {self.tickets_deleted} deleted "
            f"tickets; {self.comments} comments; {self.pages} pages, {self.requests} requests, "
            f"{self.rate_limited} rate-limited, {self.seconds_waited:.0f}s waited"
        )


def run_sync(
    engine: Engine,
    client: ZendeskClient,
    *,
    backfill_days: int | None = None,
    initial_days: int = 120,
    control: RunControl | None = None,
    now: datetime | None = None,
    result: SyncResult | None = None,
) -> SyncResult:
    """Sync tickets, then comments, from where the last run stopped (or from `backfill_days` ago).

    Pass `result` to keep the figures of a sync that stops half-way.
    """
    control = control or client.control
    now = now or datetime.now(UTC)
    result = result if result is not None else SyncResult()
    started = time.monotonic()
    try:
        _sync_tickets(engine, client, result, backfill_days, initial_days, control, now)
        _sync_comments(engine, client, result, backfill_days, initial_days, control, now)
        result.caught_up = True
    finally:
        result.requests = client.stats.requests
        result.rate_limited = client.stats.rate_limited
        result.seconds_waited = round(client.stats.seconds_waited, 2)
        result.seconds = round(time.monotonic() - started, 2)
    log.info("sync finished: %s", result.summary())
    return result


# --- tickets ------------------------------------------------------------------------------------


def _sync_tickets(
    engine: Engine,
    client: ZendeskClient,
    result: SyncResult,
    backfill_days: int | None,
    initial_days: int,
    control: RunControl,
    now: datetime,
) -> None:
    state = read_state(engine, TICKETS_STREAM)
    cursor: str | None = None
    start_time: int | None = None
    if backfill_days is not None and state and state.cursor:
        start_time = int((now - timedelta(days=backfill_days)).timestamp())
        if state.start_time is not None:  # never skip what was not read yet
            start_time = min(start_time, state.start_time - BACKFILL_OVERLAP)
        result.started_from = f"backfill from {_iso(start_time)}"
    elif state and state.cursor:
        cursor = state.cursor
        result.started_from = "stored cursor"
    else:  # the first sync reads the initial window (or more, if a backfill asks for more)
        start_time = int((now - timedelta(days=max(initial_days, backfill_days or 0))).timestamp())
        result.started_from = f"first sync from {_iso(start_time)}"

    control.stage("Syncing tickets", message=result.started_from)
    high_water = state.start_time if state else None
    first_ts: int | None = None
    seen = 0
    for page in client.ticket_pages(cursor=cursor, start_time=start_time):
        control.check()
        page_high = max((_generated_ts(t) for t in page.tickets), default=None)
        if page_high is not None:
            high_water = max(high_water or 0, page_high)
        with db.write_transaction(engine) as conn:
            _store_tickets(conn, page, result, now)
            write_state(
                conn,
                TICKETS_STREAM,
                cursor=page.after_cursor or cursor,
                start_time=high_water,
                caught_up=now if page.end_of_stream else None,
            )
        result.pages += 1
        seen += len(page.tickets)
        if first_ts is None and page.tickets:
            first_ts = min(_generated_ts(t) for t in page.tickets)
        control.update(
            done=seen,
            total=seen if page.end_of_stream else _estimate_total(seen, first_ts, page_high, now),
            message=f"{result.tickets_new} new, {result.tickets_updated} updated, "
            f"{result.tickets_deleted} deleted",
        )


TICKET_COLUMNS = ["id", *LIVE_COLUMNS]
LIVE_UPSERT = db.BulkUpsert("tickets", TICKET_COLUMNS, key=["id"], update=LIVE_COLUMNS, where=NEWER)
TOMBSTONE_UPSERT = db.BulkUpsert("tickets", TICKET_COLUMNS, key=["id"], update=TOMBSTONE_COLUMNS, where=NEWER)
COMMENT_INSERT = db.BulkUpsert("comments", ["id", "ticket_id", "author_id", "public", "body", "created_at"],
                               key=["id"])


def _store_tickets(conn: Connection, page: TicketPage, result: SyncResult, now: datetime) -> None:
    if page.organizations:
        db.upsert(
            conn,
            orgs_t,
            [{"id": o.id, "name": o.name, "updated_at": o.updated_at} for o in page.organizations],
            key=["id"],
            update=["name", "updated_at"],
        )
    if not page.tickets:
        return
    ids = [t.id for t in page.tickets]
    known = {
        row.id: (row.generated_timestamp, row.status)
        for row in conn.execute(
            select(tickets_t.c.id, tickets_t.c.generated_timestamp, tickets_t.c.status).where(
                tickets_t.c.id.in_(ids)
            )
        )
    }
    synced = db.db_datetime(conn, now)
    live: list[tuple[Any, ...]] = []
    tombstones: list[tuple[Any, ...]] = []
    for t in page.tickets:
        gts = _generated_ts(t)
        previous = known.get(t.id)
        if t.status == "deleted":
            tombstones.append(_tombstone_row(conn, t, gts, synced, now))
            if previous is None or (previous[1] != "deleted" and gts >= previous[0]):
                result.tickets_deleted += 1
            else:
                result.tickets_unchanged += 1
        else:
            live.append(_live_row(conn, t, gts, synced))
            if previous is None:
                result.tickets_new += 1
            elif gts > previous[0] or (previous[1] == "deleted" and gts >= previous[0]):
                result.tickets_updated += 1
            else:
                result.tickets_unchanged += 1
        known[t.id] = (gts, t.status)
    LIVE_UPSERT.execute(conn, live)
    TOMBSTONE_UPSERT.execute(conn, tombstones)
    if tombstones:  # a deleted ticket's issues leave every count
        from miner.analysis.store import forget_issues

        forget_issues(conn, [row[0] for row in tombstones])


def _live_row(conn: Connection, t: ZTicket, gts: int, synced: Any) -> tuple[Any, ...]:
    # the order of TICKET_COLUMNS: id, then LIVE_COLUMNS
    return (
        t.id, t.subject, t.description, t.status, t.priority, t.type, t.requester_id, t.submitter_id,
        t.assignee_id, t.organization_id, db.db_json(t.tags or []),
        str(t.via.channel) if t.via and t.via.channel is not None else None,
        db.db_datetime(conn, t.created_at), db.db_datetime(conn, t.updated_at), gts, None, synced,
    )


def _tombstone_row(conn: Connection, t: ZTicket, gts: int, synced: Any, now: datetime) -> tuple[Any, ...]:
    """What we keep of a deleted ticket we never saw alive: metadata, no content."""
    return (
        t.id, None, None, "deleted", None, None, t.requester_id, t.submitter_id, None, t.organization_id,
        "[]", None, db.db_datetime(conn, t.created_at), db.db_datetime(conn, t.updated_at), gts,
        db.db_datetime(conn, t.updated_at or now), synced,
    )


def _generated_ts(t: ZTicket) -> int:
    if t.generated_timestamp is not None:
        return t.generated_timestamp
    return int(t.updated_at.timestamp()) if t.updated_at else 0


# --- comments -----------------------------------------------------------------------------------


def _sync_comments(
    engine: Engine,
    client: ZendeskClient,
    result: SyncResult,
    backfill_days: int | None,
    initial_days: int,
    control: RunControl,
    now: datetime,
) -> None:
    state = read_state(engine, EVENTS_STREAM)
    if state and state.start_time is not None:
        start = state.start_time
        if backfill_days is not None:
            start = min(start, int((now - timedelta(days=backfill_days)).timestamp()))
    else:
        start = int((now - timedelta(days=max(initial_days, backfill_days or 0))).timestamp())
    control.stage("Syncing comments", message=f"ticket events from {_iso(start)}")
    first = start
    seen = 0
    for page in client.ticket_event_pages(start_time=start):
        control.check()
        with db.write_transaction(engine) as conn:
            _store_comments(conn, page, result)
            next_start = page.end_time if page.end_time is not None else start
            write_state(
                conn,
                EVENTS_STREAM,
                start_time=next_start,
                caught_up=now if page.end_of_stream else None,
            )
        start = max(start, next_start)
        result.pages += 1
        seen += len(page.ticket_events)
        control.update(
            done=seen,
            total=seen if page.end_of_stream else _estimate_total(seen, first, start, now),
            message=f"{result.comments} new comments",
        )


def _store_comments(conn: Connection, page: EventPage, result: SyncResult) -> None:
    rows: dict[int, tuple[Any, ...]] = {}
    for event in page.ticket_events:
        if event.ticket_id is None:
            continue
        fallback_time = event.created_at or (
            datetime.fromtimestamp(event.timestamp, UTC) if event.timestamp is not None else None
        )
        for child in event.child_events or ():
            if not child.is_comment or child.id is None:
                continue
            created = child.created_at or fallback_time
            if created is None:
                continue
            body = child.body if child.body is not None else (child.plain_body or "")
            public = True if child.public is None else child.public
            rows[child.id] = (child.id, event.ticket_id, child.author_id, public, body,
                              db.db_datetime(conn, created))
    # ON CONFLICT DO NOTHING: a comment seen twice (pages repeat a second) is stored once
    result.comments += COMMENT_INSERT.execute(conn, list(rows.values()))


# --- state --------------------------------------------------------------------------------------


def read_state(engine: Engine | Connection, stream: str) -> SyncState | None:
    query = select(state_t).where(state_t.c.stream == stream)
    if isinstance(engine, Connection):
        row = engine.execute(query).first()
    else:
        with engine.connect() as conn:
            row = conn.execute(query).first()
    if row is None:
        return None
    return SyncState(**row._mapping)


def write_state(
    conn: Connection,
    stream: str,
    *,
    cursor: str | None = None,
    start_time: int | None = None,
    caught_up: datetime | None = None,
) -> None:
    row = {
        "stream": stream,
        "cursor": cursor,
        "start_time": start_time,
        "updated_at": datetime.now(UTC),
        "caught_up_at": caught_up,
    }
    update = ["cursor", "start_time", "updated_at"] + (["caught_up_at"] if caught_up else [])
    db.upsert(conn, state_t, [row], key=["stream"], update=update)


def reset_state(engine: Engine) -> None:
    """Forget every stream position (the next sync starts from MINER_INITIAL_SYNC_DAYS ago)."""
    with db.write_transaction(engine) as conn:
        conn.execute(state_t.delete().where(state_t.c.stream.in_([TICKETS_STREAM, EVENTS_STREAM])))


def _estimate_total(done: int, first_ts: int | None, last_ts: int | None, now: datetime) -> int | None:
    """Streams are ordered by time, so the share of time covered estimates the share of rows read."""
    if not done or first_ts is None or last_ts is None:
        return None
    span = now.timestamp() - first_ts
    covered = last_ts - first_ts
    if span <= 0 or covered <= 0:
        return None
    fraction = covered / span
    return max(done + 1, round(done / fraction)) if fraction > 0.02 else None


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")


# --- wiring -------------------------------------------------------------------------------------


@contextmanager
def open_zendesk(
    settings: Settings,
    engine: Engine,
    control: RunControl | None = None,
    *,
    demo_url: str | None = None,
) -> Iterator[ZendeskClient]:
    """A client for the configured source; in demo mode, against the built-in demo Zendesk.

    `demo_url` reuses a demo server that is already running (the dashboard keeps one); otherwise
    one is started for the duration of the block.
    """
    if settings.effective_source == "demo":
        if demo_url is None:
            from miner.demo.server import DemoZendesk

            with DemoZendesk(now=demo_anchor(engine), n_tickets=settings.demo_tickets) as server:
                with ZendeskClient(server.url, rpm=0, max_wait=settings.zendesk_max_wait_seconds,
                                   control=control) as client:
                    yield client
            return
        with ZendeskClient(demo_url, rpm=0, max_wait=settings.zendesk_max_wait_seconds,
                           control=control) as client:
            yield client
        return
    base = settings.zendesk_url
    assert base is not None  # guaranteed by Settings validation when the source is zendesk
    with ZendeskClient(
        base,
        email=settings.zendesk_email,
        api_token=settings.zendesk_api_token.get_secret_value() if settings.zendesk_api_token else None,
        oauth_token=(
            settings.zendesk_oauth_token.get_secret_value() if settings.zendesk_oauth_token else None
        ),
        rpm=settings.zendesk_incremental_rpm,
        max_wait=settings.zendesk_max_wait_seconds,
        control=control,
    ) as client:
        yield client


def demo_anchor(engine: Engine, *, reset: bool = False) -> datetime:
    """The moment the demo dataset is generated relative to, fixed at first use.

    The demo data is generated from a seed relative to this time, so every process (dashboard, CLI,
    scheduler, replicas) serves the identical dataset and incremental syncs see no phantom changes.
    """
    anchor = datetime.now(UTC).replace(second=0, microsecond=0)
    row = {"stream": DEMO_ANCHOR, "cursor": anchor.isoformat(), "updated_at": anchor}
    with db.write_transaction(engine) as conn:
        # insert-if-absent, then read: two processes starting together agree on one anchor
        db.upsert(conn, state_t, [row], key=["stream"], update=["cursor", "updated_at"] if reset else None)
        state = read_state(conn, DEMO_ANCHOR)
    assert state is not None and state.cursor
    return datetime.fromisoformat(state.cursor)
