"""The demo Zendesk: a local HTTP server speaking the Zendesk endpoints the sync uses.

It serves the generated demo dataset (`miner.demo.dataset`) in Zendesk's own JSON shapes, so demo
mode runs the production client unchanged. It is also the test double: fault switches (429 storms,
5xx, malformed JSON, slow answers, dropped connections, a stuck cursor, a gate that holds requests),
optional credential checks, an incremental-export rate limit like Zendesk's, live mutations (new comments, updates, deletions,
comment redactions and privacy changes, organisation renames), tickets served out of format (to test
the sync's quarantine) and a request log. Text is served as given, hostile characters included (NUL,
lone surrogates), escaped in the JSON as Zendesk does.

Endpoints: GET /api/v2/incremental/tickets/cursor.json, GET /api/v2/incremental/tickets.json,
GET /api/v2/incremental/ticket_events.json, GET /api/v2/users/me.json, GET /api/v2/tickets/{id}.json,
GET /api/v2/tickets/{id}/comments.json.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import heapq
import json
import logging
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from miner.demo.dataset import DemoComment, DemoDataset, DemoTicket, generate_dataset

log = logging.getLogger(__name__)

WITHHELD_SECONDS = 60  # Zendesk leaves out the most recent minute of every incremental export
MISSING: Any = object()  # `serve_out_of_format(id, status=MISSING)`: leave the field out
MAX_PAGE = 1000


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    at: float


@dataclass
class _Fault:
    kind: str  # "status" | "malformed" | "reset" | "stuck_cursor"
    status: int = 500
    retry_after: str | None = None
    body_kind: str = "json"
    paths: tuple[str, ...] = ()  # empty = any path


class Gate:
    """Holds matching requests until whoever drives the server lets them through, one at a time or all.

    It makes the in-between states of a run observable: while a request waits here, the run that sent it
    stays exactly where it is, however fast the rest of it would be.
    """

    def __init__(self, paths: tuple[str, ...] = ()) -> None:
        self.paths = paths  # empty = every path
        self.waiting = 0  # requests held right now
        self.passed = 0  # requests let through so far
        self._allowed = 0
        self._open = False
        self._cond = threading.Condition()

    def matches(self, path: str) -> bool:
        return not self.paths or path in self.paths

    def enter(self) -> None:
        with self._cond:
            self.waiting += 1
            self._cond.notify_all()
            self._cond.wait_for(lambda: self._open or self._allowed > 0)
            if not self._open:
                self._allowed -= 1
            self.waiting -= 1
            self.passed += 1
            self._cond.notify_all()

    def release(self, n: int = 1) -> None:
        """Let the next `n` matching requests through (held ones first)."""
        with self._cond:
            self._allowed += n
            self._cond.notify_all()

    def open(self) -> None:
        """Let everything through from now on."""
        with self._cond:
            self._open = True
            self._cond.notify_all()

    def step(self, timeout: float = 60.0) -> bool:
        """Let one held request through; True once the request after it is held (False: none came)."""
        with self._cond:
            passed = self.passed
            self._allowed += 1
            self._cond.notify_all()
            return self._cond.wait_for(lambda: self.passed > passed and self.waiting > 0, timeout)

    def wait_until_held(self, n: int = 1, timeout: float = 60.0) -> bool:
        """Block until `n` requests are waiting at the gate; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: self.waiting >= n, timeout)


