"""REST endpoints, served on the dashboard's own port (st.App routes); they mirror the buttons.

GET  /api/tasks/scheduler/status   scheduled jobs (id, name, next_run, trigger, paused, last run)
GET  /api/tasks/worker/status      the seed's worker status + run_id, stage, done, total
POST /api/tasks/sync               {"backfill_days": int|null}
POST /api/tasks/analyze            {"batch_size": int}
POST /api/tasks/pipeline           {"backfill_days": int|null, "batch_size": int}
POST /api/tasks/cancel             cancel the running run
GET  /api/tasks/runs               run history (?limit=&offset=&kind=&status=)
GET  /api/tasks/runs/{id}          one run
GET  /api/health                   liveness for anyone; the details for those allowed to read
GET  /api/alerts/channels          the alert channels (secrets masked)
GET  /api/alerts/deliveries        the alert delivery log, newest first (?limit=&channel=)
POST /api/alerts/test              {"channel": "name"}: send a test alert now (200 delivered, 502 not)
POST /api/alerts/send              run the alert rules and deliver what is due
GET  /api/links                    every fix link (cluster, tracker, key, status, resolution, effect)
GET  /api/clusters/{id}/links      a cluster's fix links, with the effect of a resolved fix
POST /api/clusters/{id}/links      {"key": "SW-12"} links an existing issue; {"create": "jira"|"github"}
                                   creates one from the cluster (201 with the link)
POST /api/tasks/refresh_links      re-read every linked issue (a run, like the other tasks)

The POST bodies are the parameters of the task registry (`miner.runs.registry`), validated there.

Every endpoint answers `Authorization: Bearer <MINER_API_TOKEN>`. Without the token, GETs are answered only
where the dashboard itself lets browsers in without signing in (local access, README "Access") and the
request comes straight from this machine; POSTs always need the token (403 while none is configured).
Answers: 202 started, 401 no/invalid token, 409 busy, 413 body over 64 KB, 422 invalid input (naming
the field), 429 too many manual runs (with Retry-After); for links also 404 no such cluster and 502 the
tracker failed or could not be reached (the detail says which and why).
"""

from __future__ import annotations

import hmac
import json
import logging
import math
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from miner import health
from miner.access import AccessPolicy, Mode
from miner.app import MinerApp
from miner.config import Settings
from miner.db import MAX_ID
from miner.errors import first_error
from miner.fixes import service, store
from miner.fixes.brief import NoSuchCluster
from miner.fixes.trackers import TrackerError, TrackerName, TrackerNotFound, TrackerRejected
from miner.runs import history, registry
from miner.runs.runner import Busy
from miner.tasks import seed_worker_status
from miner.vocabulary import RunKind, RunStatus, StartedBy

log = logging.getLogger(__name__)

AppProvider = Callable[[], MinerApp]
AccessProvider = Callable[[Settings], AccessPolicy]
Handler = Callable[[Request, MinerApp], Awaitable[JSONResponse]]
# The runs the API starts (POST /api/tasks/<kind>); they call Zendesk or spend on Claude: rate-limited.
MANUAL_KINDS = (RunKind.SYNC, RunKind.ANALYZE, RunKind.PIPELINE)
MAX_BODY = 64 * 1024


