"""The fake's HTTP server: :class:`FakeAnthropic` (lifecycle, inspection, fault injection and batch
knobs, routes and handlers, the out-of-process control endpoints) and :class:`FakeStats`."""

from __future__ import annotations

import asyncio
import copy
import json
import math
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import uvicorn
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .batches import Batch, batch_json, finish
from .errors import (
    CONTRACT_SPEND_LIMIT_MESSAGE,
    ENFORCED_SPEND_LIMIT_MESSAGE,
    ERROR_TYPES,
    WORKSPACE_SPEND_LIMIT_MESSAGE,
    FakeAPIError,
)
from .faults import Fault, FaultQueue
from .messages import completed, message_json, refused, usage_json
from .prompts import prompt_segments
from .responder import as_reply, default_responder
from .tokens import PromptCache, estimate_tokens
from .validation import (
    KNOWN_MODELS,
    MAX_BATCH_BODY_BYTES,
    MAX_BODY_BYTES,
    batch_problem,
    is_known_model,
    params_validator,
    validate_message_params,
)
from .wire import error_body, first_of_next_month, model_json, rand_id, utc_now


@dataclass
class FakeStats:
    """A snapshot of the server's counters (``FakeAnthropic.stats`` returns a copy)."""

    requests: int = 0                      # every HTTP request, any endpoint
    by_status: Counter = field(default_factory=Counter)
    by_endpoint: Counter = field(default_factory=Counter)   # "messages", "batches", ...
    messages_ok: int = 0                   # 200 answers from POST /v1/messages
    in_flight: int = 0                     # POST /v1/messages currently being handled
    max_in_flight: int = 0
    input_tokens: int = 0                  # summed over every generated message (incl. batches)
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    batches_created: int = 0
    batch_items_processed: int = 0
    faults_injected: int = 0


def _answer(body: Any) -> JSONResponse:
    """A 200 JSON answer with its request id."""
    return JSONResponse(body, headers={"request-id": rand_id("req_")})


