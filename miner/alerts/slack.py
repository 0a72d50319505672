"""Slack incoming webhooks: a Block Kit message. Ticket text is escaped for mrkdwn (& < >), so a quote
can neither mention @channel nor make a link."""

from __future__ import annotations

from typing import Any

from miner.alerts.channel import post_json
from miner.alerts.message import Alert

MAX_SECTION_CHARS = 3000  # Block Kit's limit for a section's text
MAX_FIELDS = 10  # Block Kit's limit for a section's fields


def escape(text: str) -> str:
    """Slack's mrkdwn escaping: the three control characters (api.slack.com "Formatting text")."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def payload(alert: Alert) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": alert.title[:150], "emoji": False}},
        {"type": "section", "text": {"type": "mrkdwn", "text": escape(alert.summary)[:MAX_SECTION_CHARS]}},
    ]
    if alert.facts:
        blocks.append({"type": "section", "fields": [
            {"type": "mrkdwn", "text": f"*{escape(label)}*\n{escape(value)}"} for label, value in alert.facts[:MAX_FIELDS]]})
    if alert.quotes:
        quoted = "\n".join(f"> {escape(quote)}" for quote in alert.quotes)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": quoted[:MAX_SECTION_CHARS]}})
    if alert.items:
        listed = "\n".join(f"• {escape(item)}" for item in alert.items)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": listed[:MAX_SECTION_CHARS]}})
    if alert.link:
        blocks.append({"type": "actions", "elements": [
            {"type": "button", "text": {"type": "plain_text", "text": "Open in Product Issue Miner"},
             "url": alert.link}]})
    # `text` is what the notification and screen readers show
    return {"text": escape(f"{alert.title}: {alert.summary}"), "blocks": blocks}


def send(url: str, alert: Alert, *, timeout: float) -> None:
    post_json(url, payload(alert), timeout=timeout)
