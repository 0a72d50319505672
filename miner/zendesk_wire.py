"""Zendesk's JSON, as the client reads it: one pydantic model per object and page, with only the fields
the sync uses (everything else is ignored)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Self, TypeVar, Union

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from miner.errors import validation_line

# --- response models (only the fields we use; everything else is ignored) -----------------------
#
# One malformed object must not make a whole page unreadable: object lists are `Lenient`, so an item
# that does not fit its model is kept aside as a `Rejected` (with the validation error) and the sync
# quarantines it. The envelope (the lists themselves, cursors, end_of_stream) stays strict.

M = TypeVar("M", bound=BaseModel)
EXCERPT_CHARS = 500

if TYPE_CHECKING:
    Lenient = Annotated[M, "lenient"]
else:
    class Lenient:
        """`list[Lenient[Model]]`: each item is a Model, or the raw JSON value when it does not fit."""

        def __class_getitem__(cls, model: type) -> Any:
            # left_to_right: the model first; the `Any` fallback only catches what fails it
            return Annotated[Union[model, Any], Field(union_mode="left_to_right")]  # noqa: UP007


@dataclass(frozen=True)
class Rejected:
    """An object of a page that does not fit its model."""

    object_type: str  # ticket | organization | ticket_event | comment | comment_event
    object_id: str | None
    error: str
    excerpt: str
    ticket_id: int | None = None
    kind: str | None = None  # the raw "event_type"/"type", for child events

    @classmethod
    def of(cls, object_type: str, raw: Any, model: type[BaseModel], *, ticket_id: int | None = None) -> Rejected:
        try:
            model.model_validate(raw)
            error = "does not fit the expected format"
        except ValidationError as exc:
            error = validation_line(exc)
        raw_id = raw.get("id") if isinstance(raw, dict) else None
        kind = raw.get("event_type") or raw.get("type") if isinstance(raw, dict) else None
        text = json.dumps(raw, ensure_ascii=False, default=str)
        excerpt = text if len(text) <= EXCERPT_CHARS else text[:EXCERPT_CHARS] + "..."
        return cls(object_type, None if raw_id is None else str(raw_id)[:64], error, excerpt, ticket_id,
                   kind if isinstance(kind, str) else None)


def _split(items: list[Any], model: type[M], object_type: str, *, ticket_id: int | None = None,
           ) -> tuple[list[M], list[Rejected]]:
    good = [item for item in items if isinstance(item, model)]
    if len(good) == len(items):
        return items, []
    bad = [Rejected.of(object_type, item, model, ticket_id=ticket_id) for item in items if not isinstance(item, model)]
    return good, bad


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _Page(_Model):
    """A page of objects: `rejected` holds the objects that did not fit their model."""

    _rejected: list[Rejected] = PrivateAttr(default_factory=list)

    @property
    def rejected(self) -> list[Rejected]:
        return self._rejected

    @classmethod
    def model_validate_json(cls, json_data: str | bytes | bytearray, **kwargs: Any) -> Self:
        try:
            return super().model_validate_json(json_data, **kwargs)
        except ValidationError as exc:
            # The JSON parser refuses a string with a lone surrogate escape ("\ud800"), which would
            # fail the page for ever; such escapes become U+FFFD, as the database layer does.
            if not any(err["type"] == "json_invalid" for err in exc.errors()):
                raise
            repaired = replace_lone_surrogates(json_data)
            if repaired is None:
                raise
            return super().model_validate_json(repaired, **kwargs)


_SURROGATE_ESCAPE = re.compile(
    rb"(?<!\\)((?:\\\\)*)(\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}|\\u[dD][89a-fA-F][0-9a-fA-F]{2})"
)


def replace_lone_surrogates(json_data: str | bytes | bytearray) -> bytes | None:
    """JSON text with every unpaired surrogate escape replaced by \\ufffd; None if there is none."""
    data = json_data.encode("utf-8", "surrogatepass") if isinstance(json_data, str) else bytes(json_data)
    found = False

    def fix(match: re.Match[bytes]) -> bytes:
        nonlocal found
        if len(match.group(2)) == 12:  # a valid pair
            return match.group(0)
        found = True
        return match.group(1) + b"\\ufffd"

    repaired = _SURROGATE_ESCAPE.sub(fix, data)
    return repaired if found else None


class Via(_Model):
    channel: str | int | None = None


class ZTicket(_Model):
    id: int
    status: str
    subject: str | None = None
    description: str | None = None
    priority: str | None = None
    type: str | None = None
    requester_id: int | None = None
    submitter_id: int | None = None
    assignee_id: int | None = None
    organization_id: int | None = None
    tags: list[str] | None = None
    via: Via | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    generated_timestamp: int | None = None


class ZOrganization(_Model):
    id: int
    name: str
    updated_at: datetime | None = None


class TicketPage(_Page):
    tickets: list[Lenient[ZTicket]]
    organizations: list[Lenient[ZOrganization]] | None = None
    after_cursor: str | None = None
    end_of_stream: bool

    @model_validator(mode="after")
    def _set_aside(self) -> Self:
        self.tickets, rejected = _split(self.tickets, ZTicket, "ticket")
        if self.organizations:
            self.organizations, bad_orgs = _split(self.organizations, ZOrganization, "organization")
            rejected += bad_orgs
        self._rejected = rejected
        return self


COMMENT_TYPES = frozenset({"Comment", "VoiceComment"})
REDACTION_TYPE = "CommentRedactionEvent"  # Ticket Audit events reference: "Comment redaction event"
PRIVACY_TYPE = "CommentPrivacyChange"  # "Comment privacy change event"


class ZChildEvent(_Model):
    id: int | None = None
    event_type: str | None = None
    type: str | None = None
    author_id: int | None = None
    body: str | None = None
    plain_body: str | None = None
    public: bool | None = None
    created_at: datetime | None = None
    comment_id: int | None = None  # redaction and privacy-change events: the comment concerned

    @property
    def kind(self) -> str | None:
        return self.event_type or self.type

    @property
    def is_comment(self) -> bool:
        return self.kind in COMMENT_TYPES


class ZTicketEvent(_Model):
    id: int | None = None
    ticket_id: int | None = None
    timestamp: int | None = None
    created_at: datetime | None = None
    child_events: list[Lenient[ZChildEvent]] | None = None  # set aside by EventPage (once per page, not per event)


def _child_kind(kind: str | None) -> str | None:
    """The object type a child event is quarantined as; None for kinds the sync does not use."""
    if kind is None or kind in COMMENT_TYPES:
        return "comment"
    if kind in (REDACTION_TYPE, PRIVACY_TYPE):
        return "comment_event"
    return None


class TimePage(_Page):
    """A page of a time-based incremental export: where the next page starts."""

    next_page: str | None = None
    end_time: int | None = None
    end_of_stream: bool


class EventPage(TimePage):
    ticket_events: list[Lenient[ZTicketEvent]]

    @model_validator(mode="after")
    def _set_aside(self) -> Self:
        self.ticket_events, rejected = _split(self.ticket_events, ZTicketEvent, "ticket_event")
        for event in self.ticket_events:
            for child in event.child_events or ():
                if type(child) is not ZChildEvent:
                    break
            else:  # all fine: the common case, kept to one plain loop (this runs for every event)
                continue
            assert event.child_events is not None
            event.child_events, bad = _split(event.child_events, ZChildEvent, "comment", ticket_id=event.ticket_id)
            # only children the sync would have used matter; an odd "Change" event is none of ours
            rejected += [replace(r, object_type=kind) for r in bad if (kind := _child_kind(r.kind)) is not None]
        self._rejected = rejected
        return self


class TimeTicketPage(TimePage):
    tickets: list[Lenient[ZTicket]]

    @model_validator(mode="after")
    def _set_aside(self) -> Self:
        self.tickets, self._rejected = _split(self.tickets, ZTicket, "ticket")
        return self


class ZComment(_Model):
    id: int
    author_id: int | None = None
    body: str | None = None
    plain_body: str | None = None
    public: bool = True
    created_at: datetime


class CommentMeta(_Model):
    has_more: bool = False
    after_cursor: str | None = None


class CommentLinks(_Model):
    next: str | None = None


class CommentsPage(_Page):
    comments: list[Lenient[ZComment]]
    meta: CommentMeta | None = None
    links: CommentLinks | None = None

    @model_validator(mode="after")
    def _set_aside(self) -> Self:
        self.comments, self._rejected = _split(self.comments, ZComment, "comment")
        return self


class ZUser(_Model):
    id: int | None = None
    name: str | None = None
    role: str | None = None


class MeResponse(_Model):
    user: ZUser


PageT = TypeVar("PageT", bound=BaseModel)
TimePageT = TypeVar("TimePageT", bound=TimePage)
