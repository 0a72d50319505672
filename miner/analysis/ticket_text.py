"""Turning a stored ticket into the text an analyzer reads, within a size budget."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

CHARS_PER_TOKEN = 4  # a conservative average for English support email


@dataclass(frozen=True)
class TicketMessage:
    author_id: int | None
    public: bool
    body: str
    created_at: datetime


@dataclass(frozen=True)
class TicketForAnalysis:
    id: int
    subject: str
    description: str
    requester_id: int | None
    organization_id: int | None
    created_at: datetime
    comments: tuple[TicketMessage, ...]

    def customer_messages(self) -> list[str]:
        """What the customer wrote: the opening message and their public follow-ups."""
        texts = [self.description] if self.description else []
        for c in self.comments:
            if c.public and c.author_id == self.requester_id and c.body and c.body != self.description:
                texts.append(c.body)
        return texts

    def conversation(self, token_budget: int) -> str:
        """Subject and public conversation (internal notes excluded), trimmed to the budget.

        The opening message matters most, then the latest messages; the middle goes first.
        """
        budget = token_budget * CHARS_PER_TOKEN
        parts: list[str] = [f"Subject: {self.subject or '(none)'}"]
        first = f"Customer: {self.description or ''}".strip()
        replies: list[str] = []
        for c in self.comments:
            if not c.public or not c.body or c.body == self.description:
                continue
            who = "Customer" if c.author_id == self.requester_id else "Agent"
            replies.append(f"{who}: {c.body.strip()}")
        remaining = budget - len(parts[0])
        first = _clip(first, max(200, int(remaining * 0.6)))
        parts.append(first)
        remaining -= len(first)
        tail: list[str] = []
        for reply in reversed(replies):
            if remaining <= 80:
                break
            clipped = _clip(reply, remaining)
            tail.append(clipped)
            remaining -= len(clipped)
        if len(tail) < len(replies):
            parts.append("[... earlier messages omitted ...]")
        parts.extend(reversed(tail))
        return "\n\n".join(parts)


def _clip(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    keep = max(40, limit - 20)
    head = text[: int(keep * 0.7)]
    tail = text[-int(keep * 0.3):]
    return f"{head} [...] {tail}"