class LinkBody(BaseModel):
    """POST /api/clusters/{id}/links: link an existing issue (`key`) or create one (`create`)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    key: str | None = Field(None, min_length=1, max_length=500, description="SW-12, owner/repo#12, #12 or a link")
    create: TrackerName | None = Field(None, description="create an issue from the cluster in jira or github")

    @model_validator(mode="after")
    def _one(self) -> LinkBody:
        if (self.key is None) == (self.create is None):
            raise ValueError("give either key (an existing issue) or create (jira or github)")
        return self


def error(status: int, detail: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"detail": detail, **extra}, status_code=status)


def routes(get_app: AppProvider, access: AccessProvider | None = None) -> list[Route]:
    """The API's routes; `get_app` returns the process's started MinerApp, `access` its access policy
    (None: no local access, every request needs the token)."""

    def endpoint(fn: Handler, *, reader: bool = True, writer: bool = False
                 ) -> Callable[[Request], Awaitable[JSONResponse]]:
        """`fn` behind the door it needs: a writer's token (POSTs), a reader's access (GETs), or none."""

        async def handler(request: Request) -> JSONResponse:
            try:
                app = get_app()
                if writer or reader:
                    denied = authorise(request, app.settings) if writer else authorise_read(request, app.settings, access)
                    if denied is not None:
                        return denied
                return await fn(request, app)
            except Exception:  # never leak a traceback to an API client
                log.exception("API %s %s failed", request.method, request.url.path)
                return error(500, "internal error; see the server log")

        return handler

    async def scheduler_status(request: Request, app: MinerApp) -> JSONResponse:
        jobs = await run_in_threadpool(app.scheduler.job_status)
        return JSONResponse([job.as_dict() for job in jobs])

    async def worker_status(request: Request, app: MinerApp) -> JSONResponse:
        return JSONResponse(seed_worker_status(await run_in_threadpool(app.worker.status)))

    async def list_runs(request: Request, app: MinerApp) -> JSONResponse:
        q = request.query_params
        limit, problem = whole_number(q.get("limit", "50"), "limit", 1, 500)
        if problem is not None:
            return problem
        offset, problem = whole_number(q.get("offset", "0"), "offset", 0, MAX_ID)
        if problem is not None:
            return problem
        kind, status = q.get("kind"), q.get("status")
        if kind and kind not in RunKind.values():
            return error(422, f"unknown kind; one of {', '.join(RunKind)}", field="kind")
        if status and status not in RunStatus.values():
            return error(422, f"unknown status; one of {', '.join(RunStatus)}", field="status")
        found = await run_in_threadpool(history.recent_runs, app.engine, limit=limit, offset=offset,
                                        kind=RunKind(kind) if kind else None,
                                        status=RunStatus(status) if status else None)
        return JSONResponse([r.as_dict() for r in found])

    async def get_run(request: Request, app: MinerApp) -> JSONResponse:
        text = request.path_params["run_id"]
        if not (text.isascii() and text.isdigit()):
            return error(422, "run id must be a whole number", field="run_id")
        run_id = int(text)
        if not 1 <= run_id <= MAX_ID:
            return error(404, f"no run #{run_id}")
        run = await run_in_threadpool(history.get_run, app.engine, run_id)
        return JSONResponse(run.as_dict()) if run else error(404, f"no run #{run_id}")

    async def api_health(request: Request, app: MinerApp) -> JSONResponse:
        details = authorise_read(request, app.settings, access) is None

        def collect() -> tuple[int, dict[str, Any]]:
            live_db = health.check_database(app.engine)
            if not details:  # liveness for load balancers: no names, addresses or messages
                return (200, {"status": "ok"}) if live_db.ok else (503, {"status": "unavailable"})
            checks = health.latest(app.engine, app.alerts, app.settings.fixes) if live_db.ok else []
            stored = {h.component: h.as_dict() for h in checks}
            stored["database"] = live_db.as_dict()
            body = {
                "status": "ok" if live_db.ok else "unavailable",
                "checks": stored,
                "scheduler": {"running": app.scheduler.running, "leader": app.scheduler.is_leader},
                "source": app.settings.effective_source,
                "analyzer": app.settings.effective_analyzer,
            }
            return (200 if live_db.ok else 503), body

        status, body = await run_in_threadpool(collect)
        return JSONResponse(body, status_code=status)

    def start_run(kind: RunKind) -> Handler:
        spec = registry.spec(kind)

        async def start(request: Request, app: MinerApp) -> JSONResponse:
            body, problem = await read_json_object(request)
            if problem is not None:
                return problem
            try:
                params = spec.validate(body)
            except registry.BadParams as exc:
                return error(422, str(exc), field=exc.field)
            limited = await run_in_threadpool(rate_limited, app)
            if limited is not None:
                return limited
            try:
                run_id = await run_in_threadpool(app.worker.submit, kind, params, started_by=StartedBy.API)
            except Busy as exc:
                running = exc.running.as_dict() if exc.running else None
                return error(409, str(exc), running=running)
            return JSONResponse(
                {"run_id": run_id, "status": "started", "kind": kind, "params": params,
                 "status_url": "/api/tasks/worker/status", "run_url": f"/api/tasks/runs/{run_id}"},
                status_code=202,
            )

        return start

    async def list_links(request: Request, app: MinerApp) -> JSONResponse:
        def collect() -> list[dict[str, Any]]:
            return [service.link_as_dict(app.engine, link) for link in store.all_links(app.engine)]

        return JSONResponse(await run_in_threadpool(collect))

    async def cluster_links(request: Request, app: MinerApp) -> JSONResponse:
        cluster_id, problem = cluster_id_of(request)
        if problem is not None:
            return problem

        def collect() -> list[dict[str, Any]]:
            return [service.link_as_dict(app.engine, link) for link in store.links_for_cluster(app.engine, cluster_id)]

        return JSONResponse(await run_in_threadpool(collect))

    async def add_link(request: Request, app: MinerApp) -> JSONResponse:
        cluster_id, problem = cluster_id_of(request)
        if problem is not None:
            return problem
        raw, problem = await read_json_object(request)
        if problem is not None:
            return problem
        try:
            body = LinkBody.model_validate(raw)
        except ValidationError as exc:
            where, message, _ = first_error(exc)
            return error(422, f"{where}: {message}" if where else message.removeprefix("Value error, "),
                         field=where or None)

        def change() -> dict[str, Any]:
            trackers = app.trackers()
            try:
                if body.create is not None:
                    link = service.create_for_cluster(
                        app.engine, service.tracker_for(trackers, body.create), cluster_id,
                        ticket_url=service.ticket_link(app.settings, app.context.demo_url), created_by="api")
                else:
                    assert body.key is not None
                    link = service.link_existing(app.engine, service.tracker_for(trackers, service.tracker_of(body.key)),
                                                 cluster_id, body.key, created_by="api")
            finally:
                service.close_trackers(trackers)
            return service.link_as_dict(app.engine, link)

        try:
            return JSONResponse(await run_in_threadpool(change), status_code=201)
        except NoSuchCluster as exc:
            return error(404, str(exc))
        except (TrackerRejected, TrackerNotFound) as exc:  # the key or the tracker choice is wrong
            return error(422, str(exc), field="create" if body.create else "key")
        except TrackerError as exc:  # refused credentials, unreachable, rate-limited, a proxy's page
            return error(502, str(exc))

    async def cancel(request: Request, app: MinerApp) -> JSONResponse:
        if await run_in_threadpool(app.worker.cancel):
            return JSONResponse({"status": "cancelling"}, status_code=202)
        return error(409, "nothing is running")

    async def alert_channels(request: Request, app: MinerApp) -> JSONResponse:
        return JSONResponse([channel.describe() for channel in app.alerts.channels])

    async def alert_deliveries(request: Request, app: MinerApp) -> JSONResponse:
        from miner.alerts import outbox

        limit, problem = whole_number(request.query_params.get("limit", "50"), "limit", 1, 500)
        if problem is not None:
            return problem
        rows = await run_in_threadpool(outbox.recent, app.engine, limit=limit,
                                       channel=request.query_params.get("channel") or None)
        return JSONResponse(json.loads(json.dumps(rows, default=_iso)))

    async def alert_test(request: Request, app: MinerApp) -> JSONResponse:
        from miner.alerts import service

        body, problem = await read_json_object(request)
        if problem is not None:
            return problem
        name = body.get("channel")
        if not isinstance(name, str) or not name.strip():
            return error(422, "channel: the name of a configured alert channel", field="channel")
        if name.strip().lower() not in {c.name for c in app.alerts.channels}:
            return error(404, f"no alert channel {name!r}", field="channel")
        outcome = await run_in_threadpool(service.send_test, app.engine, app.alerts, name)
        return JSONResponse({"channel": outcome.channel, "delivered": outcome.ok, "message": outcome.message,
                             "delivery_id": outcome.delivery_id}, status_code=200 if outcome.ok else 502)

    async def alert_send(request: Request, app: MinerApp) -> JSONResponse:
        from miner.alerts import service

        return JSONResponse(await run_in_threadpool(service.send_now, app.engine, app.alerts))

    return [
        Route("/api/alerts/channels", endpoint(alert_channels), methods=["GET"]),
        Route("/api/alerts/deliveries", endpoint(alert_deliveries), methods=["GET"]),
        Route("/api/alerts/test", endpoint(alert_test, writer=True), methods=["POST"]),
        Route("/api/alerts/send", endpoint(alert_send, writer=True), methods=["POST"]),
        Route("/api/tasks/scheduler/status", endpoint(scheduler_status), methods=["GET"]),
        Route("/api/tasks/worker/status", endpoint(worker_status), methods=["GET"]),
        *(Route(f"/api/tasks/{kind}", endpoint(start_run(kind), writer=True), methods=["POST"])
          for kind in MANUAL_KINDS),
        Route(f"/api/tasks/{RunKind.REFRESH_LINKS}", endpoint(start_run(RunKind.REFRESH_LINKS), writer=True),
              methods=["POST"]),
        Route("/api/tasks/cancel", endpoint(cancel, writer=True), methods=["POST"]),
        Route("/api/links", endpoint(list_links), methods=["GET"]),
        Route("/api/clusters/{cluster_id}/links", endpoint(cluster_links), methods=["GET"]),
        Route("/api/clusters/{cluster_id}/links", endpoint(add_link, writer=True), methods=["POST"]),
        Route("/api/tasks/runs", endpoint(list_runs), methods=["GET"]),
        Route("/api/tasks/runs/{run_id}", endpoint(get_run), methods=["GET"]),
        Route("/api/health", endpoint(api_health, reader=False), methods=["GET"]),
    ]


def _token_matches(request: Request, settings: Settings) -> bool:
    token = settings.api_token.get_secret_value() if settings.api_token else ""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return bool(token) and scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(),
                                                                              token.encode())


def _unauthorised(detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=401, headers={"WWW-Authenticate": 'Bearer realm="miner"'})


def authorise(request: Request, settings: Settings) -> JSONResponse | None:
    """POSTs: the bearer token, always."""
    if not settings.api_token:
        return error(403, "The task API is disabled. Set MINER_API_TOKEN (environment or "
                          ".streamlit/secrets.toml) and send 'Authorization: Bearer <token>'.")
    if not _token_matches(request, settings):
        return _unauthorised("missing or invalid bearer token")
    return None


def authorise_read(request: Request, settings: Settings, access: AccessProvider | None) -> JSONResponse | None:
    """GETs: the bearer token, or local access for a request straight from this machine."""
    if _token_matches(request, settings):
        return None
    if access is not None:
        policy = access(settings)
        peer = request.client.host if request.client else None
        if policy.mode is Mode.LOCAL and policy.local_request_refusal(peer, request.headers) is None:
            return None
    how = ("send 'Authorization: Bearer <MINER_API_TOKEN>'" if settings.api_token
           else "set MINER_API_TOKEN and send 'Authorization: Bearer <token>'")
    return _unauthorised(f"this API needs a token: {how} (README \"REST API\")")


def _iso(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)
def cluster_id_of(request: Request) -> tuple[int, JSONResponse | None]:
    text = request.path_params["cluster_id"]
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_ID:
        return 0, error(422, f"cluster id must be a whole number from 1 to {MAX_ID}", field="cluster_id")
    return int(text), None


def whole_number(text: str, field: str, low: int, high: int) -> tuple[int, JSONResponse | None]:
    if not (text.isascii() and text.isdigit()) or not low <= int(text) <= high:
        return 0, error(422, f"{field} must be a whole number from {low} to {high}", field=field)
    return int(text), None


async def read_json_object(request: Request) -> tuple[dict[str, Any], JSONResponse | None]:
    """The body as a JSON object, read no further than MAX_BODY bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        return {}, error(413, f"request body too large (at most {MAX_BODY // 1024} KB)")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:  # stop reading: a client must not make us buffer what it likes
            return {}, error(413, f"request body too large (at most {MAX_BODY // 1024} KB)")
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        return {}, None
    try:
        body = json.loads(raw)
    except RecursionError:
        return {}, error(422, "body is nested too deeply to be a request", field=None)
    except ValueError as exc:
        return {}, error(422, f"body is not valid JSON ({exc.args[0] if exc.args else exc})",
                         field=None)
    if not isinstance(body, dict):
        return {}, error(422, "body must be a JSON object", field=None)
    return body, None


