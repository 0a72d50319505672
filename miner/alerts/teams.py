"""Microsoft Teams incoming webhooks (and Power Automate "post to a channel" flows): an Adaptive Card.
Ticket text goes in TextRuns of a RichTextBlock, which Teams shows literally (no Markdown)."""

from __future__ import annotations

from typing import Any

from miner.alerts.channel import post_json
from miner.alerts.message import Alert

CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
CARD_VERSION = "1.4"
CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"


def literal(text: str, **style: Any) -> dict[str, Any]:
    """A block whose text Teams renders as is."""
    return {"type": "RichTextBlock", "inlines": [{"type": "TextRun", "text": text, **style}]}


def payload(alert: Alert) -> dict[str, Any]:
    body: list[dict[str, Any]] = [
        {**literal(alert.title, weight="Bolder", size="Medium")},
        literal(alert.summary),
    ]
    if alert.facts:
        body.append({"type": "FactSet", "facts": [{"title": label, "value": value} for label, value in alert.facts]})
    for quote in alert.quotes:
        body.append({"type": "Container", "style": "emphasis", "items": [literal(f"“{quote}”", italic=True)]})
    for item in alert.items:
        body.append(literal(f"• {item}"))
    card: dict[str, Any] = {"$schema": CARD_SCHEMA, "type": "AdaptiveCard", "version": CARD_VERSION, "body": body}
    if alert.link:
        card["actions"] = [{"type": "Action.OpenUrl", "title": "Open in Product Issue Miner", "url": alert.link}]
    return {"type": "message", "attachments": [{"contentType": CARD_CONTENT_TYPE, "contentUrl": None, "content": card}]}


def send(url: str, alert: Alert, *, timeout: float) -> None:
    post_json(url, payload(alert), timeout=timeout)