@dataclass
class Faults:
    """Switches for misbehaviour; queued faults are consumed one per matching request."""

    latency: float = 0.0
    gate: Gate | None = None
    _queue: deque[_Fault] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def hold(self, paths: tuple[str, ...] = ()) -> Gate:
        """From now on, matching requests wait at the returned gate until it lets them through."""
        self.gate = Gate(paths)
        return self.gate

    def rate_limit(
        self, n: int, *, retry_after: str | None = "1", status: int = 429, body: str = "json",
        paths: tuple[str, ...] = (),
    ) -> None:
        """The next `n` requests get 429 (or 503) with this Retry-After (None = no header)."""
        self._push(n, _Fault("status", status, retry_after, body, paths))

    def server_error(self, n: int, status: int = 500, paths: tuple[str, ...] = ()) -> None:
        self._push(n, _Fault("status", status, paths=paths))

    def malformed(self, n: int, paths: tuple[str, ...] = ()) -> None:
        """The next `n` requests get a 200 whose JSON is cut off half-way."""
        self._push(n, _Fault("malformed", paths=paths))

    def reset(self, n: int, paths: tuple[str, ...] = ()) -> None:
        """The next `n` requests have their connection closed without an answer."""
        self._push(n, _Fault("reset", paths=paths))

    def stuck_cursor(self, n: int = 1) -> None:
        """The next `n` cursor pages hand back the cursor they were given."""
        self._push(n, _Fault("stuck_cursor", paths=("/api/v2/incremental/tickets/cursor.json",)))

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()
        self.latency = 0.0
        gate, self.gate = self.gate, None
        if gate is not None:
            gate.open()

    def _push(self, n: int, fault: _Fault) -> None:
        with self._lock:
            self._queue.extend([fault] * n)

    def take(self, path: str) -> _Fault | None:
        with self._lock:
            if self._queue and (not self._queue[0].paths or path in self._queue[0].paths):
                return self._queue.popleft()
        return None

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._queue)


@dataclass
class _Event:
    ts: int
    seq: int
    ticket_id: int
    comment: DemoComment | None  # None = a status-change event without a comment
    status: str | None = None
    children: tuple[dict[str, Any], ...] = ()  # other child events (redaction, privacy change)


