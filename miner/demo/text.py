"""The words of a demo ticket: its channel and writing style, the requester's opening message and
subject, and every later comment, from the catalogue's templates.

Templates have placeholders (`{company}`, `{idp}`, `{quote_date}` ...); a placeholder gets one value
per ticket, drawn the first time it is used, from the ticket, its organisation or its requester (or
from `catalogue.SLOTS`). Customers write the way their kind of customer does: terse, polite, forwarded,
from a chat widget or the mobile SDK, non-native, with typos.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from datetime import UTC, datetime

from miner.demo import catalogue as cat
from miner.demo.chance import Chance, table
from miner.demo.people import Agents, Org, User

CHANNELS = ("email", "web", "mobile", "chat", "api")

_CHANNELS_MOBILE_ISSUE = table(CHANNELS, (0.32, 0.18, 0.32, 0.12, 0.06))
_CHANNELS_ISSUE = table(CHANNELS, (0.44, 0.30, 0.08, 0.12, 0.06))
_CHANNELS_NON_ISSUE = table(CHANNELS, (0.50, 0.33, 0.05, 0.12, 0.0))
_EMAIL_STYLES = table(("terse", "plain", "email", "forwarded"), (0.14, 0.30, 0.48, 0.08))
_WEB_STYLES = table(("terse", "plain", "email"), (0.32, 0.40, 0.28))

_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December")
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_WORD = re.compile(r"(?<![@./\w])[A-Za-z]{5,}(?![@\w])")  # words a typo may hit (not addresses or URLs)
_LEADING_GREETING = re.compile(r"^(?:hello|hi|hey)(?: there)?,\s*", re.IGNORECASE)
_TERSE_ENDINGS = ("", "", "", "", " Please fix.", "!!", " ASAP", " Thanks", " ??", " help", " Pls advise.")


class _Slots(dict[str, str]):
    """Placeholder values for one ticket; unknown names are drawn on first use and then kept."""

    __slots__ = ()
    writer: Writer  # set on the per-writer subclass

    def __missing__(self, key: str) -> str:
        value = self.writer.slot(key)
        self[key] = value
        return value


class Writer(Chance):
    """Writes one ticket at a time: `begin` it, set `agent_id`, then `channel_and_style`, `opening`
    and a `comment` per later comment."""

    def __init__(self, rng: random.Random, agents: Agents, first_ticket_id: int) -> None:
        super().__init__(rng)
        self.agents = agents
        self.agent_first = agents.first
        self.first_ticket_id = first_ticket_id
        # the current ticket, as the placeholders see it
        self.ticket_id = first_ticket_id
        self.created = 0
        self.org: Org
        self.requester: User
        self.agent_id = agents.ids[0]
        self.non_issue_reply = ""  # the agent's answer that goes with the non-issue template
        self.slots_type = type("_WriterSlots", (_Slots,), {"__slots__": (), "writer": self})
        self.slots: _Slots = self.slots_type()
        self.slot_makers = self._slot_makers()

    def close(self) -> None:
        """Break the reference cycles through the writer, so it is freed without the cyclic GC."""
        if "writer" in vars(self.slots_type):
            delattr(self.slots_type, "writer")
        self.slot_makers = {}

    def begin(self, ticket_id: int, created: int, org: Org, requester: User) -> None:
        """Start a new ticket: its placeholders are drawn afresh."""
        self.ticket_id, self.created = ticket_id, created
        self.org, self.requester = org, requester
        self.slots = self.slots_type()
        self.non_issue_reply = ""

    # --- placeholder values -------------------------------------------------------------------------
    def fmt(self, template: str) -> str:
        return template.format_map(self.slots) if "{" in template else template

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
            "ref": lambda: str(max(self.first_ticket_id, self.ticket_id - rng.randint(3, 600))),
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

    # --- the requester's opening message ------------------------------------------------------------
    def channel_and_style(self, spec: cat.IssueSpec | None, reason: str | None) -> tuple[str, str]:
        """How the requester gets in touch (a ticket channel) and how they write."""
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

    def opening(self, keys: tuple[str, ...], spec: cat.IssueSpec | None, reason: str | None, billing: bool,
                channel: str, style: str, after_release: bool) -> tuple[str, str, bool]:
        """(subject, opening message, whether the requester writes in lowercase) for a ticket about
        the issues `keys` (`spec`: the first one's), or not about a product issue for `reason`.
        `after_release`: opened after the release of the new app version."""
        rng = self.rng
        non_native = self.org.lang != "en" and rng.random() < 0.85
        if style == "spam":
            subject_template, body_template = self.pick(cat.SPAM)
            return self.fmt(subject_template), self.fmt(body_template), False
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
            self._set_device(spec, after_release)
        lower = False
        if style != "call":  # an agent typed the call notes
            core, lower = self._roughen(core, style, non_native)
        subject = self._subject(subjects, style, channel)
        body = self._wrap(core, style, subject, non_native, spec is not None)
        if channel in ("email", "web") and style != "call" and rng.random() < 0.02:
            subject = typos(subject, rng)  # people mistype subjects; apps and chat widgets don't
        return subject, body, lower

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
            text = typos(text, rng)
        return text, lower

    def _set_device(self, spec: cat.IssueSpec | None, after_release: bool) -> None:
        """Device details the mobile SDK attaches to a ticket."""
        rng, slots = self.rng, self.slots
        platform = spec.subcategory if spec is not None and spec.subcategory in ("ios", "android") else None
        if platform is None:
            platform = "ios" if rng.random() < 0.55 else "android"
        if platform == "ios":
            slots["device"], slots["os"] = self.fmt("{iphone}"), self.fmt("{ios}")
        else:
            slots["device"], slots["os"] = self.fmt("{android_device}"), self.fmt("{android}")
        new = (spec is not None and spec.pattern == "emerging") or (after_release and rng.random() < 0.5)
        slots["app_version"] = self.fmt("{new_app}" if new else "{old_app}")

    # --- later comments -----------------------------------------------------------------------------
    def _agent_message(self, text: str, first: str) -> str:
        rng = self.rng
        text = self.fmt(text)
        name = self.agent_first[self.agent_id]
        if rng.random() < 0.8:
            return f"Hi {first},\n\n{text}\n\n{self.pick(cat.AGENT_SIGNOFFS)}\n{name}\nShiftwise Support"
        return f"{text}\n\n{name}"

    def comment(self, kind: str, previous: str, spec: cat.IssueSpec | None, reason: str | None,
                lower: bool) -> tuple[int, str, bool]:
        """(author id, body, public) for one comment of kind `kind` after the opening message;
        `previous`: the kind of the last public comment before it ("" for the opening message)."""
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
            author = self.agent_id if rng.random() < 0.8 else self.pick(self.agents.support)
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


def typos(text: str, rng: random.Random) -> str:
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
