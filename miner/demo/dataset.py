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

import gc
import random
import re
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from math import log
from typing import Any, TypeVar

from miner.demo import catalogue as cat

T = TypeVar("T")

ISSUE_TYPES = ("bug", "friction", "ux_confusion", "feature_request", "documentation_gap", "data_issue")
SEVERITIES = ("critical", "high", "medium", "low")
PATTERNS = ("steady", "emerging", "fading")
NON_ISSUE_REASONS = ("billing_question", "how_to", "account_change", "thanks", "spam", "other")
STATUSES = ("new", "open", "pending", "hold", "solved", "closed")
CHANNELS = ("email", "web", "mobile", "chat", "api")

ORG_ID_BASE = 36_000_000_000
USER_ID_BASE = 37_000_000_000
AGENT_ID_BASE = 38_000_000_000
COMMENT_ID_BASE = 30_000_000_000
FIRST_TICKET_ID = 10_001

SETTLE_SECONDS = 120  # nothing happens in the last two minutes before `now`
EMERGING_DAYS = 10  # the release that broke the emerging issue went out this many days ago
EMERGING_PEAK = 0.27  # share of all tickets about the emerging issue by `now` (rising linearly from 0)
FADING_FIX_DAYS = 45  # the fading issue was fixed this many days ago
FADING_STRAGGLERS = 0.03  # relative volume after the fix
NON_ISSUE_SHARE = 0.32
TWO_ISSUE_SHARE = 0.12
INDIVIDUAL_SHARE = 0.05  # requesters without an organisation
DELETED_SPAM_SHARE = 0.4
AUTO_CLOSE_DAYS = 4  # Zendesk closes solved tickets after four days

# Relative ticket volume by weekday (Mon..Sun) and by UTC hour (customers in the Americas, EMEA, APAC).
WEEKDAY_VOLUME = (1.08, 1.03, 1.0, 0.97, 0.9, 0.44, 0.38)
HOUR_VOLUME = (0.55, 0.45, 0.35, 0.3, 0.3, 0.35, 0.5, 0.8, 1.1, 1.3, 1.4, 1.4, 1.35, 1.5, 1.7, 1.8, 1.8,
               1.7, 1.5, 1.3, 1.1, 0.95, 0.8, 0.65)
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
    # Generation allocates millions of small acyclic objects; the cyclic collector would rescan the
    # growing heap over and over (a third of the run time at 200k tickets) without freeing anything.
    collecting = gc.isenabled()
    gc.disable()
    builder = _Builder(now, n_tickets, days, n_orgs, seed)
    try:
        return builder.build()
    finally:
        builder.close()
        if collecting:
            gc.enable()


# --- the generated world ----------------------------------------------------------------------------


@dataclass(slots=True)
class _User:
    id: int
    first: str
    last: str
    title: str
    email: str

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"


@dataclass(slots=True)
class _Org:
    id: int | None  # None = individuals, no organisation
    name: str
    industry: str
    plan: str
    region: str
    lang: str  # "en" or a key of catalogue.LANGUAGES
    vip: bool
    payroll: str
    idp: str
    calendar: str
    chat: str
    n_staff: str
    tags: tuple[str, ...]
    users: list[_User]


class _Slots(dict[str, str]):
    """Placeholder values for one ticket; unknown names are drawn on first use and then kept."""

    __slots__ = ()
    builder: _Builder  # set on the per-builder subclass

    def __missing__(self, key: str) -> str:
        value = self.builder.slot(key)
        self[key] = value
        return value