class FakeAnthropic:
    """A local fake of the Anthropic API (Messages, Message Batches, Models).

    Thread-safe; start it once per test (or per session) and point the SDK at ``base_url``.
    """

    def __init__(
        self,
        *,
        latency: float = 0.0,
        responder: Callable[[dict[str, Any]], Any] | None = None,
        min_cacheable_tokens: int = 1024,
        batch_processing_delay: float = 0.0,
        invalid_api_keys: Iterable[str] = ("invalid",),
        strict_schemas: bool = True,
        shuffle_batch_results: bool = True,
        port: int = 0,
        record_requests: bool = True,
    ) -> None:
        self.latency = latency
        self.record_requests = record_requests  # False: keep stats only (long benchmarks)
        self.responder = responder
        self.min_cacheable_tokens = min_cacheable_tokens
        self.batch_processing_delay = batch_processing_delay
        self.invalid_api_keys = set(invalid_api_keys)
        self.strict_schemas = strict_schemas
        self.shuffle_batch_results = shuffle_batch_results
        self.requests: list[Any] = []          # every POST body received (parsed JSON, or raw text)
        self.calls: list[dict[str, Any]] = []   # {"method","path","status","headers","body"} per request
        self._port = port
        self._lock = threading.RLock()
        self._faults = FaultQueue(self._lock)
        self._stats = FakeStats()
        self._cache = PromptCache()
        self._batches: dict[str, Batch] = {}
        self._batch_outcomes: dict[str, dict[str, Any]] = {}
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.base_url = ""
        self._app = self._make_app()

    # ---- lifecycle ------------------------------------------------------------------------

    def start(self) -> FakeAnthropic:
        if self._thread is not None:
            return self
        params_validator()  # build once (takes a couple of seconds the first time per process)
        # proto=IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on accepted sockets whose proto is
        # IPPROTO_TCP; without it uvicorn's separate header/body writes hit Nagle + delayed ACK (~40 ms).
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self._port))
        self._port = sock.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self._port}"
        config = uvicorn.Config(
            self._app, log_level="warning", access_log=False, lifespan="off",
            timeout_keep_alive=75, backlog=4096,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name=f"fake-anthropic-{self._port}")
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                server.should_exit = True
                raise RuntimeError("fake Anthropic server failed to start")
            time.sleep(0.01)
        self._server, self._thread, self._sock = server, thread, sock
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        server.should_exit = True
        thread.join(timeout=10)
        if thread.is_alive():
            server.force_exit = True
            thread.join(timeout=5)
        try:
            self._sock.close()
        except OSError:
            pass
        self._server = self._thread = None

    def __enter__(self) -> FakeAnthropic:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def reset(self) -> None:
        """Forget requests, stats, queued faults, the prompt cache, batches and batch outcomes."""
        with self._lock:
            self.requests.clear()
            self.calls.clear()
            self._faults.clear()
            self._stats = FakeStats()
            self._batches.clear()
            self._batch_outcomes.clear()
        self._cache.clear()

    # ---- inspection -----------------------------------------------------------------------

    @property
    def stats(self) -> FakeStats:
        with self._lock:
            snap = copy.copy(self._stats)
            snap.by_status = Counter(self._stats.by_status)
            snap.by_endpoint = Counter(self._stats.by_endpoint)
            return snap

    @property
    def message_requests(self) -> list[dict[str, Any]]:
        """Bodies of ``POST /v1/messages`` requests, in arrival order."""
        with self._lock:
            return [c["body"] for c in self.calls if c["path"] == "/v1/messages" and c["method"] == "POST"]

    def request_text(self) -> str:
        """Every POST body received, JSON-encoded, one per line (for "nothing leaked" assertions)."""
        with self._lock:
            return "\n".join(b if isinstance(b, str) else json.dumps(b, ensure_ascii=False) for b in self.requests)

    @property
    def pending_faults(self) -> int:
        return len(self._faults)

    # ---- fault injection --------------------------------------------------------------------

    def fail_next(
        self,
        n: int,
        status: int,
        *,
        retry_after: float | None = None,
        error_type: str | None = None,
        body: str | None = None,
        message: str | None = None,
        details: dict[str, Any] | None = None,
        should_retry: bool | None = None,
        headers: dict[str, str] | None = None,
        endpoint: Literal["messages", "batches", "models", "count_tokens", "any"] = "messages",
    ) -> None:
        """Answer the next ``n`` matching requests with HTTP ``status``.

        ``retry_after`` (seconds, may be fractional) sends ``retry-after`` (whole seconds, rounded
        up) and ``retry-after-ms``. ``should_retry`` sends ``x-should-retry: true|false``.
        ``body`` replaces the whole response body (raw text). ``endpoint`` limits which requests
        consume the fault (default: ``POST /v1/messages`` only).
        """
        extra = dict(headers or {})
        if retry_after is not None:
            extra["retry-after"] = str(max(0, math.ceil(retry_after)))
            extra["retry-after-ms"] = str(round(retry_after * 1000))
        if should_retry is not None:
            extra["x-should-retry"] = "true" if should_retry else "false"
        self._faults.add(Fault(
            kind="error", endpoint=endpoint, status=status, error_type=error_type,
            message=message, body=body, headers=dict(extra), details=details,
        ) for _ in range(n))

    def fail_next_spend_limit(
        self, n: int = 1, *, kind: Literal["workspace", "enforced", "contract"] = "workspace",
        endpoint: Literal["messages", "batches", "models", "count_tokens", "any"] = "messages",
    ) -> None:
        """Spend-limit errors.

        * ``workspace`` (what the real API sends when a workspace spend limit is hit):
          HTTP 400 ``invalid_request_error`` "You have reached your specified workspace API usage
          limits. You will regain access on YYYY-MM-01 at 00:00 UTC." -> ``anthropic.BadRequestError``
          (not retried by the SDK).
        * ``enforced`` / ``contract``: HTTP 429 ``rate_limit_error`` with
          ``error.details.error_code`` = ``enforced_spend_limit_reached`` /
          ``contract_spend_limit_reached`` -> ``anthropic.types.shared.EnforcedSpendLimitReachedError``
          / ``ContractSpendLimitReachedError`` (subclasses of ``anthropic.RateLimitError``; being
          429s they ARE retried by the SDK unless ``x-should-retry: false``, which is not sent).
        """
        date = first_of_next_month()
        if kind == "workspace":
            self.fail_next(n, 400, message=WORKSPACE_SPEND_LIMIT_MESSAGE.format(date=date), endpoint=endpoint)
        elif kind == "enforced":
            self.fail_next(n, 429, message=ENFORCED_SPEND_LIMIT_MESSAGE.format(date=date),
                           details={"error_code": "enforced_spend_limit_reached"}, endpoint=endpoint)
        elif kind == "contract":
            self.fail_next(n, 429, message=CONTRACT_SPEND_LIMIT_MESSAGE,
                           details={"error_code": "contract_spend_limit_reached"}, endpoint=endpoint)
        else:
            raise ValueError(f"unknown spend-limit kind {kind!r}")

    def refuse_next(self, n: int, *, text: str = "") -> None:
        """Next ``n`` messages: 200 with ``stop_reason="refusal"`` and ``stop_details`` set.

        Content is empty by default (``content=[]``); with ``text`` it is one text block (note
        that ``messages.parse()`` then raises pydantic ``ValidationError`` on non-JSON text).
        """
        self._faults.add(Fault(kind="refusal", text=text) for _ in range(n))

    def truncate_next(self, n: int) -> None:
        """Next ``n`` messages: 200 with ``stop_reason="max_tokens"``, text cut mid-JSON,
        ``output_tokens == max_tokens``."""
        self._faults.add(Fault(kind="truncate") for _ in range(n))

    def malformed_next(self, n: int, *, mode: Literal["json", "schema"] = "json") -> None:
        """Next ``n`` messages: 200 ``end_turn`` whose text is not valid JSON (``mode="json"``:
        prose before a JSON object missing its closing brace) or valid JSON that violates the
        requested schema (``mode="schema"``: a required property removed / wrong type)."""
        self._faults.add(Fault(kind="malformed", mode=mode) for _ in range(n))

    def clear_faults(self) -> None:
        self._faults.clear()

    # ---- batch knobs --------------------------------------------------------------------------

    def set_batch_item_outcome(
        self,
        custom_id: str,
        outcome: Literal["succeeded", "errored", "expired", "canceled", "refusal", "max_tokens", "malformed"],
        *,
        error_type: str = "api_error",
        message: str | None = None,
    ) -> None:
        """Force the result of every batch item with this ``custom_id`` (in any batch)."""
        with self._lock:
            self._batch_outcomes[custom_id] = {"outcome": outcome, "error_type": error_type, "message": message}

    def error_batch_items(self, *custom_ids: str, error_type: str = "api_error", message: str | None = None) -> None:
        for cid in custom_ids:
            self.set_batch_item_outcome(cid, "errored", error_type=error_type, message=message)

    def expire_batch_items(self, *custom_ids: str) -> None:
        for cid in custom_ids:
            self.set_batch_item_outcome(cid, "expired")

    def end_batches(self, batch_id: str | None = None) -> None:
        """Finish processing now (all batches, or one)."""
        with self._lock:
            targets = [self._batches[batch_id]] if batch_id else list(self._batches.values())
            for batch in targets:
                if batch.processing_status != "ended":
                    batch.processing_delay = 0.0
                    batch.created_mono = min(batch.created_mono, time.monotonic())
        for batch in targets:
            self._refresh_batch(batch)

    def batch_ids(self) -> list[str]:
        with self._lock:
            return list(self._batches)

    # ---- app -----------------------------------------------------------------------------------

    def _make_app(self) -> Starlette:
        routes = [
            Route("/v1/messages", self._wrap("messages", self._h_messages), methods=["POST"]),
            Route("/v1/messages/count_tokens", self._wrap("count_tokens", self._h_count_tokens), methods=["POST"]),
            Route("/v1/messages/batches", self._wrap("batches", self._h_batch_create), methods=["POST"]),
            Route("/v1/messages/batches", self._wrap("batches", self._h_batch_list), methods=["GET"]),
            Route("/v1/messages/batches/{batch_id}", self._wrap("batches", self._h_batch_get), methods=["GET"]),
            Route("/v1/messages/batches/{batch_id}", self._wrap("batches", self._h_batch_delete), methods=["DELETE"]),
            Route("/v1/messages/batches/{batch_id}/cancel", self._wrap("batches", self._h_batch_cancel), methods=["POST"]),
            Route("/v1/messages/batches/{batch_id}/results", self._wrap("batches", self._h_batch_results), methods=["GET"]),
            Route("/v1/models", self._wrap("models", self._h_models), methods=["GET"]),
            Route("/v1/models/{model_id:path}", self._wrap("models", self._h_model_get), methods=["GET"]),
            # control endpoints for out-of-process use (no auth, not counted in stats)
            Route("/_fake/stats", self._h_admin_stats, methods=["GET"]),
            Route("/_fake/control", self._h_admin_control, methods=["POST"]),
            Route("/{rest:path}", self._wrap("other", self._h_not_found), methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
        ]

        async def http_error(request: Request, exc: Exception) -> Response:
            status = getattr(exc, "status_code", 500)
            return self._error_response(status, "Method not allowed" if status == 405 else str(getattr(exc, "detail", "Error")))

        return Starlette(routes=routes, exception_handlers={HTTPException: http_error})

    def _error_response(
        self, status: int, message: str | None = None, *, error_type: str | None = None,
        headers: dict[str, str] | None = None, details: dict[str, Any] | None = None, raw_body: str | None = None,
    ) -> Response:
        request_id = rand_id("req_")
        out_headers = {"request-id": request_id, **(headers or {})}
        if raw_body is not None:
            return Response(raw_body, status_code=status, headers=out_headers, media_type="application/json")
        body = error_body(error_type or ERROR_TYPES.get(status, "api_error"), message, details, request_id)
        return JSONResponse(body, status_code=status, headers=out_headers)

    def _record(self, call: dict[str, Any]) -> None:
        if not self.record_requests:
            return
        with self._lock:
            self.calls.append(call)
            if call["body"] is not None:
                self.requests.append(call["body"])

    def _wrap(self, endpoint: str, handler: Callable[..., Any]) -> Callable[[Request], Any]:
        async def endpoint_fn(request: Request) -> Response:
            raw = await request.body() if request.method in ("POST", "PUT", "PATCH") else b""
            body: Any = None
            if raw:
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = raw.decode("utf-8", "replace")
            call = {
                "method": request.method, "path": request.url.path, "endpoint": endpoint, "status": None,
                "headers": {k: v for k, v in request.headers.items() if k.lower() not in ("x-api-key", "authorization")},
                "body": body,
            }
            self._record(call)
            tracked = endpoint == "messages"
            with self._lock:
                self._stats.requests += 1
                self._stats.by_endpoint[endpoint] += 1
                if tracked:
                    self._stats.in_flight += 1
                    self._stats.max_in_flight = max(self._stats.max_in_flight, self._stats.in_flight)
            try:
                response = await self._pre_checks(request, endpoint, raw)
                if response is None:
                    try:
                        response = await handler(request, raw, body)
                    except FakeAPIError as exc:
                        response = self._error_response(exc.status, exc.message, error_type=exc.error_type, headers=exc.headers, details=exc.details)
                    except Exception as exc:  # surface bugs in the fake / responder as api_error
                        response = self._error_response(500, f"fake server error: {type(exc).__name__}: {exc}")
            finally:
                if tracked:
                    with self._lock:
                        self._stats.in_flight -= 1
            with self._lock:
                call["status"] = response.status_code
                self._stats.by_status[response.status_code] += 1
            return response

        return endpoint_fn

    async def _pre_checks(self, request: Request, endpoint: str, raw: bytes) -> Response | None:
        api_key = request.headers.get("x-api-key")
        auth = request.headers.get("authorization", "")
        bearer = auth[7:].strip() if auth.lower().startswith("bearer ") else None
        key = api_key if api_key is not None else bearer
        if not key:
            return self._error_response(401, "x-api-key header is required")
        if key in self.invalid_api_keys:
            return self._error_response(401, "invalid x-api-key")
        if not request.headers.get("anthropic-version"):
            return self._error_response(400, "anthropic-version: header is required")
        limit = MAX_BATCH_BODY_BYTES if endpoint == "batches" else MAX_BODY_BYTES
        if len(raw) > limit:
            return self._error_response(413, f"Request exceeds the maximum allowed number of bytes ({limit}).")
        fault = self._take_fault(endpoint, ("error",))
        if fault is not None:
            return self._error_response(
                fault.status, fault.message, error_type=fault.error_type, headers=fault.headers,
                details=fault.details, raw_body=fault.body,
            )
        return None

    def _take_fault(self, endpoint: str, kinds: tuple[str, ...]) -> Fault | None:
        """Pop the first queued fault for this endpoint if it is of one of ``kinds``."""
        with self._lock:
            fault = self._faults.take(endpoint, kinds)
            if fault is not None:
                self._stats.faults_injected += 1
            return fault

    # ---- generation ------------------------------------------------------------------------------

    def _generate(self, body: dict[str, Any], fault: Fault | None, *, service_tier: str) -> dict[str, Any]:
        """The message answering `body` (the reply, then usage with the prompt cache), counted in stats."""
        if fault is not None and fault.kind == "refusal":
            completion = refused(fault)
        else:
            completion = completed(body, as_reply((self.responder or default_responder)(body)), fault)
        total, read, creation, c5m, c1h = self._cache.account(str(body["model"]), prompt_segments(body), self.min_cacheable_tokens)
        usage = usage_json(total - read - creation, completion.output_tokens, read, creation, c5m, c1h, service_tier)
        with self._lock:
            self._stats.input_tokens += usage["input_tokens"]
            self._stats.output_tokens += completion.output_tokens
            self._stats.cache_creation_input_tokens += creation
            self._stats.cache_read_input_tokens += read
        return message_json(body, completion, usage)

    def _generate_batch_item(self, params: dict[str, Any], fault: Fault | None) -> dict[str, Any]:
        return self._generate(params, fault, service_tier="batch")

    # ---- handlers --------------------------------------------------------------------------------

    async def _h_messages(self, request: Request, raw: bytes, body: Any) -> Response:
        problem = validate_message_params(raw, strict_schemas=self.strict_schemas)
        if problem is not None:
            return self._error_response(problem[0], problem[1])
        fault = self._take_fault("messages", ("refusal", "truncate", "malformed"))
        if self.latency > 0:
            await asyncio.sleep(self.latency)
        message = self._generate(body, fault, service_tier="standard")
        with self._lock:
            self._stats.messages_ok += 1
        return _answer(message)

    async def _h_count_tokens(self, request: Request, raw: bytes, body: Any) -> Response:
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list) or not isinstance(body.get("model"), str):
            return self._error_response(400, "messages, model: Field required")
        total = sum(estimate_tokens(text) for _, text, _ in prompt_segments(body))
        return _answer({"input_tokens": total})

    async def _h_batch_create(self, request: Request, raw: bytes, body: Any) -> Response:
        problem = batch_problem(body)
        if problem is not None:
            return self._error_response(400, problem)
        batch = Batch(
            id=rand_id("msgbatch_"), requests=copy.deepcopy(body["requests"]), created_at=utc_now(),
            created_mono=time.monotonic(), processing_delay=max(0.0, float(self.batch_processing_delay)),
        )
        with self._lock:
            self._batches[batch.id] = batch
            self._stats.batches_created += 1
        self._refresh_batch(batch)
        return _answer(batch_json(batch, self.base_url))

    def _get_batch(self, batch_id: str) -> Batch:
        with self._lock:
            batch = self._batches.get(batch_id)
        if batch is None:
            raise FakeAPIError(404, f"message_batch not found: {batch_id}")
        self._refresh_batch(batch)
        return batch

    def _refresh_batch(self, batch: Batch) -> None:
        with self._lock:
            if batch.processing_status == "ended":
                return
            now = time.monotonic()
            done_at = batch.created_mono + batch.processing_delay
            if batch.processing_status == "canceling" or now >= done_at:
                finish(batch, self._batch_outcomes, self._generate_batch_item,
                       strict_schemas=self.strict_schemas, shuffle=self.shuffle_batch_results)
                self._stats.batch_items_processed += len(batch.requests)

    async def _h_batch_get(self, request: Request, raw: bytes, body: Any) -> Response:
        batch = self._get_batch(request.path_params["batch_id"])
        return _answer(batch_json(batch, self.base_url))

    async def _h_batch_list(self, request: Request, raw: bytes, body: Any) -> Response:
        params = request.query_params
        try:
            limit = int(params.get("limit", "20"))
        except ValueError:
            return self._error_response(400, "limit: Input should be a valid integer")
        if not 1 <= limit <= 1000:
            return self._error_response(400, "limit: Input should be between 1 and 1000")
        with self._lock:
            batches = list(reversed(list(self._batches.values())))  # newest first
        for batch in batches:
            self._refresh_batch(batch)
        ids = [b.id for b in batches]
        if params.get("after_id") in ids:
            batches = batches[ids.index(params["after_id"]) + 1:]
        elif params.get("before_id") in ids:
            batches = batches[: ids.index(params["before_id"])][-limit:]
        page = batches[:limit]
        data = [batch_json(b, self.base_url) for b in page]
        return JSONResponse({
            "data": data,
            "has_more": len(batches) > len(page),
            "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None,
        })

    async def _h_batch_cancel(self, request: Request, raw: bytes, body: Any) -> Response:
        batch = self._get_batch(request.path_params["batch_id"])
        with self._lock:
            if batch.processing_status == "in_progress":
                batch.processing_status = "canceling"
                batch.cancel_initiated_at = utc_now()
                batch.cancel_mono = time.monotonic()
            snapshot = batch_json(batch, self.base_url)  # answer "canceling"; ends on the next read
        return _answer(snapshot)

    async def _h_batch_delete(self, request: Request, raw: bytes, body: Any) -> Response:
        batch = self._get_batch(request.path_params["batch_id"])
        if batch.processing_status != "ended":
            return self._error_response(400, f"Message batch {batch.id} is still in progress and cannot be deleted; cancel it first.")
        with self._lock:
            self._batches.pop(batch.id, None)
        return JSONResponse({"id": batch.id, "type": "message_batch_deleted"})

    async def _h_batch_results(self, request: Request, raw: bytes, body: Any) -> Response:
        batch = self._get_batch(request.path_params["batch_id"])
        if batch.processing_status != "ended" or batch.results is None:
            return self._error_response(404, f"Results for message batch {batch.id} are not available yet (processing_status={batch.processing_status}).")
        lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in batch.results)
        return Response(lines, media_type="application/binary", headers={"request-id": rand_id("req_")})

    async def _h_models(self, request: Request, raw: bytes, body: Any) -> Response:
        data = [model_json(m) for m in KNOWN_MODELS]
        return JSONResponse({"data": data, "has_more": False, "first_id": data[0]["id"], "last_id": data[-1]["id"]})

    async def _h_model_get(self, request: Request, raw: bytes, body: Any) -> Response:
        model_id = request.path_params["model_id"]
        if not is_known_model(model_id):
            return self._error_response(404, f"model: {model_id}")
        return JSONResponse(model_json(model_id))

    async def _h_not_found(self, request: Request, raw: bytes, body: Any) -> Response:
        return self._error_response(404, f"Not found: {request.method} {request.url.path}")

    # ---- out-of-process control ------------------------------------------------------------------

    async def _h_admin_stats(self, request: Request) -> Response:
        stats = self.stats
        data = {k: getattr(stats, k) for k in stats.__dataclass_fields__}
        data["by_status"] = {str(k): v for k, v in stats.by_status.items()}
        data["by_endpoint"] = dict(stats.by_endpoint)
        return JSONResponse(data)

    async def _h_admin_control(self, request: Request) -> Response:
        """``POST /_fake/control`` with any of ``{"latency": s, "batch_processing_delay": s,
        "min_cacheable_tokens": n, "reset": true, "fail_next": {fail_next kwargs incl. n, status},
        "refuse_next": n, "truncate_next": n, "malformed_next": n}``."""
        try:
            cmd = json.loads(await request.body() or b"{}")
            if cmd.get("reset"):
                self.reset()
            for attr in ("latency", "batch_processing_delay", "min_cacheable_tokens"):
                if attr in cmd:
                    setattr(self, attr, cmd[attr])
            if isinstance(cmd.get("fail_next"), dict):
                self.fail_next(**cmd["fail_next"])
            for name in ("refuse_next", "truncate_next", "malformed_next"):
                if cmd.get(name):
                    getattr(self, name)(int(cmd[name]))
        except (TypeError, ValueError) as exc:
            return JSONResponse({"ok": False, "error": str(exc)}, status_code=400)
        return JSONResponse({"ok": True, "base_url": self.base_url})
