"""REST endpoints, served on the dashboard's own port (st.App routes); they mirror the buttons.

GET  /api/tasks/scheduler/status   scheduled jobs (id, name, next_run, trigger, paused, last run)
GET  /api/tasks/worker/status      the seed's worker status + run_id, stage, done, total
POST /api/tasks/sync               {"backfill_days": int|null}
POST /api/tasks/analyze            {"batch_size": int}
POST /api/tasks/pipeline           {"backfill_days": int|null, "batch_size": int}
POST /api/tasks/cancel             cancel the running run
GET  /api/tasks/runs               run history (?limit=&kind=&status=)
GET  /api/tasks/runs/{id}          one run
GET  /api/health                   database, Zendesk, Claude, scheduler

POSTs need `Authorization: Bearer <MINER_API_TOKEN>`: 401 without a valid token, 403 when no token
is configured. Answers: 202 started, 409 busy, 422 invalid body (naming the field), 429 too many
manual syncs (with Retry-After).
"""

from __future__ import annotations

import hmac
import json
import logging
import math
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from miner import health
from miner.tasks import jobs, runs
from miner.tasks.runner import Busy

log = logging.getLogger(__name__)

AppProvider = Callable[[], Any]  # () -> miner.app.MinerApp
SYNC_KINDS = ("sync", "pipeline")
MAX_BODY = 64 * 1024


def error(status: int, detail: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"detail": detail, **extra}, status_code=status)


def routes(get_app: AppProvider) -> list[Route]:
    """The API's routes; `get_app` returns the process's started MinerApp."""

    def endpoint(fn: Callable[..., Any]) -> Callable[[Request], Awaitable[JSONResponse]]:
        async def handler(request: Request) -> JSONResponse:
            try:
                return await fn(request, get_app())
            except Exception:  # never leak a traceback to an API client
                log.exception("API %s %s failed", request.method, request.url.path)
                return error(500, "internal error; see the server log")

        return handler

    async def scheduler_status(request: Request, app: Any) -> JSONResponse:
        return JSONResponse(await run_in_threadpool(app.scheduler.job_status))

    async def worker_status(request: Request, app: Any) -> JSONResponse:
        return JSONResponse(await run_in_threadpool(app.worker.status))

    async def list_runs(request: Request, app: Any) -> JSONResponse:
        q = request.query_params
        try:
            limit = int(q.get("limit", "50"))
            offset = int(q.get("offset", "0"))
        except ValueError:
            return error(422, "limit and offset must be whole numbers", field="limit")
        if not 1 <= limit <= 500 or offset < 0:
            return error(422, "limit must be 1..500 and offset >= 0", field="limit")
        kind, status = q.get("kind"), q.get("status")
        if kind and kind not in runs.KINDS:
            return error(422, f"unknown kind; one of {', '.join(runs.KINDS)}", field="kind")
        if status and status not in runs.STATUSES:
            return error(422, f"unknown status; one of {', '.join(runs.STATUSES)}", field="status")
        found = await run_in_threadpool(runs.recent_runs, app.engine, limit=limit, offset=offset,
                                        kind=kind, status=status)
        return JSONResponse([r.as_dict() for r in found])

    async def get_run(request: Request, app: Any) -> JSONResponse:
        try:
            run_id = int(request.path_params["run_id"])
        except ValueError:
            return error(422, "run id must be a whole number", field="run_id")
        run = await run_in_threadpool(runs.get_run, app.engine, run_id)
        return JSONResponse(run.as_dict()) if run else error(404, f"no run #{run_id}")

    async def api_health(request: Request, app: Any) -> JSONResponse:
        def collect() -> tuple[int, dict[str, Any]]:
            live_db = health.check_database(app.engine)
            stored = {h.component: h.as_dict() for h in health.latest(app.engine)} if live_db.ok else {}
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

    def trigger(kind: str) -> Callable[[Request, Any], Awaitable[JSONResponse]]:
        async def start(request: Request, app: Any) -> JSONResponse:
            denied = authorise(request, app.settings)
            if denied is not None:
                return denied
            body, problem = await read_json_object(request)
            if problem is not None:
                return problem
            try:
                params = jobs.validate_params(kind, body).model_dump()
            except jobs.BadParams as exc:
                return error(422, str(exc), field=exc.field)
            if kind in SYNC_KINDS:
                limited = await run_in_threadpool(rate_limited, app, kind)
                if limited is not None:
                    return limited
            try:
                run_id = await run_in_threadpool(app.worker.submit, kind, params, trigger="api")
            except Busy as exc:
                running = exc.running.as_dict() if exc.running else None
                return error(409, str(exc), running=running)
            return JSONResponse(
                {"run_id": run_id, "status": "started", "kind": kind, "params": params,
                 "status_url": "/api/tasks/worker/status", "run_url": f"/api/tasks/runs/{run_id}"},
                status_code=202,
            )

        return start

    async def cancel(request: Request, app: Any) -> JSONResponse:
        denied = authorise(request, app.settings)
        if denied is not None:
            return denied
        if await run_in_threadpool(app.worker.cancel):
            return JSONResponse({"status": "cancelling"}, status_code=202)
        return error(409, "nothing is running")

    return [
        Route("/api/tasks/scheduler/status", endpoint(scheduler_status), methods=["GET"]),
        Route("/api/tasks/worker/status", endpoint(worker_status), methods=["GET"]),
        Route("/api/tasks/sync", endpoint(trigger("sync")), methods=["POST"]),
        Route("/api/tasks/analyze", endpoint(trigger("analyze")), methods=["POST"]),
        Route("/api/tasks/pipeline", endpoint(trigger("pipeline")), methods=["POST"]),
        Route("/api/tasks/cancel", endpoint(cancel), methods=["POST"]),
        Route("/api/tasks/runs", endpoint(list_runs), methods=["GET"]),
        Route("/api/tasks/runs/{run_id}", endpoint(get_run), methods=["GET"]),
        Route("/api/health", endpoint(api_health), methods=["GET"]),
    ]


