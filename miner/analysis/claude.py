"""The Claude analyzer: the official `anthropic` SDK, structured output, a cached prompt prefix.

Per call: ticket text is PII-redacted and trimmed to a token budget; the system prompt (instructions,
taxonomy, examples) is sent as a cached prefix; the answer is constrained by a JSON schema built from
the taxonomy and validated again on arrival (refusals and `max_tokens` stops are checked first).

Errors: 429 waits for `retry-after` (capped) unless it is a spend limit, which stops the run; bursts
of 529 "overloaded" trip a circuit breaker that pauses every worker; 5xx and connection errors are
retried with backoff; other 4xx fail the ticket without a retry; 401/403/404 stop the run because a
setting is wrong. When no request has succeeded for `max_stall` seconds while retrying (a storm of
429/529/5xx), the run stops instead of waiting on. The SDK's own retries are off so that this
policy is the only one.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from typing import Any

import anthropic
from pydantic import ValidationError

from miner.analysis.pricing import PriceTable
from miner.analysis.prompt import PROMPT_VERSION, system_prompt, user_message
from miner.analysis.redact import Redactor
from miner.analysis.schema import (
    InvalidOutput,
    TicketResult,
    Usage,
    claude_output_model,
    validate_output,
)
from miner.analysis.taxonomy import Taxonomy
from miner.analysis.ticket_text import TicketForAnalysis
from miner.config import ConfigError, Settings
from miner.errors import MinerError, validation_line
from miner.progress import RunControl
from miner.retry import full_jitter, parse_retry_after

log = logging.getLogger(__name__)

MAX_OUTPUT_TOKENS = 1500
MAX_RETRY_AFTER = 60.0
MAX_TRANSIENT_RETRIES = 4
MAX_RATE_LIMIT_RETRIES = 8
MAX_STALL_SECONDS = 600.0  # retrying this long without one successful answer: stop the run
SPEND_LIMIT_MARKERS = ("usage limit", "spend limit", "spending limit", "credit balance")
SPEND_LIMIT_CODES = ("enforced_spend_limit_reached", "contract_spend_limit_reached")


class FatalAnalysisError(MinerError):
    """Stops the whole run: a setting is wrong, the account cannot spend more, or Claude is down."""


class ClaudeConfigError(FatalAnalysisError):
    """401/403/404: ANTHROPIC_API_KEY or MINER_CLAUDE_MODEL has to change; retrying will not help."""


class CircuitBreaker:
    """Opens after `threshold` overload answers within `window` seconds; while open every worker
    waits; the pause doubles on each consecutive trip (up to `max_pause`) and resets on success."""

    def __init__(self, control: RunControl, *, threshold: int = 4, window: float = 20.0,
                 pause: float = 5.0, max_pause: float = 120.0) -> None:
        self.control = control
        self.threshold, self.window = threshold, window
        self.base_pause, self.max_pause = pause, max_pause
        self._pause = pause
        self._overloads: deque[float] = deque()
        self._open_until = 0.0
        self._lock = threading.Lock()
        self.trips = 0
        self._last_success = time.monotonic()  # shared by every worker: the run's "stalled since"

    def wait(self) -> None:
        while True:
            with self._lock:
                remaining = self._open_until - time.monotonic()
            if remaining <= 0:
                return
            self.control.sleep(min(remaining, 1.0))

    def record_overload(self) -> None:
        now = time.monotonic()
        with self._lock:
            self._overloads.append(now)
            while self._overloads and self._overloads[0] < now - self.window:
                self._overloads.popleft()
            if len(self._overloads) >= self.threshold and now >= self._open_until:
                self._open_until = now + self._pause
                self.trips += 1
                log.warning("Claude is overloaded: pausing all requests for %.0fs (trip %d)",
                            self._pause, self.trips)
                self._pause = min(self._pause * 2, self.max_pause)
                self._overloads.clear()

    def record_success(self) -> None:
        with self._lock:
            self._pause = self.base_pause
            self._last_success = time.monotonic()

    def stalled_for(self) -> float:
        """Seconds since the last successful answer (or since the run started)."""
        return time.monotonic() - self._last_success


class ClaudeAnalyzer:
    name = "claude"
    prompt_version = PROMPT_VERSION

    def __init__(
        self,
        *,
        api_key: str,
        model: str,
        taxonomy: Taxonomy,
        prices: PriceTable,
        control: RunControl,
        base_url: str | None = None,
        token_budget: int = 1500,
        timeout: float = 120.0,
        breaker: CircuitBreaker | None = None,
        max_stall: float = MAX_STALL_SECONDS,
    ) -> None:
        self.model = model
        self.taxonomy = taxonomy
        self.prices = prices
        self.control = control
        self.token_budget = token_budget
        self.client = anthropic.Anthropic(api_key=api_key, base_url=base_url, max_retries=0,
                                          timeout=timeout)
        self.output_model = claude_output_model(taxonomy)
        self.output_schema = anthropic.transform_schema(self.output_model)
        self.system = [{"type": "text", "text": system_prompt(taxonomy),
                        "cache_control": {"type": "ephemeral"}}]
        self.breaker = breaker or CircuitBreaker(control)
        self.max_stall = max_stall
        if prices.price(model) is None:
            log.warning("no price for %s in the price table (MINER_PRICES): costs will show as unknown",
                        model)

    # --- request ------------------------------------------------------------------------------
    def prepare(self, ticket: TicketForAnalysis) -> tuple[str, dict[str, Any]]:
        """The redacted ticket text and the Messages API parameters for it."""
        text = Redactor().redact(ticket.conversation(self.token_budget))
        params: dict[str, Any] = {
            "model": self.model,
            "max_tokens": MAX_OUTPUT_TOKENS,
            "system": self.system,
            "messages": [{"role": "user", "content": user_message(text)}],
            "output_config": {"format": {"type": "json_schema", "schema": self.output_schema}},
        }
        return text, params

    def analyze(self, ticket: TicketForAnalysis) -> TicketResult:
        """One ticket, with this module's retry policy. Thread-safe."""
        text, params = self.prepare(ticket)
        transient = rate_limited = 0
        while True:
            self.control.check()
            self.breaker.wait()
            try:
                message = self.client.messages.create(**params)
            except anthropic.RateLimitError as exc:
                if is_spend_limit(exc):
                    raise FatalAnalysisError(
                        f"Anthropic refused more requests: {api_message(exc).rstrip('.')}. The run stops; "
                        "raise the workspace limit or lower MINER_RUN_BUDGET_USD."
                    ) from None
                rate_limited += 1
                if rate_limited > MAX_RATE_LIMIT_RETRIES:
                    return _failed(ticket.id, "rate limited too many times in a row", "error")
                self._wait(retry_after(exc, default=2.0 * rate_limited), "429 (rate limited)")
                continue
            except anthropic.AuthenticationError:
                raise ClaudeConfigError("Anthropic rejected ANTHROPIC_API_KEY (401).") from None
            except anthropic.PermissionDeniedError as exc:
                raise ClaudeConfigError(
                    f"ANTHROPIC_API_KEY may not use {self.model} (403: {api_message(exc)})."
                ) from None
            except anthropic.NotFoundError:
                raise ClaudeConfigError(
                    f"Model {self.model!r} not found (404): check MINER_CLAUDE_MODEL."
                ) from None
            except anthropic.APIStatusError as exc:
                if exc.status_code == 529 or isinstance(exc, anthropic.OverloadedError):
                    self.breaker.record_overload()
                    transient += 1
                    if transient > MAX_TRANSIENT_RETRIES * 3:
                        return _failed(ticket.id, "Claude stayed overloaded", "error")
                    self._wait(0.0, "529 (overloaded)")
                    continue
                if exc.status_code >= 500:
                    transient += 1
                    if transient > MAX_TRANSIENT_RETRIES:
                        return _failed(ticket.id, f"Claude API error {exc.status_code}", "error")
                    self._wait(full_jitter(transient), f"{exc.status_code}")
                    continue
                if is_spend_limit(exc):  # a workspace usage limit arrives as a 400
                    raise FatalAnalysisError(
                        f"Anthropic refused more requests: {api_message(exc).rstrip('.')}. The run stops; "
                        "raise the workspace limit or lower MINER_RUN_BUDGET_USD."
                    ) from None
                # any other 4xx: this request is wrong for this ticket; retrying will not help
                return _failed(ticket.id, f"Claude rejected the request ({exc.status_code}: "
                                          f"{api_message(exc)})", "error")
            except anthropic.APIConnectionError as exc:  # includes timeouts
                transient += 1
                if transient > MAX_TRANSIENT_RETRIES:
                    return _failed(ticket.id, f"cannot reach the Claude API ({exc})", "error")
                self._wait(full_jitter(transient), "with connection errors")
                continue
            self.breaker.record_success()
            return self.read_message(ticket.id, text, message, batch=False)

    def _wait(self, seconds: float, answer: str) -> None:
        """A retry wait, cut short by the run's stall limit; past it the run stops."""
        stalled = self.breaker.stalled_for()
        if stalled >= self.max_stall:
            raise FatalAnalysisError(
                f"Claude kept answering {answer} for {stalled:.0f} s without one successful answer; "
                "the run stops. Tickets not analysed stay pending for the next run."
            )
        self.control.sleep(min(seconds, self.max_stall - stalled))

    # --- response -----------------------------------------------------------------------------
    def read_message(self, ticket_id: int, text: str, message: Any, *, batch: bool) -> TicketResult:
        """Turn a Message into a result: usage and cost always; issues only from a valid answer."""
        usage = usage_of(message)
        usage.cost_usd = self.prices.cost(self.model, usage, batch=batch)
        stop = getattr(message, "stop_reason", None)
        result = TicketResult(ticket_id, usage=usage, stop_reason=stop)
        if stop == "refusal":
            result.error, result.outcome = "Claude declined to analyse this ticket (refusal)", "refusal"
            return result
        if stop == "max_tokens":
            result.error, result.outcome = "the answer was cut off (max_tokens)", "max_tokens"
            return result
        try:
            data = json.loads(message_text(message))
            self.output_model.model_validate(data)
            result.issues, result.no_issue_reason = validate_output(data, self.taxonomy, text)
        except (ValueError, ValidationError, InvalidOutput) as exc:
            result.error, result.outcome = f"invalid answer: {_short(exc)}", "invalid"
        return result


