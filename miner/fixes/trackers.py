"""What the Jira and GitHub clients share: the issue as we see it, the errors, the connection (client
construction, auth, timeouts, retries, error statuses as TrackerErrors) and the one retry function.

`send_with_retries` is the only place that decides what is retried and how long to wait (reading
Retry-After and backing off through `miner.retry`, as the Zendesk and Claude clients do). It never sends
a request twice that may already have done something: a POST is retried only when the tracker said it
did not take it (429, 503) or the connection was never made.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol, Self
from urllib.parse import urlsplit

import httpx
from pydantic import ValidationError

from miner.errors import MinerError
from miner.fixes.brief import ClusterBrief
from miner.retry import full_jitter, parse_retry_after

log = logging.getLogger(__name__)

TrackerName = Literal["jira", "github"]
TRACKERS: tuple[TrackerName, ...] = ("jira", "github")
LABELS: dict[str, str] = {"jira": "Jira", "github": "GitHub"}
USER_AGENT = "product-issue-miner"


# --- errors ----------------------------------------------------------------------------------------


class TrackerError(MinerError):
    """A tracker request failed; the message says what is wrong and which setting to look at."""


class TrackerAuthError(TrackerError):
    """401: the credentials were refused."""


class TrackerForbidden(TrackerError):
    """403: the account may not do this."""


class TrackerNotFound(TrackerError):
    """404/410: no such project, repository or issue (or the account cannot see it)."""


class TrackerRejected(TrackerError):
    """400/422, or input we cannot make sense of: the request itself is wrong."""


class TrackerUnavailable(TrackerError):
    """The tracker did not answer usefully in time (timeouts, 5xx, rate limits past the wait we allow)."""


class TrackerProtocolError(TrackerError):
    """The answer is not what the tracker's API sends: wrong URL, a proxy's page, an API change."""


# --- the issue as we see it ----------------------------------------------------------------------


@dataclass(frozen=True)
class TrackedIssue:
    """An issue in a tracker, reduced to what the miner keeps.

    `key` is "SW-12" for Jira and "owner/repo#12" for GitHub. `status` is None until it has been read
    (an issue just created whose status could not be read back yet)."""

    tracker: TrackerName
    key: str
    url: str
    title: str
    status: str | None
    resolved: bool
    resolved_at: datetime | None


class Tracker(Protocol):
    """A Jira or GitHub client as the store and the pages use it."""

    name: TrackerName
    label: str

    def create(self, brief: ClusterBrief) -> TrackedIssue:
        """Create an issue describing the cluster; the issue as the tracker has it."""
        ...

    def fetch(self, key: str) -> TrackedIssue:
        """Read an issue's current state; TrackerNotFound when it does not exist (any more)."""
        ...

    def parse_ref(self, text: str) -> str:
        """What a user typed or pasted (a key, #number, a link) as our key; TrackerRejected if unusable."""
        ...

    def check(self) -> str:
        """A connection test: one line saying what we can reach; raises TrackerError otherwise."""
        ...

    def close(self) -> None: ...


# --- retries --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 4  # tries of one request in all
    max_wait: float = 60.0  # longest single wait; a tracker asking for more is given up on, with a message
    backoff_base: float = 0.5  # full-jitter exponential backoff for failures without a Retry-After


RETRY_STATUSES = frozenset({429, 503})  # the tracker did not take the request: safe to send again
TRANSIENT_STATUSES = frozenset({500, 502, 504})  # may have been processed: retried for reads only
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


def send_with_retries(client: httpx.Client, request: httpx.Request, *, service: str, policy: RetryPolicy,
                      sleep: Callable[[float], None] = time.sleep) -> httpx.Response:
    """Send `request`, retrying what is safe to retry; the last answer, whatever its status.

    Waits as Retry-After says on 429/503 (and on GitHub's 403 with x-ratelimit-remaining: 0, until
    x-ratelimit-reset); else backs off with jitter. Raises TrackerUnavailable when the tries run out, a
    wait would exceed `policy.max_wait`, or a request that may have been processed failed on the way.
    """
    idempotent = request.method in IDEMPOTENT
    what = f"{request.method} {request.url.path}"
    attempt = 0
    while True:
        attempt += 1
        try:
            response = client.send(request)
        except httpx.TransportError as exc:
            never_sent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
            reason = _transport_reason(exc)
            if not (idempotent or never_sent):
                raise TrackerUnavailable(
                    f"{service} did not answer {what} ({reason}); it may still have done it, so it was not "
                    "sent again: check the tracker before trying again") from None
            if attempt >= policy.max_attempts:
                raise TrackerUnavailable(f"{service} did not answer {what} after {attempt} tries ({reason}); "
                                         "try again later") from None
            wait = _backoff(policy, attempt)
            log.warning("%s: %s (%s); retry %d in %.1f s", service, what, reason, attempt, wait)
            sleep(wait)
            continue
        status = response.status_code
        asked: float | None = None
        if status in RETRY_STATUSES or _github_rate_limited(response):
            asked = _retry_after(response.headers)
        elif not (status in TRANSIENT_STATUSES and idempotent):
            return response
        if attempt >= policy.max_attempts:
            raise TrackerUnavailable(f"{service} kept answering {status} to {what} ({attempt} tries); "
                                     "try again later")
        if asked is not None and asked > policy.max_wait:
            raise TrackerUnavailable(
                f"{service} is limiting requests ({status}) and asks to wait {asked:.0f} s, longer than "
                f"MINER_TRACKER_MAX_WAIT ({policy.max_wait:.0f} s); try again later")
        wait = asked if asked is not None else _backoff(policy, attempt)
        log.warning("%s answered %s to %s; retry %d in %.1f s", service, status, what, attempt, wait)
        sleep(wait)