class _Store:
    """Tickets ordered by generated_timestamp and comment events ordered by time, thread-safe."""

    def __init__(self, dataset: DemoDataset) -> None:
        self.lock = threading.RLock()
        self.dataset = dataset
        self.tickets: dict[int, DemoTicket] = {}
        self.gts: dict[int, int] = {}
        self.order: list[tuple[int, int]] = []
        self.events: list[tuple[int, int]] = []  # (ts, seq), parallel to event_data
        self.event_data: dict[int, _Event] = {}
        self._seq = 0
        self._next_comment_id = 0
        self._next_ticket_id = 0
        # A generated ticket is stored as it ends up; before its last change it existed as just opened.
        # The export shows that first version while the clock is between the two (see `order_at`).
        self.opened: list[tuple[int, int]] = []  # (created, ticket id), sorted
        for ticket in dataset.tickets:
            gts = _epoch(ticket.updated_at)
            if ticket.deleted:
                gts += 3600  # deleted an hour after the last activity
            self.tickets[ticket.id] = ticket
            self.gts[ticket.id] = gts
            self.order.append((gts, ticket.id))
            if _epoch(ticket.created_at) < gts:
                self.opened.append((_epoch(ticket.created_at), ticket.id))
            for comment in ticket.comments:
                self._add_event(_Event(_epoch(comment.created_at), 0, ticket.id, comment))
                self._next_comment_id = max(self._next_comment_id, comment.id)
            if ticket.status in ("solved", "closed"):
                self._add_event(_Event(_epoch(ticket.updated_at), 0, ticket.id, None, ticket.status))
            self._next_ticket_id = max(self._next_ticket_id, ticket.id)
        self.order.sort()
        self.opened.sort()
        self.latest = self.order[-1][0] if self.order else 0  # the last change of any ticket
        self.events.sort()

    def order_at(self, horizon: int) -> list[tuple[int, int]]:
        """The export's order as of `horizon`: every ticket at its last change, except tickets whose
        last change is still to come, which show at the time they were opened (as Zendesk exports a
        ticket when it is created and again, further on, when it changes)."""
        if horizon >= self.latest:  # every ticket's last change is visible: the usual case
            return self.order
        first = bisect.bisect_right(self.opened, (horizon, 2**62))
        early = [(t, i) for t, i in self.opened[:first] if self.gts[i] > horizon]
        if not early:
            return self.order
        return list(heapq.merge(self.order, early))

    def as_of(self, ticket_id: int, gts: int) -> DemoTicket:
        """The ticket as exported at position `gts`: as it ends up, or as it was opened."""
        ticket = self.tickets[ticket_id]
        if gts >= self.gts[ticket_id]:
            return ticket
        opened = ticket.created_at
        return replace(ticket, status="new", updated_at=opened, deleted=False,
                       comments=tuple(c for c in ticket.comments if c.created_at <= opened))

    def _add_event(self, event: _Event) -> None:
        self._seq += 1
        event.seq = self._seq
        self.event_data[self._seq] = event
        bisect.insort(self.events, (event.ts, self._seq))

    def _move(self, ticket_id: int, gts: int) -> None:
        old = (self.gts[ticket_id], ticket_id)
        index = bisect.bisect_left(self.order, old)
        if index < len(self.order) and self.order[index] == old:
            del self.order[index]
        self.gts[ticket_id] = gts
        self.latest = max(self.latest, gts)
        bisect.insort(self.order, (gts, ticket_id))

    # --- mutations ----------------------------------------------------------------------------
    def add_comment(self, ticket_id: int, body: str, *, public: bool, author_id: int | None, at: int) -> int:
        with self.lock:
            ticket = self.tickets[ticket_id]
            self._next_comment_id += 1
            when = datetime.fromtimestamp(at, UTC)
            comment = DemoComment(
                id=self._next_comment_id,
                author_id=author_id or ticket.requester_id,
                body=body,
                public=public,
                created_at=when,
            )
            self.tickets[ticket_id] = replace(
                ticket, comments=(*ticket.comments, comment), updated_at=when
            )
            self._add_event(_Event(at, 0, ticket_id, comment))
            self._move(ticket_id, at)
            return comment.id

    def update(self, ticket_id: int, at: int, **changes: Any) -> None:
        with self.lock:
            ticket = self.tickets[ticket_id]
            self.tickets[ticket_id] = replace(
                ticket, updated_at=datetime.fromtimestamp(at, UTC), **changes
            )
            if "status" in changes:
                self._add_event(_Event(at, 0, ticket_id, None, changes["status"]))
            self._move(ticket_id, at)

    def delete(self, ticket_id: int, at: int) -> None:
        with self.lock:
            self.tickets[ticket_id] = replace(self.tickets[ticket_id], deleted=True)
            self._move(ticket_id, at)

    def change_comment(self, ticket_id: int, comment_id: int, at: int, child: dict[str, Any],
                       **changes: Any) -> DemoComment:
        """Change a comment in place (as Zendesk does: every export shows it as it is now) and log the
        audit event `child` for it."""
        with self.lock:
            ticket = self.tickets[ticket_id]
            comments = list(ticket.comments)
            index = next((i for i, c in enumerate(comments) if c.id == comment_id), None)
            if index is None:
                raise KeyError(f"ticket {ticket_id} has no comment {comment_id}")
            comments[index] = changed = replace(comments[index], **changes)
            when = datetime.fromtimestamp(at, UTC)
            fields: dict[str, Any] = {"comments": tuple(comments), "updated_at": when}
            if index == 0:  # the description is the first comment
                fields["description"] = changed.body
            self.tickets[ticket_id] = replace(ticket, **fields)
            for event in self.event_data.values():
                if event.comment is not None and event.comment.id == comment_id:
                    event.comment = changed
            self._add_event(_Event(at, 0, ticket_id, None, children=(child,)))
            self._move(ticket_id, at)
            return changed

    def add_ticket(self, subject: str, description: str, *, at: int, **fields: Any) -> int:
        with self.lock:
            self._next_ticket_id += 1
            self._next_comment_id += 1
            when = datetime.fromtimestamp(at, UTC)
            template = self.dataset.tickets[0]
            comment = DemoComment(
                id=self._next_comment_id,
                author_id=fields.get("requester_id", template.requester_id),
                body=description,
                public=True,
                created_at=when,
            )
            ticket = replace(
                template,
                id=self._next_ticket_id,
                subject=subject,
                description=description,
                status=fields.pop("status", "new"),
                created_at=when,
                updated_at=when,
                comments=(comment,),
                deleted=False,
                **fields,
            )
            self.tickets[ticket.id] = ticket
            self.gts[ticket.id] = at
            self.latest = max(self.latest, at)
            bisect.insort(self.order, (at, ticket.id))
            self._add_event(_Event(at, 0, ticket.id, comment))
            return ticket.id


