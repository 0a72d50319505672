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

The parts: `miner.demo.store` holds the tickets and events as the exports see them, `miner.demo.wire`
writes them in Zendesk's JSON, `miner.demo.faults` holds the misbehaviour switches; this module
answers HTTP.
"""

from __future__ import annotations

import base64
import bisect
import logging
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from miner.demo import wire
from miner.demo.dataset import DemoDataset, DemoTicket, generate_dataset
from miner.demo.faults import Fault, Faults
from miner.demo.store import TicketStore, epoch

log = logging.getLogger(__name__)

WITHHELD_SECONDS = 60  # Zendesk leaves out the most recent minute of every incremental export
MISSING: Any = object()  # `serve_out_of_format(id, status=MISSING)`: leave the field out


def _not_found() -> wire.Answer:
    return wire.error(404, "RecordNotFound", "Not found")


def _no_endpoint() -> wire.Answer:
    return wire.error(404, "InvalidEndpoint", "Not found")


def _start_time_required() -> wire.Answer:
    return wire.error(400, "InvalidValue", "start_time is required")


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    at: float


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
        self.store = TicketStore(self.dataset)
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

    def _horizon(self) -> int:
        """The newest second the exports show: the clock's now minus the withheld minute."""
        return int(self.clock()) - WITHHELD_SECONDS

    # --- live changes (the clock's "now" minus a little more than the withheld minute) ---------
    def _visible_now(self) -> int:
        return self._horizon() - 1

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
        self.store.redact_comment(ticket_id, comment_id, text, self._visible_now())

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
        served = wire.ticket_json(self.store.as_of(ticket_id, gts), gts, self.url)
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
        return wire.ticket_json(ticket, self.store.gts[ticket.id], self.url)

    # --- request handling ---------------------------------------------------------------------
    def handle(
        self, path: str, query: dict[str, str], headers: dict[str, str], fault: Fault | None
    ) -> wire.Answer:
        if self.credentials is not None and not self._authorised(headers.get("authorization", "")):
            return wire.error(401, "Couldn't authenticate you")
        if self.forbidden:
            return wire.error(403, "Forbidden", "You do not have access to this page")
        incremental = path.startswith("/api/v2/incremental/")
        if incremental and self.incremental_rpm_limit:
            now = self.clock()
            while self._recent_incremental and self._recent_incremental[0] <= now - 60:
                self._recent_incremental.popleft()
            if len(self._recent_incremental) >= self.incremental_rpm_limit:
                wait = int(self._recent_incremental[0] + 60 - now) + 1
                return wire.error(429, "APIRateLimitExceeded", headers={"Retry-After": str(wait)})
            self._recent_incremental.append(now)
        routes: dict[str, Callable[[dict[str, str], Fault | None], wire.Answer]] = {
            "/api/v2/incremental/tickets/cursor.json": self._tickets_cursor,
            "/api/v2/incremental/tickets.json": self._tickets_time_based,
            "/api/v2/incremental/ticket_events.json": self._ticket_events,
            "/api/v2/users/me.json": lambda q, f: wire.answer(200, {"user": {"id": 1, "name": "Demo Admin", "role": "admin"}}),
        }
        if fault is not None and fault.kind == "status":
            extra = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
            if fault.body_kind == "text":
                return fault.status, {"Content-Type": "text/plain", **extra}, b"Too Many Requests"
            code = "APIRateLimitExceeded" if fault.status == 429 else "ServerError"
            return wire.error(fault.status, code, "Demo fault", extra)
        if path in routes:
            status, extra, body = routes[path](query, fault)
        elif path.startswith("/api/v2/tickets/"):
            status, extra, body = self._ticket_or_comments(path)
        else:
            status, extra, body = _no_endpoint()
        if fault is not None and fault.kind == "malformed" and status == 200:
            body = body[: max(1, len(body) // 2)]
        return status, extra, body

    def _authorised(self, header: str) -> bool:
        assert self.credentials is not None
        user, token = self.credentials
        expected = "Basic " + base64.b64encode(f"{user}/token:{token}".encode()).decode()
        return header == expected or header == f"Bearer {token}"

    def _tickets_cursor(self, query: dict[str, str], fault: Fault | None) -> wire.Answer:
        per_page = wire.per_page(query)
        horizon = self._horizon()
        with self.store.lock:
            order = self.store.order_at(horizon)
            if "cursor" in query:
                position = wire.decode_cursor(query["cursor"])
                if position is None:
                    return wire.error(400, "InvalidPaginationParameter", "cursor is invalid")
                index = bisect.bisect_right(order, position)
            elif "start_time" in query:
                start = wire.int_param(query["start_time"])
                if start is None or start > horizon:
                    return wire.error(400, "InvalidValue", "start_time must be at least a minute in the past")
                index = bisect.bisect_left(order, (start, -1))
            else:
                return wire.error(400, "InvalidPaginationParameter", "cursor or start_time is required")
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
            after = wire.encode_cursor(keys[-1])
        elif "cursor" in query:
            after = query["cursor"]
        else:
            after = wire.encode_cursor((int(query["start_time"]) - 1, 2**62))
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
        return wire.answer(200, body)

    @staticmethod
    def _time_page(keys: list[tuple[int, int]], start: int, per_page: int,
                   horizon: int) -> tuple[list[tuple[int, int]], int, bool]:
        """Zendesk's time-based paging: never split one second across pages unless it is all there is."""
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

    def _tickets_time_based(self, query: dict[str, str], fault: Fault | None) -> wire.Answer:
        start = wire.int_param(query.get("start_time", ""))
        if start is None:
            return _start_time_required()
        with self.store.lock:
            horizon = self._horizon()
            page, end_time, eos = self._time_page(self.store.order_at(horizon), start, wire.per_page(query), horizon)
            tickets = [self._exported(i, g) for g, i in page]
        return wire.answer(200, {
            "tickets": tickets,
            "count": len(tickets),
            "end_of_stream": eos,
            "next_page": f"{self.url}/api/v2/incremental/tickets.json?start_time={end_time}",
            "end_time": end_time,
        })

    def _ticket_events(self, query: dict[str, str], fault: Fault | None) -> wire.Answer:
        start = wire.int_param(query.get("start_time", ""))
        if start is None:
            return _start_time_required()
        with_comments = "comment_events" in query.get("include", "").split(",")
        with self.store.lock:
            page, end_time, eos = self._time_page(self.store.events, start, wire.per_page(query), self._horizon())
            events = [wire.event_json(self.store.event_data[seq], with_comments) for _, seq in page]
            for event in events if self.comments_out_of_format else ():
                for child in event["child_events"]:
                    child.update(self.comments_out_of_format.get(child["id"], {}))
        params = {"start_time": end_time}
        if "include" in query:
            params["include"] = query["include"]  # type: ignore[assignment]
        return wire.answer(200, {
            "ticket_events": events,
            "count": len(events),
            "end_of_stream": eos,
            "next_page": f"{self.url}/api/v2/incremental/ticket_events.json?{urlencode(params)}",
            "end_time": end_time,
        })

    def _ticket_or_comments(self, path: str) -> wire.Answer:
        parts = path.removeprefix("/api/v2/tickets/").split("/")
        ticket_id = wire.int_param(parts[0].removesuffix(".json"))
        with self.store.lock:
            ticket = self.store.tickets.get(ticket_id) if ticket_id is not None else None
            if ticket is None or ticket.deleted:
                return _not_found()
            gts, horizon = self.store.gts[ticket.id], self._horizon()
            if gts > horizon:  # its last change is still to come
                if epoch(ticket.created_at) > horizon:
                    return _not_found()
                gts = epoch(ticket.created_at)
                ticket = self.store.as_of(ticket.id, gts)
            if len(parts) == 1:
                return wire.answer(200, {"ticket": wire.ticket_json(ticket, gts, self.url)})
            if parts[1:] == ["comments.json"]:
                comments = [wire.comment_json(c) for c in ticket.comments]
                return wire.answer(200, {"comments": comments, "meta": {"has_more": False, "after_cursor": None,
                                                                   "before_cursor": None},
                                   "links": {"prev": None, "next": None}})
        return _no_endpoint()


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


def serve_forever(port: int, n_tickets: int, now: datetime | None = None) -> None:
    """`python -m miner demo-server`: run in the foreground until interrupted."""
    server = DemoZendesk(now=now, n_tickets=n_tickets, port=port).start()
    print(f"demo Zendesk with {n_tickets} tickets at {server.url}  (Ctrl+C to stop)", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()
