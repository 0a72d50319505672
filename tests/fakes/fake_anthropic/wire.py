"""What the fake's answers are made of besides messages: request and object ids, timestamps, error
bodies and model entries."""

from __future__ import annotations

import secrets
import string
from datetime import UTC, datetime
from typing import Any

from .errors import default_message


def utc_now() -> datetime:
    return datetime.now(UTC)


def rfc3339(dt: datetime | None) -> str | None:
    if dt is None:
        return None
    return dt.isoformat().replace("+00:00", "Z")


def rand_id(prefix: str, n: int = 24) -> str:
    alphabet = string.ascii_letters + string.digits
    return prefix + "".join(secrets.choice(alphabet) for _ in range(n))


def first_of_next_month() -> str:
    today = utc_now()
    year, month = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
    return f"{year:04d}-{month:02d}-01"


def error_body(error_type: str, message: str | None, details: dict[str, Any] | None, request_id: str) -> dict[str, Any]:
    """The body of an error answer, and of an errored batch item."""
    return {
        "type": "error",
        "error": {"type": error_type, "message": message or default_message(error_type), "details": details},
        "request_id": request_id,
    }


def model_json(model_id: str) -> dict[str, Any]:
    return {
        "type": "model", "id": model_id,
        "display_name": " ".join(p.capitalize() for p in model_id.split("-")),
        "created_at": "2026-01-01T00:00:00Z", "lifecycle": "active",
        "deprecated_at": None, "retires_at": None,
        "max_input_tokens": 200_000, "max_tokens": 64_000,
    }