class DemoZendesk:
    """Run the demo Zendesk on 127.0.0.1 in a background thread.

    >>> with DemoZendesk(n_tickets=500) as zd:
    ...     httpx.get(zd.url + "/api/v2/users/me.json")
    """

    def __init__(
        self,
        dataset: DemoDataset | None = None,
        *,
        now: datetime | None = None,
        n_tickets: int = 6000,
        host: str = "127.0.0.1",
        port: int = 0,
        credentials: tuple[str, str] | None = None,
        incremental_rpm_limit: int | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.dataset = dataset or generate_dataset(now, n_tickets=n_tickets)
        self.store = _Store(self.dataset)
        self.faults = Faults()
        self.credentials = credentials  # (email, api_token); None accepts any or no auth
        self.incremental_rpm_limit = incremental_rpm_limit
        self.clock = clock
        self.forbidden = False
        self.requests: list[RecordedRequest] = []
        self.organization_names: dict[int, str] = {}  # renames, over the dataset's names
        self.out_of_format: dict[int, dict[str, Any]] = {}  # ticket id -> fields served instead (MISSING = left out)
        self.comments_out_of_format: dict[int, dict[str, Any]] = {}  # comment id -> fields in the event export
        self._recent_incremental: deque[float] = deque()
        self._host, self._port = host, port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ----------------------------------------------------------------------------
    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the demo Zendesk is not running; call start() first")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> DemoZendesk:
        handler = type("Handler", (_Handler,), {"zendesk": self})
        self._server = ThreadingHTTPServer((self._host, self._port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="demo-zendesk", daemon=True
        )
        self._thread.start()
        log.info("demo Zendesk serving %d tickets at %s", len(self.store.tickets), self.url)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> DemoZendesk:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- live changes (the clock's "now" minus a little more than the withheld minute) ---------
    def _visible_now(self) -> int:
        return int(self.clock()) - WITHHELD_SECONDS - 1

    def add_comment(self, ticket_id: int, body: str, *, public: bool = True,
                    author_id: int | None = None) -> int:
        return self.store.add_comment(ticket_id, body, public=public, author_id=author_id,
                                      at=self._visible_now())

    def update_ticket(self, ticket_id: int, **changes: Any) -> None:
        self.store.update(ticket_id, self._visible_now(), **changes)

    def delete_ticket(self, ticket_id: int) -> None:
        self.store.delete(ticket_id, self._visible_now())

    def add_ticket(self, subject: str, description: str, **fields: Any) -> int:
        return self.store.add_ticket(subject, description, at=self._visible_now(), **fields)

    def redact_comment(self, ticket_id: int, comment_id: int, text: str) -> None:
        """Redact `text` from a comment as Zendesk does: each character becomes "▇", and the ticket
        events get a "Comment redaction event" naming the comment (not the text)."""
        with self.store.lock:
            comment = next(c for c in self.store.tickets[ticket_id].comments if c.id == comment_id)
            if text not in comment.body:
                raise ValueError(f"comment {comment_id} does not contain {text!r}")
            body = comment.body.replace(text, "▇" * len(text))
            self.store.change_comment(ticket_id, comment_id, self._visible_now(),
                                      {"event_type": "CommentRedactionEvent", "comment_id": comment_id},
                                      body=body)

    def make_comment_private(self, ticket_id: int, comment_id: int, public: bool = False) -> None:
        """Turn a comment into an internal note (or back): a "Comment privacy change event"."""
        self.store.change_comment(ticket_id, comment_id, self._visible_now(),
                                  {"event_type": "CommentPrivacyChange", "comment_id": comment_id,
                                   "public": public}, public=public)

    def rename_organization(self, organization_id: int, name: str) -> None:
        """Served with the next export page that holds one of the organisation's tickets."""
        self.organization_names[organization_id] = name

    def serve_out_of_format(self, ticket_id: int, **fields: Any) -> None:
        """From now on the exports serve this ticket with these fields (MISSING leaves one out), like an
        object Zendesk's documentation does not describe; the ticket is updated so the next sync sees it."""
        with self.store.lock:
            self.out_of_format[ticket_id] = fields
            self.store.update(ticket_id, self._visible_now())

    def serve_comment_out_of_format(self, comment_id: int, **fields: Any) -> None:
        """The ticket-event export serves this comment with these fields."""
        self.comments_out_of_format[comment_id] = fields

    def serve_in_format(self, ticket_id: int) -> None:
        """The ticket is fixed in Zendesk: served as documented again, and updated."""
        with self.store.lock:
            self.out_of_format.pop(ticket_id, None)
            self.store.update(ticket_id, self._visible_now())

    def _exported(self, ticket_id: int, gts: int) -> dict[str, Any]:
        served = _ticket_json(self.store.as_of(ticket_id, gts), gts, self.url)
        for name, value in self.out_of_format.get(ticket_id, {}).items():
            if value is MISSING:
                served.pop(name, None)
            else:
                served[name] = value
        return served

    # --- views used by tests ------------------------------------------------------------------
    def live_tickets(self) -> dict[int, DemoTicket]:
        """Tickets as the export currently shows them (deleted ones included)."""
        with self.store.lock:
            return dict(self.store.tickets)

    def ticket_json(self, ticket: DemoTicket) -> dict[str, Any]:
        return _ticket_json(ticket, self.store.gts[ticket.id], self.url)

    # --- request handling ---------------------------------------------------------------------
    def handle(
        self, path: str, query: dict[str, str], headers: dict[str, str], fault: _Fault | None
    ) -> tuple[int, dict[str, str], bytes]:
        if self.credentials is not None and not self._authorised(headers.get("authorization", "")):
            return _json(401, {"error": "Couldn't authenticate you"})
        if self.forbidden:
            return _json(403, {"error": "Forbidden", "description": "You do not have access to this page"})
        incremental = path.startswith("/api/v2/incremental/")
        if incremental and self.incremental_rpm_limit:
            now = self.clock()
            while self._recent_incremental and self._recent_incremental[0] <= now - 60:
                self._recent_incremental.popleft()
            if len(self._recent_incremental) >= self.incremental_rpm_limit:
                wait = int(self._recent_incremental[0] + 60 - now) + 1
                return _json(429, {"error": "APIRateLimitExceeded"}, {"Retry-After": str(wait)})
            self._recent_incremental.append(now)
        routes: dict[str, Callable[[dict[str, str], _Fault | None], tuple[int, dict[str, str], bytes]]] = {
            "/api/v2/incremental/tickets/cursor.json": self._tickets_cursor,
            "/api/v2/incremental/tickets.json": self._tickets_time_based,
            "/api/v2/incremental/ticket_events.json": self._ticket_events,
            "/api/v2/users/me.json": lambda q, f: _json(200, {"user": {"id": 1, "name": "Demo Admin", "role": "admin"}}),
        }
        if fault is not None and fault.kind == "status":
            extra = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
            if fault.body_kind == "text":
                return fault.status, {"Content-Type": "text/plain", **extra}, b"Too Many Requests"
            return _json(fault.status, {"error": "APIRateLimitExceeded" if fault.status == 429 else "ServerError",
                                        "description": "Demo fault"}, extra)
        if path in routes:
            status, extra, body = routes[path](query, fault)
        elif path.startswith("/api/v2/tickets/"):
            status, extra, body = self._ticket_or_comments(path)
        else:
            status, extra, body = _json(404, {"error": "InvalidEndpoint", "description": "Not found"})
        if fault is not None and fault.kind == "malformed" and status == 200:
            body = body[: max(1, len(body) // 2)]
        return status, extra, body

    def _authorised(self, header: str) -> bool:
        assert self.credentials is not None
        user, token = self.credentials
        expected = "Basic " + base64.b64encode(f"{user}/token:{token}".encode()).decode()
        return header == expected or header == f"Bearer {token}"

    def _tickets_cursor(self, query: dict[str, str], fault: _Fault | None) -> tuple[int, dict[str, str], bytes]:
        per_page = _per_page(query)
        horizon = int(self.clock()) - WITHHELD_SECONDS
        with self.store.lock:
            order = self.store.order_at(horizon)
            if "cursor" in query:
                position = _decode_cursor(query["cursor"])
                if position is None:
                    return _json(400, {"error": "InvalidPaginationParameter", "description": "cursor is invalid"})
                index = bisect.bisect_right(order, position)
            elif "start_time" in query:
                start = _int_param(query["start_time"])
                if start is None or start > horizon:
                    return _json(400, {"error": "InvalidValue", "description": "start_time must be at least a minute in the past"})
                index = bisect.bisect_left(order, (start, -1))
            else:
                return _json(400, {"error": "InvalidPaginationParameter", "description": "cursor or start_time is required"})
            keys: list[Any] = []
            while index < len(order) and len(keys) < per_page:
                key = order[index]
                if key[0] > horizon:
                    break
                keys.append(key)
                index += 1
            end_of_stream = index >= len(order) or order[index][0] > horizon
            tickets = [self._exported(i, g) for g, i in keys]
            orgs: set[int] = {t["organization_id"] for t in tickets if isinstance(t.get("organization_id"), int)}
        if fault is not None and fault.kind == "stuck_cursor" and "cursor" in query:
            after = query["cursor"]
        elif keys:
            after = _encode_cursor(keys[-1])
        elif "cursor" in query:
            after = query["cursor"]
        else:
            after = _encode_cursor((int(query["start_time"]) - 1, 2**62))
        body: dict[str, Any] = {
            "tickets": tickets,
            "after_url": f"{self.url}/api/v2/incremental/tickets/cursor.json?"
            + urlencode({"cursor": after, "per_page": per_page}),
            "before_url": None,
            "after_cursor": after,
            "before_cursor": None,
            "end_of_stream": end_of_stream,
        }
        if "organizations" in query.get("include", "").split(","):
            body["organizations"] = [
                {"id": o,
                 "name": self.organization_names.get(o) or self.dataset.organizations.get(o, f"Organization {o}"),
                 "created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z"}
                for o in sorted(orgs)
            ]
        return _json(200, body)

    def _time_page(self, keys: list[tuple[int, int]], start: int, per_page: int) -> tuple[list[tuple[int, int]], int, bool]:
        """Zendesk's time-based paging: never split one second across pages unless it is all there is."""
        horizon = int(self.clock()) - WITHHELD_SECONDS
        index = bisect.bisect_left(keys, (start, -1))
        stop = index
        while stop < len(keys) and keys[stop][0] <= horizon and stop - index < per_page:
            stop += 1
        page = keys[index:stop]
        end_of_stream = stop >= len(keys) or keys[stop][0] > horizon
        if not page:
            return page, start, True
        last = page[-1][0]
        if not end_of_stream and keys[stop][0] == last:
            if page[0][0] == last:  # one second fills the page: take all of it
                while stop < len(keys) and keys[stop][0] == last:
                    stop += 1
                page = keys[index:stop]
                end_of_stream = stop >= len(keys) or keys[stop][0] > horizon
                return page, last + 1, end_of_stream
            return page, last, end_of_stream  # the next page repeats this second
        return page, last + 1, end_of_stream

    def _tickets_time_based(self, query: dict[str, str], fault: _Fault | None) -> tuple[int, dict[str, str], bytes]:
        start = _int_param(query.get("start_time", ""))
        if start is None:
            return _json(400, {"error": "InvalidValue", "description": "start_time is required"})
        with self.store.lock:
            horizon = int(self.clock()) - WITHHELD_SECONDS
            page, end_time, eos = self._time_page(self.store.order_at(horizon), start, _per_page(query))
            tickets = [self._exported(i, g) for g, i in page]
        return _json(200, {
            "tickets": tickets,
            "count": len(tickets),
            "end_of_stream": eos,
            "next_page": f"{self.url}/api/v2/incremental/tickets.json?start_time={end_time}",
            "end_time": end_time,
        })

    def _ticket_events(self, query: dict[str, str], fault: _Fault | None) -> tuple[int, dict[str, str], bytes]:
        start = _int_param(query.get("start_time", ""))
        if start is None:
            return _json(400, {"error": "InvalidValue", "description": "start_time is required"})
        with_comments = "comment_events" in query.get("include", "").split(",")
        with self.store.lock:
            page, end_time, eos = self._time_page(self.store.events, start, _per_page(query))
            events = [_event_json(self.store.event_data[seq], with_comments) for _, seq in page]
            for event in events if self.comments_out_of_format else ():
                for child in event["child_events"]:
                    child.update(self.comments_out_of_format.get(child["id"], {}))
        params = {"start_time": end_time}
        if "include" in query:
            params["include"] = query["include"]  # type: ignore[assignment]
        return _json(200, {
            "ticket_events": events,
            "count": len(events),
            "end_of_stream": eos,
            "next_page": f"{self.url}/api/v2/incremental/ticket_events.json?{urlencode(params)}",
            "end_time": end_time,
        })

    def _ticket_or_comments(self, path: str) -> tuple[int, dict[str, str], bytes]:
        parts = path.removeprefix("/api/v2/tickets/").split("/")
        ticket_id = _int_param(parts[0].removesuffix(".json"))
        with self.store.lock:
            ticket = self.store.tickets.get(ticket_id) if ticket_id is not None else None
            if ticket is None or ticket.deleted:
                return _json(404, {"error": "RecordNotFound", "description": "Not found"})
            gts, horizon = self.store.gts[ticket.id], int(self.clock()) - WITHHELD_SECONDS
            if gts > horizon:  # its last change is still to come
                if _epoch(ticket.created_at) > horizon:
                    return _json(404, {"error": "RecordNotFound", "description": "Not found"})
                gts = _epoch(ticket.created_at)
                ticket = self.store.as_of(ticket.id, gts)
            if len(parts) == 1:
                return _json(200, {"ticket": _ticket_json(ticket, gts, self.url)})
            if parts[1:] == ["comments.json"]:
                comments = [_comment_json(c) for c in ticket.comments]
                return _json(200, {"comments": comments, "meta": {"has_more": False, "after_cursor": None,
                                                                   "before_cursor": None},
                                   "links": {"prev": None, "next": None}})
        return _json(404, {"error": "InvalidEndpoint", "description": "Not found"})


class _Handler(BaseHTTPRequestHandler):
    zendesk: DemoZendesk
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        split = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        headers = {k.lower(): v for k, v in self.headers.items()}
        zendesk = self.zendesk
        gate = zendesk.faults.gate
        if gate is not None and gate.matches(split.path):
            gate.enter()
        if zendesk.faults.latency:
            time.sleep(zendesk.faults.latency)
        zendesk.requests.append(RecordedRequest("GET", split.path, query, headers, zendesk.clock()))
        fault = zendesk.faults.take(split.path)
        if fault is not None and fault.kind == "reset":
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return
        status, extra, body = zendesk.handle(split.path, query, headers, fault)
        self.send_response(status)
        self.send_header("Content-Type", extra.pop("Content-Type", "application/json; charset=utf-8"))
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-rate-limit", "700")
        self.send_header("x-rate-limit-remaining", "699")
        self.send_header("rate-limit", "700")
        self.send_header("rate-limit-remaining", "699")
        self.send_header("rate-limit-reset", "59")
        for name, value in extra.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("demo zendesk: " + format, *args)


# --- JSON shapes ----------------------------------------------------------------------------------


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _epoch(value: datetime) -> int:
    return int(value.timestamp())


def _ticket_json(ticket: DemoTicket, gts: int, base: str) -> dict[str, Any]:
    deleted = ticket.deleted
    return {
        "url": f"{base}/api/v2/tickets/{ticket.id}.json",
        "id": ticket.id,
        "external_id": None,
        "via": {"channel": ticket.via_channel, "source": {"from": {}, "to": {}, "rel": None}},
        "created_at": _iso(ticket.created_at),
        "updated_at": _iso(ticket.updated_at),
        "type": ticket.type,
        "subject": "SCRUBBED" if deleted else ticket.subject,
        "raw_subject": "SCRUBBED" if deleted else ticket.subject,
        "description": "X" if deleted else ticket.description,
        "priority": ticket.priority,
        "status": "deleted" if deleted else ticket.status,
        "recipient": None,
        "requester_id": ticket.requester_id,
        "submitter_id": ticket.submitter_id,
        "assignee_id": ticket.assignee_id,
        "organization_id": ticket.organization_id,
        "group_id": None,
        "collaborator_ids": [],
        "follower_ids": [],
        "email_cc_ids": [],
        "forum_topic_id": None,
        "problem_id": None,
        "has_incidents": False,
        "is_public": True,
        "due_at": None,
        "tags": list(ticket.tags),
        "custom_fields": [],
        "satisfaction_rating": None,
        "sharing_agreement_ids": [],
        "custom_status_id": 1,
        "fields": [],
        "followup_ids": [],
        "ticket_form_id": 1,
        "brand_id": 1,
        "allow_channelback": False,
        "allow_attachments": True,
        "from_messaging_channel": False,
        "generated_timestamp": gts,
    }


def _comment_json(comment: DemoComment) -> dict[str, Any]:
    return {
        "id": comment.id,
        "type": "Comment",
        "author_id": comment.author_id,
        "body": comment.body,
        "html_body": "",  # not used by the miner; kept empty to keep pages small
        "plain_body": comment.body,
        "public": comment.public,
        "attachments": [],
        "audit_id": comment.id - 1,
        "via": {"channel": "web", "source": {"from": {}, "to": {}, "rel": None}},
        "created_at": _iso(comment.created_at),
    }


def _event_json(event: _Event, with_comments: bool) -> dict[str, Any]:
    created = datetime.fromtimestamp(event.ts, UTC)
    children: list[dict[str, Any]] = []
    if event.comment is not None:
        if with_comments:
            child = _comment_json(event.comment)
            child.update(event_type="Comment", via_reference_id=None)
            child.pop("plain_body")
            children.append(child)
        else:
            children.append({"id": event.comment.id, "event_type": "Comment",
                             "comment_present": True, "comment_public": event.comment.public})
    if event.status is not None:
        children.append({"id": 90_000_000_000 + event.seq, "event_type": "Change", "field_name": "status",
                         "value": event.status, "previous_value": "open"})
    for child in event.children:
        children.append({"id": 91_000_000_000 + event.seq, **child})
    return {
        "id": 80_000_000_000 + event.seq,
        "ticket_id": event.ticket_id,
        "timestamp": event.ts,
        "created_at": _iso(created),
        "updater_id": event.comment.author_id if event.comment else -1,
        "via": "Web form",
        "system": {"client": "Mozilla/5.0", "location": "Somewhere", "latitude": 0, "longitude": 0},
        "metadata": {},
        "event_type": "Audit",
        "child_events": children,
    }


def _encode_cursor(key: tuple[int, int]) -> str:
    return base64.b64encode(f"{key[0]}.0||{key[1]}|".encode()).decode()


def _decode_cursor(cursor: str) -> tuple[int, int] | None:
    try:
        text = base64.b64decode(cursor, validate=True).decode()
        ts, _, rest = text.partition("||")
        return int(float(ts)), int(rest.strip("|"))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None


def _int_param(value: str) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _per_page(query: dict[str, str]) -> int:
    value = _int_param(query.get("per_page", "")) or MAX_PAGE
    return max(1, min(MAX_PAGE, value))


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    return status, dict(headers or {}), json.dumps(body, separators=(",", ":")).encode()


def serve_forever(port: int, n_tickets: int, now: datetime | None = None) -> None:
    """`python -m miner demo-server`: run in the foreground until interrupted."""
    server = DemoZendesk(now=now, n_tickets=n_tickets, port=port).start()
    print(f"demo Zendesk with {n_tickets} tickets at {server.url}  (Ctrl+C to stop)", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()
