"""A generic JSON webhook, signed so the receiver can tell it came from us and is fresh.

Headers: `X-Miner-Timestamp` (Unix seconds), `X-Miner-Signature: sha256=<hex>` where hex is
HMAC-SHA256(secret, f"{timestamp}.{body}") over the exact body bytes, and `X-Miner-Delivery` (the
delivery id: the same on every retry, so a receiver can drop duplicates). README "Alerts" shows how to
verify it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

from miner.alerts.channel import post_json
from miner.alerts.message import Alert

SIGNATURE_HEADER = "X-Miner-Signature"
TIMESTAMP_HEADER = "X-Miner-Timestamp"
DELIVERY_HEADER = "X-Miner-Delivery"
PAYLOAD_VERSION = 1


def payload(alert: Alert, delivery_id: int) -> dict[str, Any]:
    return {"version": PAYLOAD_VERSION, "delivery_id": delivery_id, **alert.as_json(),
            "facts": {label: value for label, value in alert.facts}}


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(secret: str, timestamp: str, body: bytes, signature: str, *, tolerance: float = 300,
           now: float | None = None) -> bool:
    """What a receiver does (also the test double's check): right signature, timestamp within `tolerance`."""
    try:
        age = abs((now if now is not None else time.time()) - int(timestamp))
    except ValueError:
        return False
    return age <= tolerance and hmac.compare_digest(sign(secret, timestamp, body), signature)


def send(url: str, secret: str, alert: Alert, *, delivery_id: int, timeout: float) -> None:
    body = json.dumps(payload(alert, delivery_id), ensure_ascii=False, separators=(",", ":")).encode()
    timestamp = str(int(time.time()))
    post_json(url, {}, content=body, timeout=timeout, headers={
        TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: sign(secret, timestamp, body),
        DELIVERY_HEADER: str(delivery_id)})