def authorise(request: Request, settings: Any) -> JSONResponse | None:
    token = settings.api_token.get_secret_value() if settings.api_token else None
    if not token:
        return error(403, "The task API is disabled. Set MINER_API_TOKEN (environment or "
                          ".streamlit/secrets.toml) and send 'Authorization: Bearer <token>'.")
    given = request.headers.get("authorization", "")
    scheme, _, value = given.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(value.strip().encode(), token.encode()):
        return JSONResponse({"detail": "missing or invalid bearer token"}, status_code=401,
                            headers={"WWW-Authenticate": 'Bearer realm="miner"'})
    return None


async def read_json_object(request: Request) -> tuple[dict[str, Any], JSONResponse | None]:
    raw = await request.body()
    if len(raw) > MAX_BODY:
        return {}, error(413, "request body too large")
    if not raw.strip():
        return {}, None
    try:
        body = json.loads(raw)
    except ValueError as exc:
        return {}, error(422, f"body is not valid JSON ({exc.args[0] if exc.args else exc})",
                         field=None)
    if not isinstance(body, dict):
        return {}, error(422, "body must be a JSON object", field=None)
    return body, None


def rate_limited(app: Any, kind: str) -> JSONResponse | None:
    """At most MINER_MANUAL_SYNCS_PER_HOUR API-triggered syncs/pipelines in any 60 minutes."""
    limit = app.settings.manual_sync_per_hour
    if limit <= 0:
        return None
    since = datetime.now(UTC) - timedelta(hours=1)
    t = runs.runs_t
    with app.engine.connect() as conn:
        started = conn.execute(
            select(t.c.started_at).where(t.c.trigger == "api", t.c.kind.in_(SYNC_KINDS),
                                         t.c.started_at >= since, t.c.status != "skipped")
            .order_by(t.c.started_at)
        ).scalars().all()
    if len(started) < limit:
        return None
    oldest = started[len(started) - limit]
    retry = max(1, math.ceil((oldest + timedelta(hours=1) - datetime.now(UTC)).total_seconds()))
    return JSONResponse(
        {"detail": f"at most {limit} manual syncs per hour (MINER_MANUAL_SYNCS_PER_HOUR); "
                   f"try again in {retry} s"},
        status_code=429, headers={"Retry-After": str(retry)},
    )

