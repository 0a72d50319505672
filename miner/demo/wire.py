"""Zendesk's wire format as the demo Zendesk speaks it: tickets, comments and ticket events in the
JSON shapes of the Zendesk API, export cursors, query parameters, and JSON answers and errors."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime
from typing import Any

from miner.demo.dataset import DemoComment, DemoTicket
from miner.demo.store import Event

MAX_PAGE = 1000

Answer = tuple[int, dict[str, str], bytes]  # (status, extra headers, body)


def iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def ticket_json(ticket: DemoTicket, gts: int, base: str) -> dict[str, Any]:
    deleted = ticket.deleted
    return {
        "url": f"{base}/api/v2/tickets/{ticket.id}.json",
        "id": ticket.id,
        "external_id": None,
        "via": {"channel": ticket.via_channel, "source": {"from": {}, "to": {}, "rel": None}},
        "created_at": iso(ticket.created_at),
        "updated_at": iso(ticket.updated_at),
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


def comment_json(comment: DemoComment) -> dict[str, Any]:
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
        "created_at": iso(comment.created_at),
    }


def event_json(event: Event, with_comments: bool) -> dict[str, Any]:
    created = datetime.fromtimestamp(event.ts, UTC)
    children: list[dict[str, Any]] = []
    if event.comment is not None:
        if with_comments:
            child = comment_json(event.comment)
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
        "created_at": iso(created),
        "updater_id": event.comment.author_id if event.comment else -1,
        "via": "Web form",
        "system": {"client": "Mozilla/5.0", "location": "Somewhere", "latitude": 0, "longitude": 0},
        "metadata": {},
        "event_type": "Audit",
        "child_events": children,
    }


def encode_cursor(key: tuple[int, int]) -> str:
    return base64.b64encode(f"{key[0]}.0||{key[1]}|".encode()).decode()


def decode_cursor(cursor: str) -> tuple[int, int] | None:
    try:
        text = base64.b64decode(cursor, validate=True).decode()
        ts, _, rest = text.partition("||")
        return int(float(ts)), int(rest.strip("|"))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None


def int_param(value: str) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def per_page(query: dict[str, str]) -> int:
    value = int_param(query.get("per_page", "")) or MAX_PAGE
    return max(1, min(MAX_PAGE, value))


def answer(status: int, body: Any, headers: dict[str, str] | None = None) -> Answer:
    return status, dict(headers or {}), json.dumps(body, separators=(",", ":")).encode()


def error(status: int, code: str, description: str | None = None, headers: dict[str, str] | None = None) -> Answer:
    """An error answer in Zendesk's shape: `{"error": code, "description": ...}`."""
    body = {"error": code} if description is None else {"error": code, "description": description}
    return answer(status, body, headers)