class _Builder:
    def __init__(self, now: datetime, n_tickets: int, days: int, n_orgs: int, seed: int) -> None:
        self.now = now
        self.now_ts = int(now.timestamp())
        self.cap = self.now_ts - SETTLE_SECONDS
        self.start_ts = self.now_ts - days * 86400
        self.id_stride = 10 ** len(str(n_tickets))  # comment ids: seconds * stride + ticket index
        self.n_tickets = n_tickets
        self.days = days
        self.n_orgs = n_orgs
        self.rng = random.Random(seed)
        self.random = self.rng.random
        self.specs = cat.ISSUES
        self.agent_ids = [AGENT_ID_BASE + i + 1 for i in range(len(cat.AGENT_NAMES))]
        self.agent_first = {aid: name.split()[0] for aid, name in zip(self.agent_ids, cat.AGENT_NAMES, strict=True)}
        self.support_agents = self.agent_ids[: -cat.BILLING_AGENTS]
        self.billing_agents = self.agent_ids[-cat.BILLING_AGENTS:]
        self.next_user = 0
        # per-ticket context used by slot()
        self.org: _Org
        self.requester: _User
        self.created = 0
        self.agent_id = self.agent_ids[0]
        self.non_issue_reply = ""
        self.ticket_id = FIRST_TICKET_ID
        self.slots_type = type("_BuilderSlots", (_Slots,), {"__slots__": (), "builder": self})
        self.slots: _Slots = self.slots_type()
        self.slot_makers = self._slot_makers()

    def close(self) -> None:
        """Break the reference cycles through the builder, so it is freed without the cyclic GC."""
        if "builder" in vars(self.slots_type):
            delattr(self.slots_type, "builder")
        self.slot_makers = {}

    # --- randomness (faster than Random.choice/choices, which dominate the profile) -------------
    def pick(self, options: Sequence[T]) -> T:
        """A uniformly random element of a non-empty sequence."""
        return options[int(self.random() * len(options))]

    def weighted(self, table: tuple[Sequence[T], list[float]]) -> T:
        """A random option from `(options, cumulative weights)`."""
        options, cum = table
        return options[bisect_right(cum, self.random() * cum[-1], 0, len(cum) - 1)]

    # --- people and organisations ---------------------------------------------------------------
    def _new_user(self) -> _User:
        self.next_user += 1
        first, last = self.pick(cat.FIRST_NAMES), self.pick(cat.LAST_NAMES)
        local = f"{first}.{last}".lower().replace("'", "")
        return _User(USER_ID_BASE + self.next_user, first, last, self.pick(cat.ROLE_TITLES),
                     f"{local}@example.com")

    def _org_names(self) -> list[tuple[str, str]]:
        """(industry, unique company name) for every organisation."""
        names: list[tuple[str, str]] = []
        seen: set[str] = set()
        industries = list(cat.INDUSTRIES)
        while len(names) < self.n_orgs:
            industry = self.pick(industries)
            base = f"{self.pick(cat.COMPANY_PREFIXES)} {self.pick(cat.INDUSTRIES[industry][0])}"
            name = base + self.pick(cat.COMPANY_SUFFIXES)
            if name in seen:
                name = f"{base} {self.pick(('North', 'South', 'East', 'West', 'UK', 'US', 'Group', 'Holdings'))}"
                if name in seen:
                    name = f"{base} {len(names) + 1}"
            seen.add(name)
            names.append((industry, name))
        return names

    def _build_orgs(self) -> tuple[list[_Org], list[float]]:
        rng = self.rng
        orgs: list[_Org] = []
        weights: list[float] = []
        for rank, (industry, name) in enumerate(self._org_names()):
            size = 1.0 / (rank + 1) ** 0.8  # a few big customers, a long tail of small ones
            share = rank / self.n_orgs
            plan = "enterprise" if share < 0.15 else "business" if share < 0.55 else "starter"
            if rng.random() < 0.15:
                plan = self.pick(cat.PLANS)
            region = self.weighted(_ORG_REGIONS)
            lang = "en"
            if region == "emea":
                lang = self.weighted(_EMEA_LANGUAGES)
            elif region == "amer" and rng.random() < 0.06:
                lang = "es"
            staff = max(8, int(2500 * size * rng.uniform(0.5, 1.5)))
            n_staff = f"{staff:,}" if staff < 1000 or rng.random() < 0.5 else f"over {staff // 100 * 100:,}"
            vip = share < 0.05
            tags = [f"plan_{plan}", f"region_{region}"]
            if lang != "en":
                tags.append(f"lang_{lang}")
            if vip:
                tags.append("vip")
            extra = rng.random()
            if extra < 0.06:
                tags.append("onboarding")
            elif extra < 0.09:
                tags.append("churn_risk")
            elif extra < 0.14:
                tags.append("renewal_due")
            n_users = 2 + min(10, int(size * 40)) + rng.randint(0, 2)
            org = _Org(
                id=ORG_ID_BASE + rank + 1, name=name, industry=industry, plan=plan, region=region,
                lang=lang, vip=vip, payroll=self.pick(cat.PAYROLL_TOOLS),
                idp=self.pick(cat.IDENTITY_PROVIDERS), calendar=self.pick(cat.CALENDARS),
                chat=self.pick(cat.CHAT_TOOLS), n_staff=n_staff, tags=tuple(tags),
                users=[self._new_user() for _ in range(n_users)],
            )
            orgs.append(org)
            weights.append(size)
        order = list(range(len(orgs)))
        rng.shuffle(order)  # ids should not reveal size
        for new_index, org in zip(order, list(orgs), strict=True):
            org.id = ORG_ID_BASE + new_index + 1
        return orgs, weights

    def _build_individuals(self) -> list[_Org]:
        """Requesters without an organisation: each gets a one-person pseudo-org for context."""
        rng = self.rng
        count = max(5, int(self.n_tickets * INDIVIDUAL_SHARE / 1.6))
        people: list[_Org] = []
        for _ in range(count):
            industry = self.pick(list(cat.INDUSTRIES))
            plan = self.pick(("starter", "starter", "trial"))
            region = self.weighted(_PERSON_REGIONS)
            owner = self._new_user()
            business = f"{owner.last} {self.pick(cat.INDUSTRIES[industry][0])}"  # a small business
            people.append(_Org(
                id=None, name=business, industry=industry, plan=plan, region=region, lang="en",
                vip=False, payroll=self.pick(cat.PAYROLL_TOOLS), idp=self.pick(cat.IDENTITY_PROVIDERS),
                calendar=self.pick(cat.CALENDARS), chat=self.pick(cat.CHAT_TOOLS),
                n_staff=str(rng.randint(4, 40)), tags=(f"plan_{plan}", f"region_{region}", "self_serve"),
                users=[owner],
            ))
        return people

    # --- when tickets arrive --------------------------------------------------------------------
    def _ticket_times(self) -> list[int]:
        """Creation times: hourly slots weighted by weekday, hour of day, daily noise and growth."""
        rng = self.rng
        start = self.start_ts
        span = self.cap - start
        day_factor: dict[int, float] = {}
        starts: list[int] = []
        lengths: list[int] = []
        cum: list[float] = []
        total = 0.0
        t = start
        while t < self.cap:
            end = min(self.cap, (t // 3600 + 1) * 3600)
            day = t // 86400
            if day not in day_factor:
                factor = WEEKDAY_VOLUME[(day + 3) % 7] * rng.uniform(0.85, 1.15)  # 1970-01-01 was a Thursday
                if rng.random() < 0.03:
                    factor *= 1.3  # the odd busy day (an outage elsewhere, a payroll deadline)
                day_factor[day] = factor
            growth = 0.9 + 0.2 * (t - start) / span
            total += day_factor[day] * HOUR_VOLUME[(t // 3600) % 24] * growth * (end - t) / 3600
            starts.append(t)
            lengths.append(end - t)
            cum.append(total)
            t = end
        slots = rng.choices(range(len(starts)), cum_weights=cum, k=self.n_tickets)
        times = [starts[s] + int(rng.random() * lengths[s]) for s in slots]
        times.sort()
        return times

    # --- placeholder values -------------------------------------------------------------------------
    def slot(self, key: str) -> str:
        """A value for one placeholder of the current ticket (see catalogue.SLOTS for static ones)."""
        static = cat.SLOTS.get(key)
        if static is not None:
            return self.pick(static)
        maker = self.slot_makers.get(key)
        if maker is None:
            raise KeyError(f"unknown placeholder {{{key}}} in the demo catalogue")
        return maker()

    def _slot_makers(self) -> dict[str, Callable[[], str]]:
        """Placeholders whose values depend on the ticket, its organisation or its requester."""
        rng, pick = self.rng, self.pick

        def industry(part: int) -> Callable[[], str]:
            return lambda: pick(cat.INDUSTRIES[self.org.industry][part])

        def amount() -> str:
            org = self.org
            symbol = {"amer": "$", "apac": "A$"}.get(org.region, "€" if org.lang != "en" else "£")
            value = pick((49, 96, 149, 240, 380, 480, 960, 1240, 2150, 3600, 5400))
            return f"{symbol}{value:,}.00" if rng.random() < 0.4 else f"{symbol}{value:,}"

        def month() -> str:
            return _MONTHS[datetime.fromtimestamp(self.created - rng.randint(0, 70) * 86400, UTC).month - 1]

        def email() -> str:
            if rng.random() < 0.5:
                return self.requester.email
            return f"{pick(cat.FIRST_NAMES)}.{pick(cat.LAST_NAMES)}@example.com".lower().replace("'", "")

        def phone() -> str:
            return pick(cat.PHONE_FORMATS).format(d2=f"{rng.randint(0, 99):02d}", d3=f"{rng.randint(0, 999):03d}")

        def earlier(low: int, high: int) -> datetime:
            return datetime.fromtimestamp(self.created - rng.randint(low, high), UTC)

        def quote_date(low: int, high: int) -> Callable[[], str]:
            def make() -> str:
                when = earlier(low, high)
                return f"{_WEEKDAYS[when.weekday()]}, {when.day} {_MONTHS[when.month - 1][:3]} {when.year} at {when:%H:%M}"
            return make

        def quote_week() -> str:
            when = earlier(3600, 20 * 86400)
            return f"{when.day} {_MONTHS[when.month - 1]}"

        return {
            "company": lambda: self.org.name,
            "site": industry(1),
            "staff": industry(2),
            "role": industry(3),
            "payroll": lambda: self.org.payroll,
            "idp": lambda: self.org.idp,
            "calendar": lambda: self.org.calendar,
            "chat": lambda: self.org.chat,
            "n_staff": lambda: self.org.n_staff,
            "industry_desc": lambda: cat.INDUSTRY_DESCRIPTIONS[self.org.industry],
            "lang": lambda: cat.LANGUAGES.get(self.org.lang) or pick(cat.SLOTS["lang_any"]),
            "coworker": lambda: pick(cat.FIRST_NAMES),
            "person": lambda: f"{pick(cat.FIRST_NAMES)} {pick(cat.LAST_NAMES)}",
            "count": lambda: str(rng.randint(2, 40)),
            "amount": amount,
            "month": month,
            "error_id": lambda: f"ERR-{rng.getrandbits(24):06X}",
            "jira": lambda: f"{pick(('JIRA', 'ENG', 'MOB', 'PLAT'))}-{rng.randint(1200, 9800)}",
            "ref": lambda: str(max(FIRST_TICKET_ID, self.ticket_id - rng.randint(3, 600))),
            "hex": lambda: f"{rng.getrandbits(48):012x}",
            "phone": phone,
            "email": email,
            "ip": lambda: f"{pick(cat.IP_PREFIXES)}{rng.randint(2, 254)}",
            "card": lambda: pick(cat.TEST_CARDS),
            "card_last4": lambda: self.slots["card"][-4:],
            "iban": lambda: pick(cat.TEST_IBANS),
            "name": lambda: self.requester.name,
            "first": lambda: self.requester.first,
            "title": lambda: self.requester.title,
            "last_initial": lambda: self.requester.last[0],
            "agent_first": lambda: self.agent_first[self.agent_id],
            "agent_other": lambda: pick(cat.AGENT_NAMES).split()[0],
            "plan_label": lambda: self.org.plan.capitalize(),
            "quote_date": quote_date(3600, 20 * 86400),
            "forward_date": quote_date(600, 2 * 86400),
            "quote_week": quote_week,
            "subject_ref": lambda: pick(cat.SPAM_SUBJECT_REFS),
            "article": lambda: str(rng.randint(360_001_000_000, 360_099_999_999)),
            "page": lambda: pick(cat.WIDGET_PAGES),
        }

    def fmt(self, template: str) -> str:
        return template.format_map(self.slots) if "{" in template else template

    # --- the requester's opening message ------------------------------------------------------------
    def _issue_core(self, keys: tuple[str, ...]) -> str:
        rng = self.rng
        text = self.fmt(self.pick(cat.ISSUES_BY_KEY[keys[0]].bodies))
        if len(keys) == 2:
            second = self.fmt(self.pick(cat.ISSUES_BY_KEY[keys[1]].bodies))
            connector = self.pick(cat.SECOND_ISSUE_CONNECTORS)
            if connector[-1].isalpha() and second[1:2].islower() and not second.startswith(("I ", "I'")):
                second = second[0].lower() + second[1:]
            text = f"{text}{' ' if rng.random() < 0.3 else chr(10) * 2}{connector} {second}"
        return text

    def _signature(self) -> str:
        if self.org.id is None:  # self-serve owners sign with a name, sometimes the business
            return self.fmt(self.pick(("{first}", "{name}", "{name}\n{phone}", "{name}\n{company}")))
        return self.fmt(self.pick(cat.SIGNATURES))

    def _wrap(self, core: str, style: str, subject: str, non_native: bool, issue: bool) -> str:
        """Dress the core text the way this kind of customer writes."""
        rng = self.rng
        if style == "terse":
            return core + self.pick(_TERSE_ENDINGS)
        if style == "chat":
            lines = _SENTENCE.split(core) if rng.random() < 0.7 else [core]
            return self.pick(cat.CHAT_OPENERS) + "\n" + "\n".join(lines)
        if style == "sdk":
            if rng.random() < 0.6:
                return f"{core}\n\n{self.fmt(self.pick(cat.SDK_FOOTERS))}"
            return core
        if style == "widget":
            return f"{core}\n\n{self.fmt(self.pick(cat.WIDGET_FOOTERS))}"
        if style == "call":
            return f"{self.fmt(self.pick(cat.PHONE_CALL_INTROS))}\n{core}"
        greetings = cat.NON_NATIVE_GREETINGS if non_native and rng.random() < 0.6 else cat.GREETINGS
        closings = cat.NON_NATIVE_CLOSINGS if non_native and rng.random() < 0.6 else cat.CLOSINGS
        greet, closing = self.pick(greetings), self.fmt(self.pick(closings))
        if _LEADING_GREETING.match(core):  # the message already says hello: don't say it twice
            core = _LEADING_GREETING.sub("", core, count=1)
            core = core[:1].upper() + core[1:]
        if style == "plain":
            if rng.random() < 0.3:
                return f"{greet}\n\n{core}"
            sign = self.slots["first"] if rng.random() < 0.7 else self.slots["name"]
            return f"{greet}\n\n{core}\n\n{closing}\n{sign}"
        if style == "forwarded":
            employee = f"{self.pick(cat.FIRST_NAMES)} {self.pick(cat.LAST_NAMES)}"
            address = employee.lower().replace(" ", ".").replace("'", "") + "@example.com"
            inner_subject = self.pick((subject.removeprefix("Fwd: "), "app problem", "Help", "quick one",
                                        subject.removeprefix("Fwd: ")))
            return (
                f"{self.fmt(self.pick(cat.FORWARD_INTROS))}\n\n{self.slots['first']}\n\n"
                f"---------- Forwarded message ---------\nFrom: {employee} <{address}>\n"
                f"Date: {self.slots['forward_date']}\nSubject: {inner_subject}\n"
                f"To: {self.requester.name} <{self.requester.email}>\n\n"
                f"Hi {self.requester.first},\n\n{core}\n\n{employee.split()[0]}"
            )
        # "email": a full message with context, details, signature and the usual noise
        parts = [greet]
        if rng.random() < 0.55:
            pool = cat.ISSUE_CONTEXT_SENTENCES if issue and rng.random() < 0.3 else cat.CONTEXT_SENTENCES
            context = self.fmt(self.pick(pool))
            parts.append(f"{context}\n\n{core}" if rng.random() < 0.5 else f"{context} {core}")
        else:
            parts.append(core)
        if rng.random() < 0.6:
            details = self.fmt(self.pick(cat.DETAIL_SENTENCES))
            if rng.random() < 0.35:
                details = f"{details} {self.fmt(self.pick(cat.DETAIL_SENTENCES))}"
            parts.append(details)
        parts.append(f"{closing}\n{self._signature()}")
        if rng.random() < 0.08:
            parts.append(self.pick(cat.DEVICE_FOOTERS))
        if rng.random() < 0.12:
            parts.append(self.pick(cat.DISCLAIMERS))
        if rng.random() < 0.1:
            parts.append(self.fmt(self.pick(cat.QUOTED_NOISE)))
        return "\n\n".join(parts)

    def _subject(self, subjects: tuple[str, ...], style: str, channel: str) -> str:
        rng = self.rng
        if channel == "chat" and rng.random() < 0.8:
            return f"Conversation with {self.requester.first}"
        subject = self.pick(cat.VAGUE_SUBJECTS) if rng.random() < 0.13 else self.fmt(self.pick(subjects))
        if channel == "mobile" and rng.random() < 0.4:
            subject = "Feedback from the Shiftwise app"
        elif channel == "api":
            subject = f"[In-app] {subject}"
        if style == "forwarded":
            subject = f"Fwd: {subject}"
        elif style == "call":
            subject = f"Phone call: {subject}"
        elif channel == "email" and rng.random() < 0.06:
            subject = f"Re: {subject}"
        if rng.random() < 0.03:
            subject = subject.upper()
        return subject

    def _roughen(self, text: str, style: str, non_native: bool) -> tuple[str, bool]:
        """Non-native phrasing, all-lowercase and typos in what the customer typed themselves.

        Returns the text and whether the customer writes in lowercase (their follow-ups will too).
        """
        rng = self.rng
        if non_native:
            for pattern, replacement in cat.NON_NATIVE_REWRITES:
                if pattern in text and rng.random() < 0.45:
                    text = text.replace(pattern, replacement, 1)
        lower = style in ("terse", "chat", "sdk") and rng.random() < 0.22
        if lower:
            text = text.lower()
        if rng.random() < 0.10:
            text = _typos(text, rng)
        return text, lower

    # --- one ticket ---------------------------------------------------------------------------------
    def _choose_channel_and_style(self, spec: cat.IssueSpec | None, reason: str | None) -> tuple[str, str]:
        rng = self.rng
        if reason == "spam":
            return "email", "spam"
        if spec is not None and spec.mobile:
            channel = self.weighted(_CHANNELS_MOBILE_ISSUE)
        elif spec is not None:
            channel = self.weighted(_CHANNELS_ISSUE)
        else:
            channel = self.weighted(_CHANNELS_NON_ISSUE)
        if rng.random() < 0.03:
            return "web", "call"  # logged by an agent after a phone call
        if channel == "email":
            style = self.weighted(_EMAIL_STYLES)
            if style == "forwarded" and spec is None:
                style = "email"
        elif channel == "web":
            style = self.weighted(_WEB_STYLES)
        elif channel == "mobile":
            style = "sdk" if rng.random() < 0.7 else "terse"
        else:
            style = "chat" if channel == "chat" else "widget"
        if reason == "thanks" and style in ("email", "forwarded"):
            style = "plain"
        return channel, style

    def _set_device(self, spec: cat.IssueSpec | None, age_days: float) -> None:
        """Device details the mobile SDK attaches to a ticket."""
        rng, slots = self.rng, self.slots
        platform = spec.subcategory if spec is not None and spec.subcategory in ("ios", "android") else None
        if platform is None:
            platform = "ios" if rng.random() < 0.55 else "android"
        if platform == "ios":
            slots["device"], slots["os"] = self.fmt("{iphone}"), self.fmt("{ios}")
        else:
            slots["device"], slots["os"] = self.fmt("{android_device}"), self.fmt("{android}")
        new = (spec is not None and spec.pattern == "emerging") or (age_days < EMERGING_DAYS and rng.random() < 0.5)
        slots["app_version"] = self.fmt("{new_app}" if new else "{old_app}")

    def _status(self, age_hours: float) -> str:
        for limit, statuses, cum in _STATUS_BY_AGE:
            if age_hours < limit:
                return self.weighted((statuses, cum))
        raise AssertionError("unreachable")

    def _flow(self, status: str, reason: str | None, age_hours: float) -> tuple[str, ...]:
        """What happens after the opening message, chosen to fit the status."""
        rng = self.rng
        if reason in ("spam", "thanks"):
            if status == "new":
                return ()
            return self.pick(((), ("spam_note",))) if reason == "spam" else self.pick(((), ("reply",), ("reply",)))
        flows = (_NON_ISSUE_FLOWS if reason else _ISSUE_FLOWS)[status]
        flow = self.pick(flows)
        if status == "new" and age_hours < 24:
            flow = ()
        if reason is None and status != "new" and "note" not in flow and len(flow) < 5 and rng.random() < 0.2:
            at = 1 if flow and flow[0] == "ack" else 0  # notes follow the first acknowledgement
            flow = (*flow[:at], "note", *flow[at:])
        return flow

    def _agent_message(self, text: str, first: str) -> str:
        rng = self.rng
        text = self.fmt(text)
        name = self.agent_first[self.agent_id]
        if rng.random() < 0.8:
            return f"Hi {first},\n\n{text}\n\n{self.pick(cat.AGENT_SIGNOFFS)}\n{name}\nShiftwise Support"
        return f"{text}\n\n{name}"

    def _comment(self, kind: str, previous: str, spec: cat.IssueSpec | None, reason: str | None,
                 lower: bool) -> tuple[int, str, bool]:
        """(author id, body, public) for one comment after the opening message."""
        rng = self.rng
        first = self.requester.first
        issue_type = spec.issue_type if spec is not None else "bug"
        if kind == "ack":
            return self.agent_id, self._agent_message(self.pick(cat.AGENT_ACKS[issue_type]), first), True
        request = issue_type in ("feature_request", "documentation_gap")
        if kind == "ask":
            area = "billing" if spec is not None and spec.category == "billing" else (
                "request" if request else "mobile" if spec is not None and spec.mobile else "web")
            pool = cat.AGENT_ASKS[area] if area in ("billing", "request") or rng.random() < 0.6 else cat.AGENT_ASKS["general"]
            return self.agent_id, self._agent_message(self.pick(pool), first), True
        if kind == "resolve":
            return self.agent_id, self._agent_message(self.pick(cat.AGENT_RESOLUTIONS[issue_type]), first), True
        if kind == "reply":
            answered = previous != ""
            text = self.pick(cat.AGENT_NON_ISSUE_FOLLOWUPS) if answered else self.non_issue_reply
            return self.agent_id, self._agent_message(text, first), True
        if kind in ("note", "hold", "spam_note"):
            if kind == "hold":
                pool = cat.NON_ISSUE_HOLD_NOTES if reason else cat.HOLD_NOTES
            elif kind == "spam_note":
                pool = cat.SPAM_NOTES
            elif reason == "billing_question" or (spec is not None and spec.category == "billing"):
                pool = cat.BILLING_NOTES if rng.random() < 0.6 else cat.NON_ISSUE_NOTES
            else:
                pool = cat.NON_ISSUE_NOTES if reason else cat.INTERNAL_NOTES
            author = self.agent_id if rng.random() < 0.8 else self.pick(self.support_agents)
            return author, self.fmt(self.pick(pool)), False
        if kind == "still":
            if request:
                pool = cat.FOLLOWUPS_REQUEST
            elif previous == "ask":
                mobile = spec is not None and spec.mobile and rng.random() < 0.5
                pool = cat.FOLLOWUPS_MOBILE if mobile else cat.FOLLOWUPS_ANSWERS
            else:
                pool = cat.FOLLOWUPS_STILL
        elif kind == "thanks":
            pool = cat.FOLLOWUPS_RESOLVED
        else:
            pool = cat.FOLLOWUPS_NON_ISSUE
        body = self.fmt(self.pick(pool))
        return self.requester.id, body.lower() if lower else body, True

    def _ticket(self, ticket_id: int, created: int) -> tuple[DemoTicket, DemoLabel]:
        """One ticket with its whole conversation, and its ground-truth label."""
        rng = self.rng
        self.ticket_id, self.created = ticket_id, created
        self.slots = self.slots_type()
        self.non_issue_reply = ""
        if rng.random() < INDIVIDUAL_SHARE:
            org = self.pick(self.individuals)
            requester = org.users[0]
        else:
            org = self.weighted((self.orgs, self.org_cum))
            requester = org.users[0] if rng.random() < 0.4 else self.pick(org.users)  # the admin writes most
        self.org, self.requester = org, requester
        age_days = (self.now_ts - created) / 86400
        age_hours = (self.cap - created) / 3600

        # what the ticket is about
        keys: tuple[str, ...] = ()
        reason = self.planned_reasons[ticket_id - FIRST_TICKET_ID]
        table, cum = self.issue_table_after_fix if age_days < FADING_FIX_DAYS else self.issue_table
        p_emerging = (EMERGING_PEAK / (1 - NON_ISSUE_SHARE) * (1 - age_days / EMERGING_DAYS)
                      if age_days < EMERGING_DAYS else 0.0)
        if reason is not None:
            pass
        elif self.emerging and rng.random() < p_emerging:
            keys = (self.emerging,)
        else:
            keys = (self.weighted((table, cum)),)
        if keys and rng.random() < TWO_ISSUE_SHARE:
            second = keys[0]
            while second == keys[0]:
                second = self.weighted((table, cum))
            keys = (keys[0], second)
        spec = cat.ISSUES_BY_KEY[keys[0]] if keys else None
        billing = reason in ("billing_question", "account_change") or (spec is not None and spec.category == "billing")
        self.agent_id = self.pick(self.billing_agents if billing else self.support_agents)

        # the opening message
        channel, style = self._choose_channel_and_style(spec, reason)
        non_native = org.lang != "en" and rng.random() < 0.85
        lower = False
        if style == "spam":
            subject_template, body_template = self.pick(cat.SPAM)
            subject, body = self.fmt(subject_template), self.fmt(body_template)
        else:
            if spec is not None:
                core, subjects = self._issue_core(keys), spec.subjects
            else:
                subject_options, body_template, self.non_issue_reply = self.pick(cat.NON_ISSUES[reason or "other"])
                core, subjects = self.fmt(body_template), tuple(subject_options.split("|"))
            if billing and rng.random() < 0.06:
                core = f"{core} {self.fmt(self.pick(cat.BILLING_PII_SNIPPETS))}"
            elif rng.random() < 0.035:
                core = f"{core}{self.pick((' ', chr(10) * 2))}{self.fmt(self.pick(cat.PII_SNIPPETS))}"
            if style == "sdk":
                self._set_device(spec, age_days)
            if style != "call":  # an agent typed the call notes
                core, lower = self._roughen(core, style, non_native)
            subject = self._subject(subjects, style, channel)
            body = self._wrap(core, style, subject, non_native, spec is not None)
            if channel in ("email", "web") and style != "call" and rng.random() < 0.02:
                subject = _typos(subject, rng)  # people mistype subjects; apps and chat widgets don't

        # the conversation, squeezed into the time available
        status = "new" if reason in ("spam", "thanks") and age_hours < 1 else (
            "solved" if reason in ("spam", "thanks") else self._status(age_hours))
        flow = self._flow(status, reason, age_hours)
        gaps: list[float] = []
        first_agent = True
        random = self.random
        for kind in flow:
            # seconds before this comment: a floor plus an exponential wait with the kind's mean
            floor, mean = _GAPS.get(kind) or (300, 14400 if first_agent else 18000)
            gaps.append(min(floor - mean * log(1.0 - random()), 6 * 86400))
            if kind in _AGENT_REPLIES:
                first_agent = False
        window = self.cap - created
        total = sum(gaps)
        if total > window:
            scale = window * rng.uniform(0.3, 0.95) / total
            gaps = [g * scale for g in gaps]
        # Comment ids: the second since the start, then the ticket. Unique because one ticket's comments
        # are at least a second apart; increasing with time.
        stride, index = self.id_stride, ticket_id - FIRST_TICKET_ID
        id_base = COMMENT_ID_BASE - self.start_ts * stride + index
        comments = [_make_comment(id_base + created * stride, requester.id, body, True,
                                  datetime.fromtimestamp(created, UTC))]
        t = created
        previous = ""
        for kind, gap in zip(flow, gaps, strict=True):
            t += max(1, int(gap))
            if t > self.cap:
                break
            author, text, public = self._comment(kind, previous, spec, reason, lower)
            comments.append(_make_comment(id_base + t * stride, author, text, public, datetime.fromtimestamp(t, UTC)))
            if kind != "note":
                previous = kind
        done = len(comments) - 1
        if done < len(flow):  # no time for the whole conversation: the status follows what happened
            status = "new" if done == 0 else "pending" if flow[done - 1] == "ask" else "open"
        if status == "solved" and self.cap - int(comments[-1].created_at.timestamp()) > AUTO_CLOSE_DAYS * 86400:
            status = "closed"

        # fields agents set
        if reason == "spam":
            priority = None
        elif spec is not None:
            priority = self.weighted(_PRIORITY_BY_SEVERITY[spec.severity])
        else:
            priority = self.weighted(_PRIORITY_NON_ISSUE)
        if (status == "new" and rng.random() < 0.7) or rng.random() < 0.2:
            priority = None
        if spec is None:
            ticket_type = self.weighted(_TYPES_NON_ISSUE)
        elif spec.issue_type in ("feature_request", "documentation_gap"):
            ticket_type = self.weighted(_TYPES_REQUEST)
        else:
            ticket_type = self.weighted(_TYPES_ISSUE)
        assignee = None if status == "new" else self.agent_id
        submitter = self.agent_id if style == "call" else requester.id

        tags = list(org.tags)
        tags.append(_CHANNEL_TAGS[channel])
        if style == "call":
            tags.append("phone_call")
        if status in ("solved", "closed") and reason != "spam" and rng.random() < 0.6:
            tags.append("csat_offered")
        if any(kind in _AGENT_REPLIES for kind in flow[:done]) and rng.random() < 0.25:
            tags.append("macro_used")
        if "hold" in flow or rng.random() < 0.03:
            tags.append("escalated_tier2")
        if rng.random() < 0.04:
            tags.append("first_reply_breached")
        deleted = rng.random() < (DELETED_SPAM_SHARE if reason == "spam" else 0.001)
        ticket = _make_ticket(  # the DemoTicket fields, in order
            ticket_id, subject, body, status, priority, ticket_type, requester.id, submitter, assignee,
            org.id, tuple(sorted(set(tags))), channel, comments[0].created_at, comments[-1].created_at,
            tuple(comments), deleted,
        )
        return ticket, _make_label(ticket_id, keys, reason)

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

    # --- the whole account --------------------------------------------------------------------------
    def build(self) -> DemoDataset:
        self.orgs, weights = self._build_orgs()
        self.org_cum = _cumulative(weights)
        self.individuals = self._build_individuals()
        steady = [s for s in self.specs if s.pattern != "emerging"]
        keys = [s.key for s in steady]
        self.issue_table = (keys, _cumulative([s.weight for s in steady]))
        self.issue_table_after_fix = (keys, _cumulative(
            [s.weight * (FADING_STRAGGLERS if s.pattern == "fading" else 1.0) for s in steady]))
        self.emerging = next((s.key for s in self.specs if s.pattern == "emerging"), None)
        self.planned_reasons = self._plan_non_issues()
        times = self._ticket_times()
        tickets: list[DemoTicket] = []
        labels: dict[int, DemoLabel] = {}
        for index, created in enumerate(times):
            ticket, label = self._ticket(FIRST_TICKET_ID + index, created)
            tickets.append(ticket)
            labels[ticket.id] = label
        return DemoDataset(
            now=self.now,
            tickets=tuple(tickets),
            organizations={org.id: org.name for org in sorted(self.orgs, key=lambda o: o.id or 0) if org.id},
            agents=dict(zip(self.agent_ids, cat.AGENT_NAMES, strict=True)),
            issues=demo_issues(),
            labels=labels,
        )


# --- small helpers and tables ----------------------------------------------------------------------

_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December")
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_WORD = re.compile(r"(?<![@./\w])[A-Za-z]{5,}(?![@\w])")  # words a typo may hit (not addresses or URLs)
_LEADING_GREETING = re.compile(r"^(?:hello|hi|hey)(?: there)?,\s*", re.IGNORECASE)
_TERSE_ENDINGS = ("", "", "", "", " Please fix.", "!!", " ASAP", " Thanks", " ??", " help", " Pls advise.")
_AGENT_REPLIES = frozenset(("ack", "ask", "resolve", "reply"))
_GAPS = {  # kind -> (minimum seconds, mean extra seconds); agent replies: 5 min + 4 h (first) or 5 h
    "note": (60, 1800), "hold": (60, 1800), "spam_note": (60, 1800),
    "still": (600, 10 * 3600), "thanks": (600, 10 * 3600), "ni_followup": (600, 10 * 3600),
    "resolve": (1800, 30 * 3600),
}
_CHANNEL_TAGS = {"email": "inbound_email", "web": "web_form", "mobile": "in_app_sdk", "chat": "live_chat",
                 "api": "widget_api"}


def _cumulative(weights: list[float] | tuple[float, ...]) -> list[float]:
    out: list[float] = []
    total = 0.0
    for weight in weights:
        total += weight
        out.append(total)
    return out


def _table(options: tuple[Any, ...], weights: tuple[float, ...]) -> tuple[tuple[Any, ...], list[float]]:
    """Options with cumulative weights, for `_Builder.weighted`."""
    return options, _cumulative(weights)


_PRIORITIES = ("low", "normal", "high", "urgent")
_PRIORITY_BY_SEVERITY = {
    "critical": _table(_PRIORITIES, (0.0, 0.2, 0.4, 0.4)),
    "high": _table(_PRIORITIES, (0.05, 0.45, 0.45, 0.05)),
    "medium": _table(_PRIORITIES, (0.2, 0.65, 0.15, 0.0)),
    "low": _table(_PRIORITIES, (0.55, 0.45, 0.0, 0.0)),
}
_PRIORITY_NON_ISSUE = _table(_PRIORITIES, (0.45, 0.5, 0.05, 0.0))
_TYPES: tuple[str | None, ...] = ("incident", "problem", "question", "task", None)
_TYPES_NON_ISSUE = _table(_TYPES, (0.0, 0.05, 0.5, 0.15, 0.3))
_TYPES_REQUEST = _table(_TYPES, (0.0, 0.1, 0.4, 0.2, 0.3))
_TYPES_ISSUE = _table(_TYPES, (0.35, 0.25, 0.15, 0.03, 0.22))
_CHANNELS_MOBILE_ISSUE = _table(CHANNELS, (0.32, 0.18, 0.32, 0.12, 0.06))
_CHANNELS_ISSUE = _table(CHANNELS, (0.44, 0.30, 0.08, 0.12, 0.06))
_CHANNELS_NON_ISSUE = _table(CHANNELS, (0.50, 0.33, 0.05, 0.12, 0.0))
_EMAIL_STYLES = _table(("terse", "plain", "email", "forwarded"), (0.14, 0.30, 0.48, 0.08))
_WEB_STYLES = _table(("terse", "plain", "email"), (0.32, 0.40, 0.28))
_ORG_REGIONS = _table(("amer", "emea", "apac"), (0.55, 0.35, 0.10))
_PERSON_REGIONS = _table(("amer", "emea", "apac"), (0.6, 0.3, 0.1))
_EMEA_LANGUAGES = _table(("en", "de", "fr", "nl", "es", "pt"), (0.55, 0.15, 0.1, 0.08, 0.07, 0.05))


def _status_table(rows: tuple[tuple[float, dict[str, float]], ...]) -> tuple[tuple[float, tuple[str, ...], list[float]], ...]:
    return tuple((limit, tuple(mix), _cumulative(list(mix.values()))) for limit, mix in rows)


# (age in hours below which the mix applies, status mix); solved tickets close after AUTO_CLOSE_DAYS.
_STATUS_BY_AGE = _status_table((
    (2, {"new": 0.75, "open": 0.18, "pending": 0.07}),
    (24, {"new": 0.35, "open": 0.32, "pending": 0.25, "solved": 0.06, "hold": 0.02}),
    (72, {"new": 0.06, "open": 0.30, "pending": 0.30, "solved": 0.28, "hold": 0.06}),
    (240, {"open": 0.10, "pending": 0.10, "solved": 0.74, "hold": 0.06}),
    (float("inf"), {"open": 0.03, "pending": 0.02, "solved": 0.92, "hold": 0.03}),
))
# Conversation shapes after the opening message, by status (at most five more comments).
_ISSUE_FLOWS: dict[str, tuple[tuple[str, ...], ...]] = {
    "new": ((), (), (), ("still",)),
    "open": (("ack", "still"), ("note",), ("ack", "note", "still"), ("ask", "still"), ("ack", "ask", "still")),
    "pending": (("ask",), ("ack", "ask"), ("ack", "still", "ask"), ("note", "ask"), ("ack", "note", "still", "ask")),
    "hold": (("ack", "hold"), ("ack", "note", "hold"), ("ack", "still", "hold"), ("ack", "still", "ask", "still", "hold")),
    "solved": (("resolve",), ("ack", "resolve"), ("ack", "still", "resolve"), ("ack", "note", "resolve", "thanks"),
               ("ask", "still", "resolve", "thanks"), ("ack", "still", "ask", "still", "resolve")),
}
_NON_ISSUE_FLOWS: dict[str, tuple[tuple[str, ...], ...]] = {
    "new": ((),),
    "open": (("reply", "ni_followup"), ("note",)),
    "pending": (("reply",), ("note", "reply")),
    "hold": (("reply", "hold"),),
    "solved": (("reply",), ("reply", "ni_followup"), ("reply", "ni_followup", "reply")),
}


def _typos(text: str, rng: random.Random) -> str:
    """One to three typing slips (swapped, dropped or doubled letters) in longer words."""
    words = list(_WORD.finditer(text))
    if not words:
        return text
    chars = list(text)
    for match in sorted(rng.sample(words, min(len(words), rng.randint(1, 3))), key=lambda m: -m.start()):
        i = rng.randint(match.start() + 1, match.end() - 2)
        slip = rng.random()
        if slip < 0.45:
            chars[i], chars[i + 1] = chars[i + 1], chars[i]
        elif slip < 0.8:
            del chars[i]
        else:
            chars.insert(i, chars[i])
    return "".join(chars)
