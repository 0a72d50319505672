"""Incremental Zendesk sync: ticket export and comment events into the database.

Crash safety comes from one rule: each page's rows and the position to resume from are written in
the same transaction. A crash before the commit loses that page and the next run fetches it again;
a crash after it resumes after it. Upserts make re-reading any page harmless, so `backfill_days` can
re-read a window at will.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from pydantic import BaseModel
from sqlalchemy import Engine, bindparam, select, update
from sqlalchemy.engine import Connection

from miner import db
from miner.models import SyncState, comments_t, sync_state_t, tickets_t
from miner.progress import RunControl
from miner.quarantine import Quarantine, pending
from miner.zendesk import ZendeskClient, ZendeskError
from miner.zendesk_wire import (
    EXCERPT_CHARS,
    PRIVACY_TYPE,
    REDACTION_TYPE,
    EventPage,
    Rejected,
    TicketPage,
    ZComment,
    ZTicket,
)

log = logging.getLogger(__name__)

TICKETS_STREAM = "tickets"
EVENTS_STREAM = "ticket_events"
BACKFILL_OVERLAP = 3600  # seconds re-read before the high-water mark when backfilling


# Columns a newer live version of a ticket overwrites. A tombstone overwrites only its own columns.
LIVE_COLUMNS = [
    "subject", "description", "status", "priority", "type", "requester_id", "submitter_id",
    "assignee_id", "organization_id", "tags", "via_channel", "created_at", "updated_at",
    "generated_timestamp", "deleted_at", "synced_at", "purged_at",
]  # fmt: skip
TOMBSTONE_COLUMNS = ["status", "generated_timestamp", "deleted_at", "synced_at"]
NEWER = "excluded.generated_timestamp >= tickets.generated_timestamp"


class SyncListener(Protocol):
    """What reacts to the changes a sync stores (the analysis: `miner.analysis.store.SyncReaction`). Each
    method runs inside the transaction that stores the change, so the reaction commits or rolls back with it."""

    def tickets_deleted(self, conn: Connection, ticket_ids: Sequence[int]) -> None:
        """These tickets were deleted in Zendesk."""

    def text_changed(self, conn: Connection, ticket_ids: Sequence[int]) -> int:
        """What these tickets say changed (a redaction, an edit, a comment made private); returns how many
        analysed tickets go back to the analysis queue."""


class IgnoreChanges:
    """A listener that does nothing: a sync with nothing downstream of it."""

    def tickets_deleted(self, conn: Connection, ticket_ids: Sequence[int]) -> None:
        pass

    def text_changed(self, conn: Connection, ticket_ids: Sequence[int]) -> int:
        return 0


@dataclass
class SyncResult:
    pages: int = 0
    requests: int = 0
    tickets_new: int = 0
    tickets_updated: int = 0
    tickets_deleted: int = 0
    tickets_unchanged: int = 0
    comments: int = 0
    comments_updated: int = 0  # body (redaction, edit) or visibility changed in Zendesk
    reanalysis_queued: int = 0  # analysed tickets whose text changed: their issues go, they are analysed again
    quarantined: int = 0  # objects set aside (see miner.quarantine)
    quarantine_released: int = 0  # quarantined objects stored by this run
    rate_limited: int = 0
    seconds_waited: float = 0.0
    seconds: float = 0.0
    caught_up: bool = False
    started_from: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        quarantined = f"; {self.quarantined} quarantined" if self.quarantined else ""
        return (
            f"{self.tickets_new} new, {self.tickets_updated} updated, {self.tickets_deleted} deleted "
            f"tickets; {self.comments} comments ({self.comments_updated} changed){quarantined}; "
            f"{self.pages} pages, {self.requests} requests, "
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
    on_change: SyncListener | None = None,
) -> SyncResult:
    """Sync tickets, then comments, from where the last run stopped (or from `backfill_days` ago).

    Pass `result` to keep the figures of a sync that stops half-way, and `on_change` to have deleted and
    changed tickets acted on (the pipeline passes the analysis store's reaction; without one, nothing is).
    """
    listener: SyncListener = on_change if on_change is not None else IgnoreChanges()
    control = control or client.control
    now = now or datetime.now(UTC)
    result = result if result is not None else SyncResult()
    started = time.monotonic()
    quarantine = Quarantine.load(engine)
    try:
        run = _Sync(engine, client, result, control, now, quarantine, listener)
        _sync_tickets(run, backfill_days, initial_days)
        _sync_comments(run, backfill_days, initial_days)
        result.caught_up = True
    finally:
        result.quarantined = quarantine.added
        result.quarantine_released = quarantine.released
        result.requests = client.stats.requests
        result.rate_limited = client.stats.rate_limited
        result.seconds_waited = round(client.stats.seconds_waited, 2)
        result.seconds = round(time.monotonic() - started, 2)
    log.info("sync finished: %s", result.summary())
    return result


@dataclass(frozen=True)
class _Sync:
    """What every step of one sync uses."""

    engine: Engine
    client: ZendeskClient
    result: SyncResult
    control: RunControl
    now: datetime
    quarantine: Quarantine
    listener: SyncListener


# --- tickets ------------------------------------------------------------------------------------


def _sync_tickets(run: _Sync, backfill_days: int | None, initial_days: int) -> None:
    state = read_state(run.engine, TICKETS_STREAM)
    cursor: str | None = None
    start_time: int | None = None
    if backfill_days is not None and state and state.cursor:
        start_time = int((run.now - timedelta(days=backfill_days)).timestamp())
        if state.start_time is not None:  # never skip what was not read yet
            start_time = min(start_time, state.start_time - BACKFILL_OVERLAP)
        run.result.started_from = f"backfill from {_iso(start_time)}"
    elif state and state.cursor:
        cursor = state.cursor
        run.result.started_from = "stored cursor"
    else:  # the first sync reads the initial window (or more, if a backfill asks for more)
        start_time = int((run.now - timedelta(days=max(initial_days, backfill_days or 0))).timestamp())
        run.result.started_from = f"first sync from {_iso(start_time)}"

    run.control.stage("Syncing tickets", message=run.result.started_from)
    high_water = state.start_time if state else None
    first_ts: int | None = None
    seen = 0
    for page in run.client.ticket_pages(cursor=cursor, start_time=start_time):
        run.control.check()
        page_high = max((_generated_ts(t) for t in page.tickets), default=None)
        if page_high is not None:
            high_water = max(high_water or 0, page_high)
        with db.write_transaction(run.engine) as conn:
            _store_tickets(conn, page, run.result, run.now, run.quarantine, run.listener)
            write_state(
                conn,
                TICKETS_STREAM,
                cursor=page.after_cursor or cursor,
                start_time=high_water,
                caught_up=run.now if page.end_of_stream else None,
            )
        run.result.pages += 1
        seen += len(page.tickets)
        if first_ts is None and page.tickets:
            first_ts = min(_generated_ts(t) for t in page.tickets)
        run.control.update(
            done=seen,
            total=seen if page.end_of_stream else _estimate_total(seen, first_ts, page_high, run.now),
            message=f"{run.result.tickets_new} new, {run.result.tickets_updated} updated, "
            f"{run.result.tickets_deleted} deleted",
        )


TICKET_COLUMNS = ["id", *LIVE_COLUMNS]
LIVE_UPSERT = db.BulkUpsert("tickets", TICKET_COLUMNS, key=["id"], update=LIVE_COLUMNS, where=NEWER)
TOMBSTONE_UPSERT = db.BulkUpsert("tickets", TICKET_COLUMNS, key=["id"], update=TOMBSTONE_COLUMNS, where=NEWER)
ORG_UPSERT = db.BulkUpsert("organizations", ["id", "name", "updated_at"], key=["id"], update=["name", "updated_at"])
COMMENT_COLUMNS = ["id", "ticket_id", "author_id", "public", "body", "created_at"]
COMMENT_INSERT = db.BulkUpsert("comments", COMMENT_COLUMNS, key=["id"])
COMMENT_UPDATE = (update(comments_t).where(comments_t.c.id == bindparam("comment_id"))
                  .values(body=bindparam("new_body"), public=bindparam("new_public")))


def _store_tickets(conn: Connection, page: TicketPage, result: SyncResult, now: datetime,
                   quarantine: Quarantine, listener: SyncListener) -> None:
    for bad in page.rejected:
        _hold_rejected(conn, quarantine, TICKETS_STREAM, bad, now)
    if page.organizations:
        orgs = page.organizations
        refused = ORG_UPSERT.execute_isolating(
            conn, [(o.id, db.storable(o.name), db.db_datetime(conn, o.updated_at)) for o in orgs]).refused
        _hold_refused(conn, quarantine, TICKETS_STREAM, "organization", orgs, refused, now)
        quarantine.release(conn, "organization", _stored(orgs, refused))
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
    live_tickets: list[tuple[ZTicket, str]] = []  # (ticket, the figure it counts towards)
    tombstones: list[tuple[Any, ...]] = []
    dead_tickets: list[tuple[ZTicket, str]] = []
    for t in page.tickets:
        gts = _generated_ts(t)
        previous = known.get(t.id)
        if t.status == "deleted":
            tombstones.append(_tombstone_row(conn, t, gts, synced, now))
            fresh = previous is None or (previous[1] != "deleted" and gts >= previous[0])
            dead_tickets.append((t, "tickets_deleted" if fresh else "tickets_unchanged"))
        else:
            live.append(_live_row(conn, t, gts, synced))
            if previous is None:
                outcome = "tickets_new"
            elif gts > previous[0] or (previous[1] == "deleted" and gts >= previous[0]):
                outcome = "tickets_updated"
            else:
                outcome = "tickets_unchanged"
            live_tickets.append((t, outcome))
        known[t.id] = (gts, t.status)
    stored: list[ZTicket] = []
    for upsert, rows, tickets in ((LIVE_UPSERT, live, live_tickets), (TOMBSTONE_UPSERT, tombstones, dead_tickets)):
        refused = upsert.execute_isolating(conn, rows).refused
        if refused:
            _hold_refused(conn, quarantine, TICKETS_STREAM, "ticket", [t for t, _ in tickets], refused, now)
        skip = {index for index, _ in refused}
        for index, (t, outcome) in enumerate(tickets):
            if index not in skip:
                setattr(result, outcome, getattr(result, outcome) + 1)
                stored.append(t)
    quarantine.release(conn, "ticket", [t.id for t in stored])
    gone = [t.id for t in stored if t.status == "deleted"]
    if gone:  # a deleted ticket's issues leave every count
        listener.tickets_deleted(conn, gone)


def _live_row(conn: Connection, t: ZTicket, gts: int, synced: Any) -> tuple[Any, ...]:
    # the order of TICKET_COLUMNS: id, then LIVE_COLUMNS; text goes through db.storable
    text = db.storable
    return (
        t.id, text(t.subject), text(t.description), text(t.status), text(t.priority), text(t.type),
        t.requester_id, t.submitter_id, t.assignee_id, t.organization_id,
        db.db_json([text(tag) for tag in t.tags] if t.tags else []),
        text(str(t.via.channel)) if t.via and t.via.channel is not None else None,
        db.db_datetime(conn, t.created_at), db.db_datetime(conn, t.updated_at), gts, None, synced, None,
    )


def _tombstone_row(conn: Connection, t: ZTicket, gts: int, synced: Any, now: datetime) -> tuple[Any, ...]:
    """What we keep of a deleted ticket we never saw alive: metadata, no content."""
    return (
        t.id, None, None, "deleted", None, None, t.requester_id, t.submitter_id, None, t.organization_id,
        "[]", None, db.db_datetime(conn, t.created_at), db.db_datetime(conn, t.updated_at), gts,
        db.db_datetime(conn, t.updated_at or now), synced, None,
    )


def _stored(objects: list[Any], refused: list[tuple[int, Exception]]) -> list[Any]:
    skip = {index for index, _ in refused}
    return [o.id for index, o in enumerate(objects) if index not in skip]


def _excerpt(obj: BaseModel) -> str:
    text = obj.model_dump_json()
    return text if len(text) <= EXCERPT_CHARS else text[:EXCERPT_CHARS] + "..."


def _hold_rejected(conn: Connection, quarantine: Quarantine, stream: str, bad: Rejected, now: datetime) -> None:
    of_ticket = f" (ticket {bad.ticket_id})" if bad.ticket_id is not None else ""
    quarantine.hold(conn, stream=stream, object_type=bad.object_type, object_id=bad.object_id,
                    error=f"not in the documented format{of_ticket}: {bad.error}", excerpt=bad.excerpt, now=now)


def _hold_refused(conn: Connection, quarantine: Quarantine, stream: str, object_type: str,
                  objects: list[Any], refused: list[tuple[int, Exception]], now: datetime) -> None:
    """Rows the database refused (one by one, the rest of the page being stored)."""
    for index, exc in refused:
        obj = objects[index]
        quarantine.hold(conn, stream=stream, object_type=object_type, object_id=obj.id,
                        error=f"refused by the database: {exc}", excerpt=_excerpt(obj), now=now)


def _generated_ts(t: ZTicket) -> int:
    if t.generated_timestamp is not None:
        return t.generated_timestamp
    return int(t.updated_at.timestamp()) if t.updated_at else 0


# --- comments -----------------------------------------------------------------------------------
#
# Comments come from the ticket-event export. A comment seen again is compared with what is stored: a
# changed body (an edit, a redaction) or visibility overwrites it. A "Comment redaction event" makes
# the sync re-read that ticket's comments (the event says which comment, not what is left of it); a
# "Comment privacy change event" sets `public`. Either way the ticket's issues, which may quote or
# paraphrase the old text, are dropped and the ticket is analysed again.

REDACTION = "comment_redaction"  # quarantine type of a redaction whose re-read failed (retried every sync)


def _sync_comments(run: _Sync, backfill_days: int | None, initial_days: int) -> None:
    state = read_state(run.engine, EVENTS_STREAM)
    if state and state.start_time is not None:
        start = state.start_time
        if backfill_days is not None:
            start = min(start, int((run.now - timedelta(days=backfill_days)).timestamp()))
    else:
        start = int((run.now - timedelta(days=max(initial_days, backfill_days or 0))).timestamp())
    run.control.stage("Syncing comments", message=f"ticket events from {_iso(start)}")
    purged = _purged_ticket_ids(run.engine)
    _retry_redactions(run.engine, run.client, run.result, run.quarantine, purged, run.now, run.listener)
    first = start
    seen = 0
    for page in run.client.ticket_event_pages(start_time=start):
        run.control.check()
        reread = _reread(run.client, _redacted_tickets(page, purged))  # over HTTP, before the transaction opens
        with db.write_transaction(run.engine) as conn:
            _store_comments(conn, page, run.result, run.quarantine, purged, run.now, reread, run.listener)
            next_start = page.end_time if page.end_time is not None else start
            write_state(
                conn,
                EVENTS_STREAM,
                start_time=next_start,
                caught_up=run.now if page.end_of_stream else None,
            )
        start = max(start, next_start)
        run.result.pages += 1
        seen += len(page.ticket_events)
        run.control.update(
            done=seen,
            total=seen if page.end_of_stream else _estimate_total(seen, first, start, run.now),
            message=f"{run.result.comments} new comments",
        )


def _redacted_tickets(page: EventPage, purged: set[int]) -> list[int]:
    found: set[int] = set()
    for event in page.ticket_events:
        for child in event.child_events or ():
            if REDACTION_TYPE in (child.event_type, child.type) and event.ticket_id is not None:
                found.add(event.ticket_id)
    return sorted(found - purged)


def _store_comments(conn: Connection, page: EventPage, result: SyncResult, quarantine: Quarantine,
                    purged: set[int], now: datetime, reread: _Reread, listener: SyncListener) -> None:
    for bad in page.rejected:
        _hold_rejected(conn, quarantine, EVENTS_STREAM, bad, now)
    rows: dict[int, tuple[Any, ...]] = {}  # COMMENT_COLUMNS
    visibility: dict[int, bool] = {}  # privacy changes of comments not in this page
    for event in page.ticket_events:
        if event.ticket_id is None or event.ticket_id in purged:
            continue
        fallback_time = event.created_at or (
            datetime.fromtimestamp(event.timestamp, UTC) if event.timestamp is not None else None
        )
        for child in event.child_events or ():
            if child.is_comment and child.id is not None:
                created = child.created_at or fallback_time
                if created is None:
                    continue
                body = child.body if child.body is not None else (child.plain_body or "")
                public = True if child.public is None else child.public
                rows[child.id] = (child.id, event.ticket_id, child.author_id, public, db.storable(body),
                                  db.db_datetime(conn, created))
                if visibility:
                    visibility.pop(child.id, None)
            elif child.comment_id is not None and child.public is not None and child.kind == PRIVACY_TYPE:
                if child.comment_id in rows:  # events are in time order: the later state wins
                    row = rows[child.comment_id]
                    rows[child.comment_id] = (*row[:3], child.public, *row[4:])
                else:
                    visibility[child.comment_id] = child.public
    _add_rereads(conn, reread, rows, visibility)  # read after the page: the current state wins
    _apply_comments(conn, rows, visibility, result, quarantine, now, listener)
    _settle_rereads(conn, reread, quarantine, now)
    if quarantine.held:  # events that were quarantined before and are fine now
        quarantine.release(conn, "ticket_event", [e.id for e in page.ticket_events])
        quarantine.release(conn, "comment_event", [c.id for e in page.ticket_events for c in e.child_events or ()
                                                   if c.kind in (REDACTION_TYPE, PRIVACY_TYPE)])


def _apply_comments(conn: Connection, rows: dict[int, tuple[Any, ...]], visibility: dict[int, bool],
                    result: SyncResult, quarantine: Quarantine, now: datetime, listener: SyncListener) -> None:
    """Insert new comments, overwrite changed ones, set visibility; report tickets whose text changed."""
    inserted = COMMENT_INSERT.execute_isolating(conn, list(rows.values()))  # the comments seen before stay, for now
    ids = list(rows)
    if inserted.refused:
        as_objects = [_CommentRow(**dict(zip(COMMENT_COLUMNS, rows[i], strict=True))) for i in ids]
        _hold_refused(conn, quarantine, EVENTS_STREAM, "comment", as_objects, inserted.refused, now)
    result.comments += inserted.rowcount
    refused_ids = {ids[index] for index, _ in inserted.refused}
    quarantine.release(conn, "comment", [cid for cid in rows if cid not in refused_ids])
    # Only when some comments were there already (pages repeat a second, backfills, re-reads) is what is
    # stored compared: the all-new path (a first sync, most incremental pages) costs no extra query.
    seen_before = len(rows) - inserted.rowcount - len(inserted.refused) > 0
    check = [cid for cid in rows if cid not in refused_ids] if seen_before else []
    check += [cid for cid in visibility if cid not in rows]
    if not check:
        return
    stored = {r.id: (r.ticket_id, r.body, r.public) for r in conn.execute(
        select(comments_t.c.id, comments_t.c.ticket_id, comments_t.c.body, comments_t.c.public)
        .where(comments_t.c.id.in_(check)))}
    changes: list[dict[str, Any]] = []
    touched: set[int] = set()
    for cid in check:
        old = stored.get(cid)
        if old is None:
            continue
        body, public = (rows[cid][4], rows[cid][3]) if cid in rows else (old[1], visibility[cid])
        if (old[1], old[2]) != (body, public):
            changes.append({"comment_id": cid, "new_body": body, "new_public": public})
            touched.add(old[0])
    if not changes:
        return
    conn.execute(COMMENT_UPDATE, changes)
    result.comments_updated += len(changes)
    result.reanalysis_queued += listener.text_changed(conn, sorted(touched))


class _CommentRow(BaseModel):
    """A comment row as stored, for the excerpt of a row the database refused."""

    id: Any
    ticket_id: Any
    author_id: Any
    public: Any
    body: Any
    created_at: Any


@dataclass
class _Reread:
    """Comments of redacted tickets, read again, and the tickets whose re-read failed."""

    comments: dict[int, list[ZComment]] = field(default_factory=dict)
    rejected: list[Rejected] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)


def _reread(client: ZendeskClient, ticket_ids: list[int]) -> _Reread:
    reread = _Reread()
    for ticket_id in ticket_ids:
        try:
            reread.comments[ticket_id] = client.ticket_comments(ticket_id, rejected=reread.rejected)
        except ZendeskError as exc:  # one ticket's comments must not stop the sync: retried next time
            reread.failed[ticket_id] = f"re-reading ticket {ticket_id}'s comments after a redaction failed: {exc}"
    return reread


def _add_rereads(conn: Connection, reread: _Reread, rows: dict[int, tuple[Any, ...]],
                 visibility: dict[int, bool]) -> None:
    for ticket_id, comments in reread.comments.items():
        for c in comments:
            body = c.body if c.body is not None else (c.plain_body or "")
            rows[c.id] = (c.id, ticket_id, c.author_id, c.public, db.storable(body),
                          db.db_datetime(conn, c.created_at))
            visibility.pop(c.id, None)


def _settle_rereads(conn: Connection, reread: _Reread, quarantine: Quarantine, now: datetime) -> None:
    """Quarantine the redactions whose re-read failed (retried every sync); release the ones done."""
    for bad in reread.rejected:
        _hold_rejected(conn, quarantine, EVENTS_STREAM, bad, now)
    quarantine.release(conn, REDACTION, reread.comments)
    if not reread.failed:
        return
    # a deleted ticket's comments answer 404: nothing is left to redact (the cleanup purges its content)
    deleted = set(conn.execute(select(tickets_t.c.id).where(
        tickets_t.c.id.in_(list(reread.failed)), tickets_t.c.status == "deleted")).scalars())
    quarantine.release(conn, REDACTION, deleted)
    for ticket_id, error in reread.failed.items():
        if ticket_id not in deleted:
            quarantine.hold(conn, stream=EVENTS_STREAM, object_type=REDACTION, object_id=ticket_id,
                            error=error, excerpt=f'{{"ticket_id": {ticket_id}}}', now=now)


def _retry_redactions(engine: Engine, client: ZendeskClient, result: SyncResult, quarantine: Quarantine,
                      purged: set[int], now: datetime, listener: SyncListener) -> None:
    """Redactions whose re-read failed in an earlier sync: the export will not send them again."""
    if not any(key.startswith(f"{REDACTION}:") for key in quarantine.held):
        return
    with engine.connect() as conn:
        ids = [int(e.object_id) for e in pending(conn, REDACTION) if e.object_id and e.object_id.isdigit()]
    reread = _reread(client, [i for i in ids if i not in purged])
    with db.write_transaction(engine) as conn:
        quarantine.release(conn, REDACTION, [i for i in ids if i in purged])
        rows: dict[int, tuple[Any, ...]] = {}
        _add_rereads(conn, reread, rows, {})
        _apply_comments(conn, rows, {}, result, quarantine, now, listener)
        _settle_rereads(conn, reread, quarantine, now)


def _purged_ticket_ids(engine: Engine) -> set[int]:
    """Tickets whose content the cleanup erased: their comments are not stored again."""
    with engine.connect() as conn:
        return set(conn.execute(select(tickets_t.c.id).where(
            tickets_t.c.status == "deleted", tickets_t.c.purged_at.is_not(None))).scalars())


# --- state --------------------------------------------------------------------------------------


def read_state(engine: Engine | Connection, stream: str) -> SyncState | None:
    query = select(sync_state_t).where(sync_state_t.c.stream == stream)
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
    db.upsert(conn, sync_state_t, [row], key=["stream"], update=update)


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
