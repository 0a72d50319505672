"""What happens to a demo ticket after it is opened: its status, the shape and timing of the
conversation, and the fields agents set (priority, type, tags), down to deletion.

The status is chosen first from the ticket's age, then a conversation that fits it; when there is no
time left for the whole conversation, the status follows what did happen.
"""

from __future__ import annotations

from math import log
from typing import cast

from miner.demo import catalogue as cat
from miner.demo.chance import Chance, cumulative, table

AUTO_CLOSE_DAYS = 4  # Zendesk closes solved tickets after four days
DELETED_SPAM_SHARE = 0.4

AGENT_REPLIES = frozenset(("ack", "ask", "resolve", "reply"))  # comment kinds written to the customer
_GAPS = {  # kind -> (minimum seconds, mean extra seconds); agent replies: 5 min + 4 h (first) or 5 h
    "note": (60, 1800), "hold": (60, 1800), "spam_note": (60, 1800),
    "still": (600, 10 * 3600), "thanks": (600, 10 * 3600), "ni_followup": (600, 10 * 3600),
    "resolve": (1800, 30 * 3600),
}
_CHANNEL_TAGS = {"email": "inbound_email", "web": "web_form", "mobile": "in_app_sdk", "chat": "live_chat",
                 "api": "widget_api"}

_PRIORITIES = ("low", "normal", "high", "urgent")
_PRIORITY_BY_SEVERITY = {
    "critical": table(_PRIORITIES, (0.0, 0.2, 0.4, 0.4)),
    "high": table(_PRIORITIES, (0.05, 0.45, 0.45, 0.05)),
    "medium": table(_PRIORITIES, (0.2, 0.65, 0.15, 0.0)),
    "low": table(_PRIORITIES, (0.55, 0.45, 0.0, 0.0)),
}
_PRIORITY_NON_ISSUE = table(_PRIORITIES, (0.45, 0.5, 0.05, 0.0))
_TYPES: tuple[str | None, ...] = ("incident", "problem", "question", "task", None)
_TYPES_NON_ISSUE = table(_TYPES, (0.0, 0.05, 0.5, 0.15, 0.3))
_TYPES_REQUEST = table(_TYPES, (0.0, 0.1, 0.4, 0.2, 0.3))
_TYPES_ISSUE = table(_TYPES, (0.35, 0.25, 0.15, 0.03, 0.22))


def _status_table(rows: tuple[tuple[float, dict[str, float]], ...]) -> tuple[tuple[float, tuple[str, ...], list[float]], ...]:
    return tuple((limit, tuple(mix), cumulative(list(mix.values()))) for limit, mix in rows)


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


class Lifecycle(Chance):
    # --- the status and the conversation that fits it ------------------------------------------
    def status(self, reason: str | None, age_hours: float) -> str:
        """The status the ticket is headed for, from its age (spam and thanks are solved at once)."""
        if reason in ("spam", "thanks"):
            return "new" if age_hours < 1 else "solved"
        for limit, statuses, cum in _STATUS_BY_AGE:
            if age_hours < limit:
                return self.weighted((statuses, cum))
        raise AssertionError("unreachable")

    def flow(self, status: str, reason: str | None, age_hours: float) -> tuple[str, ...]:
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

    def comment_times(self, flow: tuple[str, ...], created: int, cap: int) -> list[int]:
        """When each comment of `flow` is written, squeezed into the time before `cap`; comments that
        still do not fit are left out (the list is shorter than the flow)."""
        gaps: list[float] = []
        first_agent = True
        random = self.random
        for kind in flow:
            # seconds before this comment: a floor plus an exponential wait with the kind's mean
            floor, mean = _GAPS.get(kind) or (300, 14400 if first_agent else 18000)
            gaps.append(min(floor - mean * log(1.0 - random()), 6 * 86400))
            if kind in AGENT_REPLIES:
                first_agent = False
        window = cap - created
        total = sum(gaps)
        if total > window:
            scale = window * self.rng.uniform(0.3, 0.95) / total
            gaps = [g * scale for g in gaps]
        times: list[int] = []
        t = created
        for gap in gaps:
            t += max(1, int(gap))
            if t > cap:
                break
            times.append(t)
        return times

    @staticmethod
    def settled_status(status: str, flow: tuple[str, ...], done: int, idle_seconds: int) -> str:
        """The status after `done` comments of `flow`, `idle_seconds` after the last one."""
        if done < len(flow):  # no time for the whole conversation: the status follows what happened
            status = "new" if done == 0 else "pending" if flow[done - 1] == "ask" else "open"
        if status == "solved" and idle_seconds > AUTO_CLOSE_DAYS * 86400:
            status = "closed"
        return status

    # --- fields agents set ------------------------------------------------------------------------
    def priority(self, status: str, spec: cat.IssueSpec | None, reason: str | None) -> str | None:
        if reason == "spam":
            priority = None
        elif spec is not None:
            priority = self.weighted(_PRIORITY_BY_SEVERITY[spec.severity])
        else:
            priority = self.weighted(_PRIORITY_NON_ISSUE)
        if (status == "new" and self.random() < 0.7) or self.random() < 0.2:
            priority = None
        return priority

    def ticket_type(self, spec: cat.IssueSpec | None) -> str | None:
        if spec is None:
            return cast("str | None", self.weighted(_TYPES_NON_ISSUE))
        if spec.issue_type in ("feature_request", "documentation_gap"):
            return cast("str | None", self.weighted(_TYPES_REQUEST))
        return cast("str | None", self.weighted(_TYPES_ISSUE))

    def tags(self, org_tags: tuple[str, ...], channel: str, style: str, status: str, reason: str | None,
             flow: tuple[str, ...], done: int) -> tuple[str, ...]:
        """The organisation's tags and what the channel, triggers and agents add, after `done`
        comments of `flow`."""
        random = self.random
        tags = list(org_tags)
        tags.append(_CHANNEL_TAGS[channel])
        if style == "call":
            tags.append("phone_call")
        if status in ("solved", "closed") and reason != "spam" and random() < 0.6:
            tags.append("csat_offered")
        if any(kind in AGENT_REPLIES for kind in flow[:done]) and random() < 0.25:
            tags.append("macro_used")
        if "hold" in flow or random() < 0.03:
            tags.append("escalated_tier2")
        if random() < 0.04:
            tags.append("first_reply_breached")
        return tuple(sorted(set(tags)))

    def deleted(self, reason: str | None) -> bool:
        return self.random() < (DELETED_SPAM_SHARE if reason == "spam" else 0.001)
