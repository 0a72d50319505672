"""The REST API: auth, validation, busy, rate limit, and the seed's status shapes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from miner import api
from miner.app import MinerApp
from miner.config import Settings
from miner.demo.dataset import generate_dataset
from miner.demo.server import DemoZendesk
from miner.pipeline import Context

TOKEN = "s3cret-token-for-tests"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SEED_FIELDS = {"status", "progress", "is_running", "started_at", "completed_at", "last_result", "last_error"}


@pytest.fixture(scope="module")
def dataset():
    return generate_dataset(datetime(2026, 11, 20, tzinfo=UTC), n_tickets=300, n_orgs=310)


def make_app(sqlite_url: str, dataset, **env: str) -> tuple[MinerApp, DemoZendesk]:
    settings = Settings.load(env={"DATABASE_URL": sqlite_url, "MINER_SCHEDULER": "false",
                                  "MINER_DEMO_TICKETS": "100", **env},
                             secrets_file=False)
    miner = MinerApp(settings)
    demo = DemoZendesk(dataset).start()
    miner.start(scheduler=False)
    miner.worker.ctx = Context(settings, miner.engine, demo_url=demo.url)  # a small, controllable demo
    return miner, demo


@pytest.fixture
def served(sqlite_url: str, dataset) -> Iterator[tuple[TestClient, MinerApp, DemoZendesk]]:
    miner, demo = make_app(sqlite_url, dataset, MINER_API_TOKEN=TOKEN, MINER_MANUAL_SYNCS_PER_HOUR="3")
    client = TestClient(Starlette(routes=api.routes(lambda: miner)))
    yield client, miner, demo
    miner.worker.shutdown()
    miner.stop()
    demo.stop()


def wait_idle(client: TestClient, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = client.get("/api/tasks/worker/status").json()
        if not status["is_running"]:
            return status
        time.sleep(0.1)
    raise AssertionError("the run did not finish")


def test_posts_are_forbidden_until_a_token_is_configured(sqlite_url: str, dataset) -> None:
    miner, demo = make_app(sqlite_url, dataset)
    try:
        client = TestClient(Starlette(routes=api.routes(lambda: miner)))
        response = client.post("/api/tasks/sync", json={}, headers=AUTH)
        assert response.status_code == 403
        assert "MINER_API_TOKEN" in response.json()["detail"]
        assert client.get("/api/tasks/worker/status").status_code == 200  # reading stays open
    finally:
        miner.stop()
        demo.stop()


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer nope"}, {"Authorization": TOKEN}])
def test_posts_need_the_bearer_token(served, headers: dict) -> None:
    client, _, _ = served
    response = client.post("/api/tasks/pipeline", json={}, headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [("/api/tasks/sync", {"backfill_days": -1}, "backfill_days"),
     ("/api/tasks/sync", {"backfill_days": "7"}, "backfill_days"),
     ("/api/tasks/analyze", {"batch_size": 0}, "batch_size"),
     ("/api/tasks/analyze", {"batch_size": 10**9}, "batch_size"),
     ("/api/tasks/pipeline", {"batch_size": 10, "colour": "red"}, "colour"),
     ("/api/tasks/analyze", {"batch_size": True}, "batch_size")],
)
def test_invalid_bodies_get_422_naming_the_field(served, path: str, body: dict, field: str) -> None:
    client, _miner, _ = served
    response = client.post(path, json=body, headers=AUTH)
    assert response.status_code == 422
    assert response.json()["field"] == field
    assert field in response.json()["detail"]
    assert client.get("/api/tasks/runs").json() == []  # nothing was started


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b'"text"'])
def test_bodies_that_are_not_json_objects_get_422(served, raw: bytes) -> None:
    client, _, _ = served
    response = client.post("/api/tasks/sync", content=raw, headers={**AUTH, "Content-Type": "application/json"})
    assert response.status_code == 422


def test_started_run_reports_progress_and_a_second_trigger_gets_409(served) -> None:
    client, _, demo = served
    demo.faults.latency = 0.3  # keep the sync busy long enough to collide with it
    response = client.post("/api/tasks/sync", json={"backfill_days": 7}, headers=AUTH)
    assert response.status_code == 202
    run_id = response.json()["run_id"]
    busy = client.post("/api/tasks/analyze", json={"batch_size": 10}, headers=AUTH)
    assert busy.status_code == 409
    assert "already running" in busy.json()["detail"] and busy.json()["running"]["id"] == run_id
    status = client.get("/api/tasks/worker/status").json()
    assert SEED_FIELDS | {"run_id", "stage", "done", "total"} <= set(status)
    assert status["is_running"] and status["status"] == "running" and status["run_id"] == run_id
    demo.faults.latency = 0
    final = wait_idle(client)
    assert final["status"] == "completed" and final["last_error"] is None
    assert final["last_result"]["sync"]["tickets_new"] > 0
    run = client.get(f"/api/tasks/runs/{run_id}").json()
    assert run["status"] == "succeeded" and run["trigger"] == "api" and run["params"] == {"backfill_days": 7}


def test_manual_syncs_are_rate_limited_with_retry_after(served) -> None:
    client, _, _ = served
    for _ in range(3):
        assert client.post("/api/tasks/sync", json={}, headers=AUTH).status_code == 202
        wait_idle(client)
    limited = client.post("/api/tasks/pipeline", json={}, headers=AUTH)
    assert limited.status_code == 429
    assert 3000 < int(limited.headers["Retry-After"]) <= 3600
    assert client.post("/api/tasks/analyze", json={"batch_size": 5}, headers=AUTH).status_code == 202  # not a sync


def test_failed_run_is_reported_and_the_worker_is_idle_again(served) -> None:
    client, _, demo = served
    demo.forbidden = True
    assert client.post("/api/tasks/sync", json={}, headers=AUTH).status_code == 202
    status = wait_idle(client)
    assert status["status"] == "failed" and not status["is_running"]
    assert "403" in status["last_error"]
    demo.forbidden = False
    assert client.post("/api/tasks/sync", json={}, headers=AUTH).status_code == 202


def test_runs_listing_validates_its_filters(served) -> None:
    client, _, _ = served
    assert client.get("/api/tasks/runs?limit=0").status_code == 422
    assert client.get("/api/tasks/runs?kind=dance").json()["field"] == "kind"
    assert client.get("/api/tasks/runs/999").status_code == 404
    assert client.get("/api/tasks/runs?status=failed").json() == []


def test_health_reports_database_and_scheduler(served) -> None:
    client, _, _ = served
    body = client.get("/api/health").json()
    assert body["status"] == "ok" and body["checks"]["database"]["ok"]
    assert body["scheduler"] == {"running": False, "leader": False}
    assert body["source"] == "demo" and body["analyzer"] == "offline"


def test_scheduler_status_lists_the_seed_jobs(served) -> None:
    client, _, _ = served
    jobs = client.get("/api/tasks/scheduler/status").json()
    assert [j["id"] for j in jobs] == ["daily_sync", "hourly_trends", "health_check", "weekly_report",
                                       "monthly_cleanup"]
    assert all({"id", "name", "next_run", "trigger"} <= set(j) for j in jobs)
