"""Retry waits: what the server asks for, and a backoff that spreads clients apart without exceeding its cap."""

from __future__ import annotations

import random
import time
from email.utils import formatdate

import pytest

from miner.retry import BACKOFF_CAP, full_jitter, parse_retry_after


@pytest.mark.parametrize(("header", "expected"), [("7", 7.0), ("0", 0.0), ("soon", 60.0), (None, 60.0)])
def test_retry_after_in_seconds_or_missing(header: str | None, expected: float) -> None:
    assert parse_retry_after(header) == expected


def test_retry_after_as_an_http_date() -> None:
    assert 25 <= parse_retry_after(formatdate(time.time() + 30, usegmt=True)) <= 30
    assert parse_retry_after(formatdate(time.time() - 30, usegmt=True)) == 0.0  # already past: go now


def test_backoff_grows_with_each_attempt_but_never_past_its_cap() -> None:
    random.seed(1)
    waits = [[full_jitter(attempt, base=0.5) for _ in range(500)] for attempt in range(1, 9)]
    assert all(0 <= w <= min(BACKOFF_CAP, 0.5 * 2**a) for a, row in enumerate(waits, 1) for w in row)
    means = [sum(row) / len(row) for row in waits]
    assert means[0] < means[2] < means[4] and max(max(row) for row in waits) > BACKOFF_CAP * 0.9
