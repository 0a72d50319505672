"""An alert's content, independent of any channel: what fired, why, the figures, up to three quotes, a link.

Stored as JSON with the alert (`alert_events.content`), so every channel and every retry renders the very
same message; each channel escapes the text for its own format. Ticket text reaches an alert only
through the representative quotes the dashboard shows (already redacted at analysis), redacted once more
here in case an analyzer let something slip.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from miner.analysis.redact import redact
from miner.vocabulary import AlertRule

MAX_QUOTE_CHARS = 300


@dataclass(frozen=True)
class Alert:
    rule: AlertRule
    title: str  # "Emerging: Login loop after the update"
    summary: str  # one line: the reason
    facts: tuple[tuple[str, str], ...] = ()  # figures, label -> value
    quotes: tuple[str, ...] = ()
    items: tuple[str, ...] = ()  # the digest's lines (one cluster each)
    link: str | None = None  # the cluster page (or the dashboard) when MINER_PUBLIC_URL is set
    cluster_id: int | None = None

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["facts"] = [list(pair) for pair in self.facts]
        data["quotes"] = list(self.quotes)
        data["items"] = list(self.items)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Alert:
        return cls(rule=AlertRule(data["rule"]), title=str(data["title"]), summary=str(data["summary"]),
                   facts=tuple((str(a), str(b)) for a, b in data.get("facts") or ()),
                   quotes=tuple(str(q) for q in data.get("quotes") or ()),
                   items=tuple(str(i) for i in data.get("items") or ()),
                   link=data.get("link"), cluster_id=data.get("cluster_id"))

    def plain_text(self) -> str:
        """The message as plain text (e-mail's text part, the fallback text of Slack notifications)."""
        lines = [self.title, "", self.summary]
        if self.facts:
            lines += ["", *(f"{label}: {value}" for label, value in self.facts)]
        if self.quotes:
            lines += ["", "What customers say:", *(f'  "{quote}"' for quote in self.quotes)]
        if self.items:
            lines += ["", *(f"- {item}" for item in self.items)]
        if self.link:
            lines += ["", f"Open: {self.link}"]
        return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Candidate:
    """An alert a rule wants to fire: `key` is its deduplication key (rule, cluster and state)."""

    key: str
    alert: Alert
    size: int = 0  # tickets in the cluster, for each channel's minimum size (0: not a cluster's alert)


def clean_quote(text: str) -> str:
    """A quote for an alert: redacted, one line, at most MAX_QUOTE_CHARS."""
    one_line = " ".join(redact(text).split())
    return one_line if len(one_line) <= MAX_QUOTE_CHARS else one_line[: MAX_QUOTE_CHARS - 1].rstrip() + "…"