def _backoff(policy: RetryPolicy, attempt: int) -> float:
    return full_jitter(attempt, base=policy.backoff_base, cap=policy.max_wait)


def _github_rate_limited(response: httpx.Response) -> bool:
    """GitHub answers an exhausted rate limit with 403 (or 429) and x-ratelimit-remaining: 0."""
    return response.status_code == 403 and response.headers.get("x-ratelimit-remaining") == "0"


def _retry_after(headers: httpx.Headers) -> float | None:
    """Seconds to wait: Retry-After (delta-seconds or an HTTP date), else GitHub's x-ratelimit-reset."""
    asked = parse_retry_after(headers.get("retry-after"), default=None)
    if asked is not None:
        return asked
    reset = headers.get("x-ratelimit-reset")
    if reset is not None and headers.get("x-ratelimit-remaining") == "0":
        try:
            return max(0.0, float(reset) - time.time())
        except ValueError:
            return None
    return None


def _transport_reason(exc: httpx.TransportError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect: {exc}" if str(exc) else "cannot connect"
    return type(exc).__name__


# --- the connection -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Wording:
    """How one tracker's failures are told: its name, the settings to look at, its own error text."""

    service: str  # "Jira"
    url_setting: str  # the setting a wrong address is fixed in: "JIRA_BASE_URL"
    refused: str  # 401; may use {detail}
    forbidden: str  # 403; may use {detail} and {doing}
    hint: str  # for an answer that is not the tracker's API: "is JIRA_BASE_URL your Jira Cloud site ...?"
    detail: Callable[[httpx.Response], str]  # the tracker's error message in an answer, as one line


class Connection:
    """One tracker's HTTP connection: an httpx client (base URL, auth, headers, timeouts), every request
    sent through `send_with_retries`, and error statuses turned into the TrackerError that says what to
    check."""

    def __init__(self, base_url: str, wording: Wording, *, headers: Mapping[str, str], auth: httpx.Auth | None = None,
                 timeout: float, policy: RetryPolicy | None, sleep: Callable[[float], None],
                 transport: httpx.BaseTransport | None, follow_redirects: bool = False) -> None:
        self.base_url = base_url.rstrip("/")
        self.wording = wording
        self.policy = policy or RetryPolicy()
        self._sleep = sleep
        self._http = httpx.Client(
            base_url=self.base_url, auth=auth, transport=transport, headers={"User-Agent": USER_AGENT, **headers},
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)), follow_redirects=follow_redirects)

    def send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        request = self._http.build_request(method, path, **kwargs)
        return send_with_retries(self._http, request, service=self.wording.service, policy=self.policy,
                                 sleep=self._sleep)

    def parse(self, response: httpx.Response, model: Any, what: str) -> Any:
        return _parse_json(response, model, service=self.wording.service, what=what, hint=self.wording.hint)

    def raise_for_status(self, response: httpx.Response, doing: str) -> None:
        """Nothing for a success; else the TrackerError for the status, naming what to check."""
        status = response.status_code
        if status < 300:
            return
        w = self.wording
        detail = w.detail(response)
        if status == 401:
            raise TrackerAuthError(w.refused.format(detail=detail))
        if status == 403:
            raise TrackerForbidden(w.forbidden.format(detail=detail, doing=doing))
        if status == 404:
            raise TrackerNotFound(f"{w.service} answered 404 ({detail}): check {w.url_setting} ({self.base_url}).")
        if status >= 500:
            raise TrackerUnavailable(f"{w.service} failed ({status}: {detail}); try again later.")
        raise TrackerError(f"{w.service} answered {status} when asked to {doing}: {detail}")

    def close(self) -> None:
        self._http.close()


class TrackerClient:
    """What both clients are around their connection: closed with it, usable in a `with` block."""

    http: Connection

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --- helpers the clients share -------------------------------------------------------------------------


def _parse_json(response: httpx.Response, model: Any, *, service: str, what: str, hint: str) -> Any:
    """The response validated against a pydantic model; TrackerProtocolError naming what is wrong."""
    try:
        return model.model_validate_json(response.content)
    except ValidationError as exc:
        err = exc.errors()[0]
        if err["type"] == "json_invalid":
            problem = "not JSON" if not response.content.lstrip().startswith((b"{", b"[")) else "cut-off JSON"
        else:
            where = ".".join(str(p) for p in err.get("loc", ()))
            problem = f"{where}: {err['msg']}" if where else err["msg"]
        raise TrackerProtocolError(f"{service}'s answer to {what} is not what its API sends ({problem}); "
                                   f"{hint}") from None


def same_site(url: str, base_url: str) -> bool:
    a, b = urlsplit(url), urlsplit(base_url)
    return a.hostname is not None and (a.hostname or "").lower() == (b.hostname or "").lower()