# --- helpers ------------------------------------------------------------------------------------


def message_text(message: Any) -> str:
    """The text of a Messages API answer: its text blocks, joined."""
    return "".join(getattr(b, "text", "") for b in (getattr(message, "content", None) or [])
                   if getattr(b, "type", "") == "text")


def usage_of(message: Any) -> Usage:
    u = getattr(message, "usage", None)
    if u is None:
        return Usage()
    return Usage(
        input_tokens=int(getattr(u, "input_tokens", 0) or 0),
        output_tokens=int(getattr(u, "output_tokens", 0) or 0),
        cache_read_tokens=int(getattr(u, "cache_read_input_tokens", 0) or 0),
        cache_write_tokens=int(getattr(u, "cache_creation_input_tokens", 0) or 0),
    )


def api_message(exc: anthropic.APIStatusError) -> str:
    body = exc.body if isinstance(exc.body, dict) else {}
    err = body.get("error")
    if not isinstance(err, dict):
        err = {}
    return str(err.get("message") or exc.message)[:300]


def is_spend_limit(exc: anthropic.APIStatusError) -> bool:
    """Spend limits (429 with an error code, or a 400 "usage limits") must not be retried."""
    if getattr(exc, "error_code", None) in SPEND_LIMIT_CODES:
        return True
    text = api_message(exc).lower()
    return any(marker in text for marker in SPEND_LIMIT_MARKERS)


