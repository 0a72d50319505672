"""What every channel shares: the outcome of one delivery attempt, and the one HTTP POST with its
classification (2xx delivered; 429, 408 and 5xx retried, honouring Retry-After; other 4xx refused for
good; timeouts and connection errors retried)."""

from __future__ import annotations

import json
from typing import Any

import httpx

from miner.errors import MinerError
from miner.retry import parse_retry_after

USER_AGENT = "product-issue-miner-alerts"
RETRIED_STATUSES = frozenset({408, 425, 429})


class DeliveryError(MinerError):
    """One attempt failed. `permanent`: retrying cannot help (a 404 webhook, a rejected login);
    `retry_after`: seconds the receiver asked us to wait."""

    def __init__(self, message: str, *, permanent: bool = False, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after


def post_json(url: str, body: dict[str, Any], *, timeout: float, headers: dict[str, str] | None = None,
              content: bytes | None = None) -> httpx.Response:
    """POST `body` (or the exact bytes `content`, when they are signed) as JSON; raises DeliveryError."""
    data = content if content is not None else json.dumps(body, ensure_ascii=False).encode()
    try:
        response = httpx.post(url, content=data, timeout=timeout, headers={
            "Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT, **(headers or {})})
    except httpx.TimeoutException:
        raise DeliveryError(f"no answer within {timeout:g} s") from None
    except httpx.HTTPError as exc:
        raise DeliveryError(f"cannot connect ({type(exc).__name__}: {exc})") from None
    if response.is_success:
        return response
    detail = " ".join(response.text.split())[:200]
    message = f"HTTP {response.status_code}" + (f": {detail}" if detail else "")
    if response.status_code in RETRIED_STATUSES or response.status_code >= 500:
        raise DeliveryError(message, retry_after=parse_retry_after(response.headers.get("retry-after"),
                                                                   default=None))
    raise DeliveryError(message, permanent=True)
