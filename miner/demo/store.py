"""The demo Zendesk's tickets as the exports see them: ordered by generated_timestamp, with the
ticket events (comments, status changes, redactions) ordered by time, and the live changes tests make.
"""

from __future__ import annotations

import bisect
import heapq
import threading
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from miner.demo.dataset import DemoComment, DemoDataset, DemoTicket


def epoch(value: datetime) -> int:
    return int(value.timestamp())


@dataclass
class Event:
    ts: int
    seq: int
    ticket_id: int
    comment: DemoComment | None  # None = a status-change event without a comment
    status: str | None = None
    children: tuple[dict[str, Any], ...] = ()  # other child events (redaction, privacy change)


class TicketStore:
    """Tickets ordered by generated_timestamp and comment events ordered by time, thread-safe."""

    def __init__(self, dataset: DemoDataset) -> None:
        self.lock = threading.RLock()
        self.dataset = dataset
        self.tickets: dict[int, DemoTicket] = {}
        self.gts: dict[int, int] = {}
        self.order: list[tuple[int, int]] = []
        self.events: list[tuple[int, int]] = []  # (ts, seq), parallel to event_data
        self.event_data: dict[int, Event] = {}
        self._seq = 0
        self._next_comment_id = 0
        self._next_ticket_id = 0
        # A generated ticket is stored as it ends up; before its last change it existed as just opened.
        # The export shows that first version while the clock is between the two (see `order_at`).
        self.opened: list[tuple[int, int]] = []  # (created, ticket id), sorted
        for ticket in dataset.tickets:
            gts = epoch(ticket.updated_at)
            if ticket.deleted:
                gts += 3600  # deleted an hour after the last activity
            self.tickets[ticket.id] = ticket
            self.gts[ticket.id] = gts
            self.order.append((gts, ticket.id))
            if epoch(ticket.created_at) < gts:
                self.opened.append((epoch(ticket.created_at), ticket.id))
            for comment in ticket.comments:
                self._add_event(Event(epoch(comment.created_at), 0, ticket.id, comment))
                self._next_comment_id = max(self._next_comment_id, comment.id)
            if ticket.status in ("solved", "closed"):
                self._add_event(Event(epoch(ticket.updated_at), 0, ticket.id, None, ticket.status))
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

    def _add_event(self, event: Event) -> None:
        self._seq += 1
        event.seq = self._seq
        self.event_data[self._seq] = event
        bisect.insort(self.events, (event.ts, self._seq))

    def _move(self, ticket_id: int, gts: int) -> None:
        """Put the ticket at export position `gts` (a new ticket gets its first position)."""
        if ticket_id in self.gts:
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
            self._add_event(Event(at, 0, ticket_id, comment))
            self._move(ticket_id, at)
            return comment.id

    def update(self, ticket_id: int, at: int, **changes: Any) -> None:
        with self.lock:
            ticket = self.tickets[ticket_id]
            self.tickets[ticket_id] = replace(
                ticket, updated_at=datetime.fromtimestamp(at, UTC), **changes
            )
            if "status" in changes:
                self._add_event(Event(at, 0, ticket_id, None, changes["status"]))
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
            self._add_event(Event(at, 0, ticket_id, None, children=(child,)))
            self._move(ticket_id, at)
            return changed

    def redact_comment(self, ticket_id: int, comment_id: int, text: str, at: int) -> None:
        """Redact `text` from a comment as Zendesk does: each character becomes "▇", and the ticket
        events get a "Comment redaction event" naming the comment (not the text)."""
        with self.lock:
            comment = next(c for c in self.tickets[ticket_id].comments if c.id == comment_id)
            if text not in comment.body:
                raise ValueError(f"comment {comment_id} does not contain {text!r}")
            body = comment.body.replace(text, "▇" * len(text))
            self.change_comment(ticket_id, comment_id, at,
                                {"event_type": "CommentRedactionEvent", "comment_id": comment_id}, body=body)

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
            self._move(ticket.id, at)
            self._add_event(Event(at, 0, ticket.id, comment))
            return ticket.id