def rate_limited(app: MinerApp) -> JSONResponse | None:
    """At most MINER_MANUAL_RUNS_PER_HOUR API-started syncs, analyses and pipelines in any 60 minutes."""
    limit = app.settings.manual_runs_per_hour
    if limit <= 0:
        return None
    since = datetime.now(UTC) - timedelta(hours=1)
    started = history.start_times(app.engine, started_by=StartedBy.API, kinds=MANUAL_KINDS, since=since)
    if len(started) < limit:
        return None
    oldest = started[len(started) - limit]
    retry = max(1, math.ceil((oldest + timedelta(hours=1) - datetime.now(UTC)).total_seconds()))
    return JSONResponse(
        {"detail": f"at most {limit} manual runs (sync, analyze, pipeline) per hour "
                   f"(MINER_MANUAL_RUNS_PER_HOUR); try again in {retry} s"},
        status_code=429, headers={"Retry-After": str(retry)},
    )


class SecurityHeaders:
    """ASGI middleware: every HTTP answer of the server (pages, assets, API) refuses to be framed by
    another site (clickjacking) and keeps the dashboard's URLs out of other sites' referrers."""

    HEADERS = (
        (b"x-frame-options", b"DENY"),
        (b"content-security-policy", b"frame-ancestors 'none'"),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"same-origin"),
    )
    _NAMES = frozenset(name for name, _ in HEADERS)

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in self._NAMES]
                message = {**message, "headers": [*kept, *self.HEADERS]}
            await send(message)

        await self.app(scope, receive, send_with_headers)
