"""Retrying HTTP calls: when the server says to come back (Retry-After), and how long to back off when it
does not. Shared by the Zendesk client and the Claude analyzer; the waiting itself goes through the run's
control, so a cancel interrupts it."""

from __future__ import annotations

import email.utils
import random
import time
from typing import overload

DEFAULT_RETRY_AFTER = 60.0  # parse_retry_after's answer for an unusable header, unless told otherwise
BACKOFF_CAP = 30.0  # seconds: the longest backoff between two attempts


@overload
def parse_retry_after(value: str | None) -> float: ...
@overload
def parse_retry_after(value: str | None, *, default: float) -> float: ...
@overload
def parse_retry_after(value: str | None, *, default: None) -> float | None: ...
def parse_retry_after(value: str | None, *, default: float | None = DEFAULT_RETRY_AFTER) -> float | None:
    """Seconds from a Retry-After header: delta-seconds or an HTTP date; `default` if missing or
    unusable (None: let the caller choose, e.g. back off)."""
    if value is None:
        return default
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return default
        if when is None:
            return default
        seconds = when.timestamp() - time.time()
    if seconds != seconds or seconds < 0:  # NaN or in the past
        return 0.0 if seconds < 0 else default
    return seconds


def full_jitter(attempt: int, *, base: float = 1.0, cap: float = BACKOFF_CAP) -> float:
    """Seconds to wait before retry `attempt` (1, 2, ...): uniform in [0, min(cap, base * 2**attempt)]
    ("full jitter", AWS architecture blog), which spreads the retries of many clients apart."""
    return random.uniform(0, min(cap, base * 2**attempt))
