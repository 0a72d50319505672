"""Zendesk REST client (httpx): incremental ticket and ticket-event exports, with rate-limit care.

What the Zendesk docs ask of an incremental-export client, and what this does:
- cursor export `/api/v2/incremental/tickets/cursor.json`: `start_time` only on the first request,
  then `cursor=<after_cursor>` until `end_of_stream`; the last `after_cursor` is kept for next time;
- ticket events `/api/v2/incremental/ticket_events.json?include=comment_events` (time-based): follow
  `next_page`, keep `end_time`; this gives every comment without one request per ticket;
- incremental exports are limited to 10 requests/minute (30 with High Volume): requests are paced to
  `rpm`, the rate-limit headers are read, and 429/503 wait for `Retry-After` (capped);
- 5xx, timeouts, resets and truncated JSON are retried with jittered exponential backoff;
- 401/403/404 stop at once with a message naming the setting to fix.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from typing import Any
from urllib.parse import urlsplit

import httpx
from pydantic import ValidationError

from miner.config import ConfigError, Settings
from miner.errors import MinerError, validation_line
from miner.progress import RunControl
from miner.retry import full_jitter, parse_retry_after
from miner.zendesk_wire import (
    CommentsPage,
    EventPage,
    MeResponse,
    PageT,
    Rejected,
    TicketPage,
    TimePageT,
    TimeTicketPage,
    ZComment,
    ZUser,
)

log = logging.getLogger(__name__)

USER_AGENT = "product-issue-miner/1.0 (+https://github.com/product-issue-miner)"
TICKETS_CURSOR_PATH = "/api/v2/incremental/tickets/cursor.json"
TICKET_EVENTS_PATH = "/api/v2/incremental/ticket_events.json"
PAGE_SIZE = 1000
RATE_LIMIT_BACKOFF_START = 5.0  # seconds; a 429/503 without Retry-After waits 5, 10, 20, ... (jittered)
MAX_TOTAL_WAIT_FACTOR = 2  # one request waits at most this many times `max_wait` in all, then fails
MIN_START_AGE = 60  # Zendesk rejects a start_time in the last minute
MAX_RATE_LIMITED_IN_A_ROW = 30  # a storm longer than this is an outage, not throttling


# --- errors -------------------------------------------------------------------------------------


class ZendeskError(MinerError):
    """A Zendesk problem that stops the run; the message is meant for the operator."""


class ZendeskConfigError(ZendeskError):
    """401/403/404: retrying will not help; a setting has to change."""


class ZendeskUnavailable(ZendeskError):
    """Zendesk kept failing (5xx, timeouts, rate limits) after every retry."""


class ZendeskProtocolError(ZendeskError):
    """Zendesk answered, but not as documented (bad JSON, missing fields, a stuck cursor)."""


# --- client -------------------------------------------------------------------------------------


@dataclass
class RequestStats:
    requests: int = 0
    rate_limited: int = 0  # 429 answers
    retries: int = 0
    seconds_waited: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["seconds_waited"] = round(self.seconds_waited, 2)
        return data


class ZendeskClient:
    """A small synchronous client for the endpoints the sync needs.

    `rpm` paces incremental-export requests (0 = no proactive pacing; headers and 429s still count).
    `max_wait` caps any single wait (Retry-After, reset headers, backoff).
    """

    def __init__(
        self,
        base_url: str,
        *,
        email: str | None = None,
        api_token: str | None = None,
        oauth_token: str | None = None,
        rpm: int = 10,
        max_wait: float = 300.0,
        max_attempts: int = 6,
        timeout: float = 60.0,
        backoff_base: float = 0.5,
        control: RunControl | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.backoff_base = backoff_base
        self.rpm = rpm
        self.max_wait = max_wait
        self.max_attempts = max_attempts
        self.control = control or RunControl()
        self.stats = RequestStats()
        self._next_slot = 0.0  # monotonic time before which no paced request may start
        self._not_before = 0.0  # set by rate-limit headers saying the window is used up
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        auth: httpx.Auth | None = None
        if oauth_token:
            headers["Authorization"] = f"Bearer {oauth_token}"
        elif api_token:
            auth = httpx.BasicAuth(f"{email}/token", api_token)
        self._http = httpx.Client(
            base_url=self.base_url,
            headers=headers,
            auth=auth,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 15.0)),
            transport=transport,
            follow_redirects=False,
        )

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> ZendeskClient:
        """A client for the configured Zendesk (credentials, pacing and wait cap from `settings`);
        `options` override the rest (`rpm`, `max_attempts`, `timeout`, `control`, ...)."""
        if settings.zendesk_url is None:
            raise ConfigError("no Zendesk configured: set ZENDESK_SUBDOMAIN (or ZENDESK_BASE_URL)")
        secret = settings.zendesk_api_token or None
        oauth = settings.zendesk_oauth_token or None
        return cls(settings.zendesk_url, **{
            "email": settings.zendesk_email,
            "api_token": secret.get_secret_value() if secret else None,
            "oauth_token": oauth.get_secret_value() if oauth else None,
            "rpm": settings.zendesk_incremental_rpm,
            "max_wait": settings.zendesk_max_wait_seconds,
            **options,
        })

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ZendeskClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- endpoints ----------------------------------------------------------------------------
    def ticket_pages(
        self, *, cursor: str | None = None, start_time: int | None = None
    ) -> Iterator[TicketPage]:
        """Pages of the cursor-based incremental ticket export, until `end_of_stream`."""
        if cursor is None and start_time is None:
            raise ValueError("give a cursor or a start_time")
        params: dict[str, Any] = {"per_page": PAGE_SIZE, "include": "organizations"}
        if cursor is not None:
            params["cursor"] = cursor
        else:
            params["start_time"] = clamp_start_time(start_time or 0)
        seen: set[str] = set()
        while True:
            page = self._get_page(TICKETS_CURSOR_PATH, params, TicketPage, incremental=True)
            yield page
            if page.end_of_stream:
                return
            nxt = page.after_cursor
            if not nxt:
                raise ZendeskProtocolError(
                    "Zendesk's ticket export page has end_of_stream=false but no after_cursor"
                )
            if nxt == params.get("cursor") or nxt in seen:
                raise ZendeskProtocolError(
                    f"Zendesk's ticket export cursor did not advance ({nxt!r}); stopping instead of "
                    "looping. The stored cursor is kept; run sync with --backfill-days to restart."
                )
            seen.add(nxt)
            params = {"per_page": PAGE_SIZE, "include": "organizations", "cursor": nxt}

    def ticket_event_pages(self, *, start_time: int) -> Iterator[EventPage]:
        """Pages of the time-based ticket-event export with comments, until `end_of_stream`."""
        return self._time_export(TICKET_EVENTS_PATH, {"include": "comment_events"}, EventPage,
                                 "ticket event export", start_time=start_time, follow_next_page=True)

    def ticket_pages_time_based(self, *, start_time: int) -> Iterator[TimeTicketPage]:
        """The older time-based ticket export; the sync uses the cursor export above."""
        return self._time_export("/api/v2/incremental/tickets.json", {}, TimeTicketPage,
                                 "time-based ticket export", start_time=start_time, follow_next_page=False)

    def _time_export(self, path: str, extra: dict[str, Any], model: type[TimePageT], what: str, *,
                     start_time: int, follow_next_page: bool) -> Iterator[TimePageT]:
        """Pages of a time-based export from `start_time` until `end_of_stream`, each starting at the end
        time of the one before (or at its `next_page`, when followed and on the same origin)."""
        start = clamp_start_time(start_time)
        url: str = path
        params: dict[str, Any] | None = {"start_time": start, **extra}
        while True:
            page = self._get_page(url, params, model, incremental=True)
            yield page
            if page.end_of_stream:
                return
            if page.end_time is None or page.end_time <= start:
                raise ZendeskProtocolError(
                    f"Zendesk's {what} did not advance past start_time={start} "
                    f"(end_time={page.end_time}); stopping instead of looping"
                )
            start = page.end_time
            if follow_next_page and page.next_page and self._same_origin(page.next_page):
                url, params = page.next_page, None
            else:
                url, params = path, {"start_time": start, **extra}

    def ticket_comments(self, ticket_id: int, *, rejected: list[Rejected] | None = None) -> list[ZComment]:
        """All comments of one ticket (cursor-paginated); for one-off refreshes (e.g. after a redaction).

        Comments that do not fit the format are added to `rejected` when given, else skipped.
        """
        comments: list[ZComment] = []
        url: str = f"/api/v2/tickets/{ticket_id}/comments.json"
        params: dict[str, Any] | None = {"page[size]": 100, "include_inline_images": "false"}
        while True:
            page = self._get_page(url, params, CommentsPage, incremental=False)
            comments.extend(page.comments)
            if rejected is not None:
                rejected.extend(replace(r, ticket_id=ticket_id) for r in page.rejected)
            if not (page.meta and page.meta.has_more and page.links and page.links.next):
                return comments
            if not self._same_origin(page.links.next):
                raise ZendeskProtocolError("Zendesk's comment pagination pointed to another host")
            url, params = page.links.next, None

    def me(self) -> ZUser:
        """The authenticated user: a cheap way to check the URL and credentials."""
        return self._get_page("/api/v2/users/me.json", None, MeResponse, incremental=False).user

    # --- transport ----------------------------------------------------------------------------
    def _same_origin(self, url: str) -> bool:
        a, b = urlsplit(url), urlsplit(self.base_url)
        return (a.scheme, a.netloc) == (b.scheme, b.netloc)

    def _get_page(
        self, url: str, params: dict[str, Any] | None, model: type[PageT], *, incremental: bool
    ) -> PageT:
        transient_failures = 0
        rate_limited = 0
        limited_since = 0.0  # monotonic time of this request's first 429/503
        while True:
            self.control.check()
            self._wait_for_slot(incremental)
            try:
                response = self._http.get(url, params=params)
            except httpx.HTTPError as exc:  # timeouts, refused/reset connections, protocol errors
                self.stats.requests += 1
                transient_failures += 1
                self._backoff(transient_failures, f"{type(exc).__name__}: {exc}")
                continue
            self.stats.requests += 1
            self._observe_rate_headers(response.headers)
            status = response.status_code
            if status == 200:
                try:
                    return model.model_validate_json(response.content)
                except ValidationError as exc:
                    if any(err["type"] == "json_invalid" for err in exc.errors()):
                        transient_failures += 1
                        self._backoff(transient_failures, "malformed JSON in the response")
                        continue
                    raise ZendeskProtocolError(
                        f"Zendesk's answer to {_path(url)} is not in the documented format: "
                        f"{validation_line(exc)}"
                    ) from None
            if status in (429, 503):
                rate_limited += 1
                if status == 429:
                    self.stats.rate_limited += 1
                limited_since = limited_since or time.monotonic()
                self._wait_out_rate_limit(status, rate_limited, limited_since, url,
                                          parse_retry_after(response.headers.get("Retry-After"), default=None))
                continue
            if status in (401, 403, 404):
                raise ZendeskConfigError(_config_message(status, url, response))
            if status >= 500:
                transient_failures += 1
                self._backoff(transient_failures, f"HTTP {status}")
                continue
            raise ZendeskError(
                f"Zendesk answered {status} for {_path(url)}: {_body_message(response)}"
            )

    def _wait_out_rate_limit(self, status: int, times: int, since: float, url: str,
                             asked: float | None) -> None:
        """Wait before retrying a 429/503: as Retry-After asks, else with jittered exponential
        backoff; never more than MAX_TOTAL_WAIT_FACTOR x max_wait for one request in all."""
        waited = time.monotonic() - since
        budget = MAX_TOTAL_WAIT_FACTOR * self.max_wait
        if times > MAX_RATE_LIMITED_IN_A_ROW or waited >= budget:
            raise ZendeskUnavailable(
                f"Zendesk kept answering {status} for {waited:.0f} s ({times} times in a row) for "
                f"{_path(url)}; giving up for now. Everything synced so far is saved; the next sync "
                "resumes from there (lower ZENDESK_INCREMENTAL_RPM if this repeats)."
            )
        if asked is not None:
            wait = min(asked, self.max_wait)
            how = "as asked (Retry-After)" if wait == asked else f"(Retry-After {asked:.0f} s, capped)"
        else:  # equal jitter: at least half the step, so a storm is never hammered
            step = RATE_LIMIT_BACKOFF_START * 2 ** min(times - 1, 16)
            wait = min(step / 2 + random.uniform(0, step / 2), self.max_wait)
            how = "(no Retry-After; backing off)"
        wait = min(wait, budget - waited)
        log.warning("Zendesk answered %s; waiting %.1f s %s", status, wait, how)
        self._sleep(wait)
        self.stats.retries += 1

    def _backoff(self, failures: int, reason: str) -> None:
        if failures >= self.max_attempts:
            raise ZendeskUnavailable(
                f"Zendesk request failed {failures} times in a row ({reason}); giving up for now. "
                "Everything synced so far is saved; the next sync resumes from there."
            )
        # Full jitter (AWS architecture blog): spreads retries of many clients apart.
        delay = full_jitter(failures, base=self.backoff_base)
        log.warning("Zendesk request failed (%s); retry %d in %.1fs", reason, failures, delay)
        self.stats.retries += 1
        self._sleep(delay)

    def _wait_for_slot(self, incremental: bool) -> None:
        now = time.monotonic()
        wait = max(0.0, self._not_before - now)
        if incremental and self.rpm > 0:
            wait = max(wait, self._next_slot - now)
        if wait > 0:
            self._sleep(wait)
        if incremental and self.rpm > 0:
            self._next_slot = time.monotonic() + 60.0 / self.rpm

    def _sleep(self, seconds: float) -> None:
        seconds = min(max(0.0, seconds), self.max_wait)
        self.stats.seconds_waited += seconds
        self.control.sleep(seconds)

    def _observe_rate_headers(self, headers: httpx.Headers) -> None:
        """When Zendesk says the current window is used up, hold the next request until it resets."""
        remaining, reset = _rate_window(headers)
        if remaining is not None and remaining <= 0 and reset is not None:
            self._not_before = max(self._not_before, time.monotonic() + min(reset, self.max_wait))


# --- helpers ------------------------------------------------------------------------------------


def clamp_start_time(start_time: int, now: float | None = None) -> int:
    """Zendesk wants start_time at least a minute in the past."""
    latest = int((now if now is not None else time.time()) - MIN_START_AGE)
    return max(0, min(int(start_time), latest))




def _rate_window(headers: httpx.Headers) -> tuple[int | None, float | None]:
    remaining: int | None = None
    reset: float | None = None
    for name, value in headers.items():
        lname = name.lower()
        if lname.startswith("zendesk-ratelimit-"):  # "total=10; remaining=0; resets=41"
            parts = dict(p.strip().split("=", 1) for p in value.split(";") if "=" in p)
            r, s = _int(parts.get("remaining")), _float(parts.get("resets"))
            if r is not None and (remaining is None or r < remaining):
                remaining, reset = r, s
    for name in ("ratelimit-remaining", "x-rate-limit-remaining", "rate-limit-remaining"):
        r = _int(headers.get(name))
        if r is not None and (remaining is None or r < remaining):
            remaining = r
            reset = _float(headers.get("ratelimit-reset") or headers.get("rate-limit-reset"))
    return remaining, reset


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _path(url: str) -> str:
    return urlsplit(url).path or url


def _body_message(response: httpx.Response) -> str:
    """Zendesk errors come as JSON ({"error": ..., "description": ...}) or plain text."""
    try:
        data = response.json()
    except ValueError:
        return response.text.strip()[:200] or response.reason_phrase
    if isinstance(data, dict):
        err = data.get("error")
        if isinstance(err, dict):
            return str(err.get("message") or err.get("title") or err)[:200]
        parts = [str(p) for p in (err, data.get("description"), data.get("details")) if p]
        if parts:
            return " - ".join(parts)[:200]
    return str(data)[:200]


def _config_message(status: int, url: str, response: httpx.Response) -> str:
    detail = _body_message(response)
    if status == 401:
        return (
            f"Zendesk rejected the credentials (401: {detail}). Check ZENDESK_EMAIL and "
            "ZENDESK_API_TOKEN (or ZENDESK_OAUTH_TOKEN)."
        )
    if status == 403:
        return (
            f"Zendesk refused access to {_path(url)} (403: {detail}). Incremental exports need an "
            "admin: use an admin's ZENDESK_EMAIL/ZENDESK_API_TOKEN or an OAuth token with read scope."
        )
    return (
        f"Zendesk answered 404 for {_path(url)} ({detail}). Check ZENDESK_SUBDOMAIN "
        "(or ZENDESK_BASE_URL)."
    )