def anthropic_client(settings: Settings, *, max_retries: int = 0, timeout: float | None = None) -> anthropic.Anthropic:
    """The Anthropic client for the configured key and base URL (`max_retries` 0: our own retry policy)."""
    if settings.anthropic_api_key is None:
        raise ConfigError("ANTHROPIC_API_KEY is not set")
    key = settings.anthropic_api_key.get_secret_value()
    if timeout is None:
        return anthropic.Anthropic(api_key=key, base_url=settings.anthropic_base_url, max_retries=max_retries)
    return anthropic.Anthropic(api_key=key, base_url=settings.anthropic_base_url, max_retries=max_retries,
                               timeout=timeout)


def retry_after(exc: anthropic.APIStatusError, *, default: float) -> float:
    """Seconds the API asks us to wait (`retry-after-ms`, else `retry-after` in seconds or as an HTTP date),
    capped at MAX_RETRY_AFTER; `default` when it does not say."""
    headers = exc.response.headers if exc.response is not None else {}
    try:
        asked: float | None = float(headers["retry-after-ms"]) / 1000
    except (KeyError, ValueError):
        asked = parse_retry_after(headers.get("retry-after"), default=None)
    return max(0.0, min(default if asked is None else asked, MAX_RETRY_AFTER))


def _failed(ticket_id: int, error: str, outcome: str) -> TicketResult:
    return TicketResult(ticket_id, error=error, outcome=outcome)


def _short(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return validation_line(exc)
    return str(exc)[:300]
