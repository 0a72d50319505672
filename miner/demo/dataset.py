"""The built-in demo dataset: a generated Zendesk account for Shiftwise, with ground truth.

`generate_dataset()` builds thousands of support tickets (with comments, organisations and agents)
over the last `days` days, and labels every ticket with the catalogue issues it describes or the
reason it is not a product issue. The demo Zendesk server (`miner.demo.server`) serves the tickets;
tests and benchmarks score the analyzer and the clustering against the labels. Labels never leak
into ticket content or tags.

Realism that matters for the analysis: every issue is written many ways, by different kinds of
customers (terse, polite, forwarded, chat, non-native, typos); some tickets carry two issues; a
third are not product issues at all; volume has weekly seasonality; one issue emerges after a
recent release and one fades after a fix. Output is deterministic for the same arguments.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any

from miner.demo import catalogue as cat
from miner.demo.arrivals import arrival_times
from miner.demo.chance import Chance, cumulative
from miner.demo.lifecycle import Lifecycle
from miner.demo.people import AGENT_ID_BASE, ORG_ID_BASE, USER_ID_BASE, People
from miner.demo.text import CHANNELS, Writer

__all__ = [
    "AGENT_ID_BASE", "CHANNELS", "FIRST_TICKET_ID", "ISSUE_TYPES", "NON_ISSUE_REASONS", "ORG_ID_BASE", "PATTERNS",
    "SEVERITIES", "STATUSES", "USER_ID_BASE", "DemoComment", "DemoDataset", "DemoLabel", "DemoTicket",
    "demo_issues", "generate_dataset",
]

ISSUE_TYPES = ("bug", "friction", "ux_confusion", "feature_request", "documentation_gap", "data_issue")
SEVERITIES = ("critical", "high", "medium", "low")
PATTERNS = ("steady", "emerging", "fading")
NON_ISSUE_REASONS = ("billing_question", "how_to", "account_change", "thanks", "spam", "other")
STATUSES = ("new", "open", "pending", "hold", "solved", "closed")

COMMENT_ID_BASE = 30_000_000_000
FIRST_TICKET_ID = 10_001

SETTLE_SECONDS = 120  # nothing happens in the last two minutes before `now`
EMERGING_DAYS = 10  # the release that broke the emerging issue went out this many days ago
EMERGING_PEAK = 0.27  # share of all tickets about the emerging issue by `now` (rising linearly from 0)
FADING_FIX_DAYS = 45  # the fading issue was fixed this many days ago
FADING_STRAGGLERS = 0.03  # relative volume after the fix
NON_ISSUE_SHARE = 0.32
TWO_ISSUE_SHARE = 0.12
NON_ISSUE_WEIGHTS = {"billing_question": 0.25, "how_to": 0.31, "account_change": 0.14, "thanks": 0.12,
                     "spam": 0.07, "other": 0.11}


@dataclass(frozen=True, slots=True)
class DemoComment:
    id: int  # globally unique, increasing with time
    author_id: int
    body: str  # plain text
    public: bool  # False = internal note by an agent
    created_at: datetime  # tz-aware UTC, whole seconds


@dataclass(frozen=True, slots=True)
class DemoTicket:
    id: int  # sequential by created_at, starting at 10_001
    subject: str
    description: str  # == comments[0].body
    status: str  # new | open | pending | hold | solved | closed
    priority: str | None  # low | normal | high | urgent | None
    type: str | None  # problem | incident | question | task | None
    requester_id: int
    submitter_id: int
    assignee_id: int | None
    organization_id: int | None
    tags: tuple[str, ...]
    via_channel: str  # email | web | mobile | chat | api
    created_at: datetime
    updated_at: datetime  # == created_at of the last comment
    comments: tuple[DemoComment, ...]  # chronological; comments[0] is the requester's opening message
    deleted: bool


@dataclass(frozen=True, slots=True)
class DemoLabel:
    ticket_id: int
    issue_keys: tuple[str, ...]  # 0, 1 or 2 ground-truth issues
    non_issue_reason: str | None  # set iff issue_keys is empty


@dataclass(frozen=True, slots=True)
class DemoDataset:
    now: datetime
    tickets: tuple[DemoTicket, ...]  # sorted by id
    organizations: dict[int, str]  # org id -> company name
    agents: dict[int, str]  # agent user id -> name
    issues: dict[str, cat.IssueSpec]  # the ground-truth catalogue, keyed by issue key
    labels: dict[int, DemoLabel]


# Building frozen dataclasses through __init__ costs an object.__setattr__ lookup per field: a fifth of
# the generator's time at 200k tickets. The generator sets the slots through their descriptors instead
# (same objects, ~2.5x faster); tests check these match the regular constructors.
_new_object = object.__new__
_COMMENT_SETTERS = tuple(getattr(DemoComment, f.name).__set__ for f in fields(DemoComment))
_TICKET_SETTERS = tuple(getattr(DemoTicket, f.name).__set__ for f in fields(DemoTicket))
_LABEL_SETTERS = tuple(getattr(DemoLabel, f.name).__set__ for f in fields(DemoLabel))


def _make_comment(id: int, author_id: int, body: str, public: bool, created_at: datetime) -> DemoComment:
    set_id, set_author, set_body, set_public, set_created = _COMMENT_SETTERS
    comment = _new_object(DemoComment)
    set_id(comment, id)
    set_author(comment, author_id)
    set_body(comment, body)
    set_public(comment, public)
    set_created(comment, created_at)
    return comment


def _make_ticket(*values: Any) -> DemoTicket:
    """A DemoTicket from its 16 field values in declaration order."""
    ticket = _new_object(DemoTicket)
    for setter, value in zip(_TICKET_SETTERS, values, strict=True):
        setter(ticket, value)
    return ticket


def _make_label(ticket_id: int, issue_keys: tuple[str, ...], non_issue_reason: str | None) -> DemoLabel:
    set_ticket, set_keys, set_reason = _LABEL_SETTERS
    label = _new_object(DemoLabel)
    set_ticket(label, ticket_id)
    set_keys(label, issue_keys)
    set_reason(label, non_issue_reason)
    return label


def demo_issues() -> dict[str, cat.IssueSpec]:
    """The ground-truth issue catalogue, keyed by issue key."""
    return {spec.key: spec for spec in cat.ISSUES}


def generate_dataset(
    now: datetime | None = None,
    *,
    n_tickets: int = 6000,
    days: int = 120,
    n_orgs: int = 360,
    seed: int = 20261128,
) -> DemoDataset:
    """Generate the demo account: tickets over the `days` days before `now`, with ground truth.

    `now` defaults to the current UTC time truncated to the minute; it must be timezone-aware.
    The same arguments always give the same dataset.
    """
    if now is None:
        now = datetime.now(UTC).replace(second=0, microsecond=0)
    elif now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime (e.g. datetime.now(UTC))")
    else:
        now = now.astimezone(UTC).replace(microsecond=0)
    if n_tickets < 1:
        raise ValueError(f"n_tickets must be at least 1, got {n_tickets}")
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")
    if n_orgs < 1:
        raise ValueError(f"n_orgs must be at least 1, got {n_orgs}")
    # (The cyclic collector stays on: switching it off is process-wide, and the demo is generated while the
    # server's threads run. It costs nothing at the default 6,000 tickets and about 30% at 60,000.)
    builder = _Builder(now, n_tickets, days, n_orgs, seed)
    try:
        return builder.build()
    finally:
        builder.close()


# --- the generated account ----------------------------------------------------------------------------


class _Builder(Chance):
    """Builds the account: its people, the ground truth and arrival times, then ticket after ticket.

    Each part draws from the same seeded generator in a fixed order (see `miner.demo.chance`): people
    (`miner.demo.people`), arrival times (`miner.demo.arrivals`), words (`miner.demo.text`) and what
    happens to each ticket (`miner.demo.lifecycle`).
    """

    def __init__(self, now: datetime, n_tickets: int, days: int, n_orgs: int, seed: int) -> None:
        super().__init__(random.Random(seed))
        self.now = now
        self.now_ts = int(now.timestamp())
        self.cap = self.now_ts - SETTLE_SECONDS
        self.start_ts = self.now_ts - days * 86400
        self.id_stride = 10 ** len(str(n_tickets))  # comment ids: seconds * stride + ticket index
        self.n_tickets = n_tickets
        self.people = People(self.rng, n_orgs, n_tickets)
        self.text = Writer(self.rng, self.people.agents, FIRST_TICKET_ID)
        self.lifecycle = Lifecycle(self.rng)
        self.emerging: str | None = None
        self.issue_table: tuple[list[str], list[float]] = ([], [])
        self.issue_table_after_fix: tuple[list[str], list[float]] = ([], [])
        self.planned_reasons: list[str | None] = []

    def close(self) -> None:
        """Break the reference cycles through the builder, so it is freed without the cyclic GC."""
        self.text.close()

    def build(self) -> DemoDataset:
        self.people.build()
        self._plan_topics()
        times = arrival_times(self.rng, self.start_ts, self.cap, self.n_tickets)
        tickets: list[DemoTicket] = []
        labels: dict[int, DemoLabel] = {}
        for index, created in enumerate(times):
            ticket, label = self._ticket(FIRST_TICKET_ID + index, created)
            tickets.append(ticket)
            labels[ticket.id] = label
        return DemoDataset(
            now=self.now,
            tickets=tuple(tickets),
            organizations=self.people.organizations(),
            agents=dict(self.people.agents.names),
            issues=demo_issues(),
            labels=labels,
        )

    # --- the ground truth ---------------------------------------------------------------------------
    def _plan_topics(self) -> None:
        """How often each issue comes up (the fading one rarely after its fix), and which tickets are
        not product issues at all."""
        steady = [s for s in cat.ISSUES if s.pattern != "emerging"]
        keys = [s.key for s in steady]
        self.issue_table = (keys, cumulative([s.weight for s in steady]))
        self.issue_table_after_fix = (keys, cumulative(
            [s.weight * (FADING_STRAGGLERS if s.pattern == "fading" else 1.0) for s in steady]))
        self.emerging = next((s.key for s in cat.ISSUES if s.pattern == "emerging"), None)
        self.planned_reasons = self._plan_non_issues()

    def _plan_non_issues(self) -> list[str | None]:
        """Which tickets are not product issues, and why: exact shares, random positions."""
        count = round(self.n_tickets * NON_ISSUE_SHARE)
        reasons: list[str] = []
        for reason in NON_ISSUE_REASONS:
            reasons += [reason] * round(count * NON_ISSUE_WEIGHTS[reason])
        reasons = (reasons + ["how_to"] * count)[:count]
        planned: list[str | None] = [None] * self.n_tickets
        for index, reason in zip(self.rng.sample(range(self.n_tickets), count), reasons, strict=True):
            planned[index] = reason
        return planned

    def _topic(self, index: int, age_days: float) -> tuple[tuple[str, ...], str | None]:
        """What the `index`th ticket is about: (issue keys, None) or ((), the reason it is no issue)."""
        reason = self.planned_reasons[index]
        if reason is not None:
            keys: tuple[str, ...] = ()
        else:
            table = self.issue_table_after_fix if age_days < FADING_FIX_DAYS else self.issue_table
            p_emerging = (EMERGING_PEAK / (1 - NON_ISSUE_SHARE) * (1 - age_days / EMERGING_DAYS)
                          if age_days < EMERGING_DAYS else 0.0)
            if self.emerging and self.random() < p_emerging:
                keys = (self.emerging,)
            else:
                keys = (self.weighted(table),)
            if self.random() < TWO_ISSUE_SHARE:
                second = keys[0]
                while second == keys[0]:
                    second = self.weighted(table)
                keys = (keys[0], second)
        return keys, reason

    # --- one ticket ---------------------------------------------------------------------------------
    def _ticket(self, ticket_id: int, created: int) -> tuple[DemoTicket, DemoLabel]:
        """One ticket with its whole conversation, and its ground-truth label."""
        text, lifecycle = self.text, self.lifecycle
        org, requester = self.people.requester()
        text.begin(ticket_id, created, org, requester)
        age_days = (self.now_ts - created) / 86400
        age_hours = (self.cap - created) / 3600

        keys, reason = self._topic(ticket_id - FIRST_TICKET_ID, age_days)
        spec = cat.ISSUES_BY_KEY[keys[0]] if keys else None
        billing = reason in ("billing_question", "account_change") or (spec is not None and spec.category == "billing")
        text.agent_id = agent = self.people.agent(billing)

        channel, style = text.channel_and_style(spec, reason)
        subject, body, lower = text.opening(keys, spec, reason, billing, channel, style, age_days < EMERGING_DAYS)

        status = lifecycle.status(reason, age_hours)
        flow = lifecycle.flow(status, reason, age_hours)
        comments = self._conversation(ticket_id, created, requester.id, body, flow, spec, reason, lower)
        done = len(comments) - 1
        status = lifecycle.settled_status(status, flow, done, self.cap - int(comments[-1].created_at.timestamp()))

        # the fields agents set (in this order: each one draws from the generator)
        priority = lifecycle.priority(status, spec, reason)
        ticket_type = lifecycle.ticket_type(spec)
        tags = lifecycle.tags(org.tags, channel, style, status, reason, flow, done)
        deleted = lifecycle.deleted(reason)
        assignee = None if status == "new" else agent
        submitter = agent if style == "call" else requester.id
        ticket = _make_ticket(  # the DemoTicket fields, in order
            ticket_id, subject, body, status, priority, ticket_type, requester.id, submitter, assignee,
            org.id, tags, channel, comments[0].created_at, comments[-1].created_at, tuple(comments), deleted,
        )
        return ticket, _make_label(ticket_id, keys, reason)

    def _conversation(self, ticket_id: int, created: int, requester_id: int, body: str, flow: tuple[str, ...],
                      spec: cat.IssueSpec | None, reason: str | None, lower: bool) -> list[DemoComment]:
        """The opening message and the comments of `flow` that fit before the cap."""
        # Comment ids: the second since the start, then the ticket. Unique because one ticket's comments
        # are at least a second apart; increasing with time.
        stride = self.id_stride
        id_base = COMMENT_ID_BASE - self.start_ts * stride + ticket_id - FIRST_TICKET_ID
        comments = [_make_comment(id_base + created * stride, requester_id, body, True,
                                  datetime.fromtimestamp(created, UTC))]
        previous = ""
        times = self.lifecycle.comment_times(flow, created, self.cap)
        for kind, t in zip(flow, times, strict=False):  # `times` may stop short of the flow
            author, text, public = self.text.comment(kind, previous, spec, reason, lower)
            comments.append(_make_comment(id_base + t * stride, author, text, public, datetime.fromtimestamp(t, UTC)))
            if kind != "note":
                previous = kind
        return comments
