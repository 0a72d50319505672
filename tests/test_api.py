"""The REST API: auth, validation, busy, rate limit, and the seed's status shapes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import insert
from starlette.applications import Starlette
from starlette.testclient import TestClient

from miner import api
from miner.access import AccessPolicy
from miner.app import MinerApp
from miner.config import Settings
from miner.demo.dataset import generate_dataset
from miner.demo.server import DemoZendesk
from miner.models import HealthCheck
from miner.progress import RunContext
from miner.runs import history

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
    miner.worker.ctx = RunContext(settings, miner.engine, demo_url=demo.url)  # a small, controllable demo
    return miner, demo


def local_policy(settings: Settings) -> AccessPolicy:
    """The policy of a dashboard on 127.0.0.1 with local access on (demo data, nothing configured)."""
    return AccessPolicy(sso=False, password=False, local_setting=True, nothing_to_protect=True,
                        bind_address="127.0.0.1")


def server(miner: MinerApp, access=None) -> Starlette:
    return Starlette(routes=api.routes(lambda: miner, access))


@pytest.fixture
def served(sqlite_url: str, dataset) -> Iterator[tuple[TestClient, MinerApp, DemoZendesk]]:
    """A client that sends the token with every request."""
    miner, demo = make_app(sqlite_url, dataset, MINER_API_TOKEN=TOKEN, MINER_MANUAL_RUNS_PER_HOUR="3")
    client = TestClient(server(miner), headers=AUTH)
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
        client = TestClient(server(miner, local_policy), base_url="http://127.0.0.1:8501",
                            client=("127.0.0.1", 50000))
        response = client.post("/api/tasks/sync", json={}, headers=AUTH)
        assert response.status_code == 403
        assert "MINER_API_TOKEN" in response.json()["detail"]
        assert client.get("/api/tasks/worker/status").status_code == 200  # local reading stays open
    finally:
        miner.stop()
        demo.stop()


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer nope"}, {"Authorization": TOKEN}])
def test_posts_need_the_bearer_token(served, headers: dict) -> None:
    _, miner, _ = served
    response = TestClient(server(miner)).post("/api/tasks/pipeline", json={}, headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


READS = ["/api/tasks/worker/status", "/api/tasks/scheduler/status", "/api/tasks/runs", "/api/tasks/runs/1"]


@pytest.mark.parametrize("path", READS)
def test_reads_need_the_token_where_the_dashboard_needs_a_sign_in(served, path: str) -> None:
    _, miner, _ = served
    for policy in (None, lambda s: AccessPolicy(True, False, None, True, "127.0.0.1"),  # single sign-on
                   lambda s: AccessPolicy(False, True, None, True, "127.0.0.1")):  # a password
        anonymous = TestClient(server(miner, policy), base_url="http://127.0.0.1:8501",
                               client=("127.0.0.1", 50000))
        response = anonymous.get(path)
        assert response.status_code == 401, (policy, response.text)
        assert "MINER_API_TOKEN" in response.json()["detail"]
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert anonymous.get(path, headers=AUTH).status_code in (200, 404)  # 404: no run #1 yet


@pytest.mark.parametrize("headers", [
    {"X-Forwarded-For": "127.0.0.1"},  # a proxy passing the client's own claim along
    {"Forwarded": "for=127.0.0.1"},
    {"X-Real-IP": "127.0.0.1"},
    {"Host": "miner.example.com"},  # a same-host forwarder (socat, stunnel, nginx) under a public name
    {"Origin": "https://evil.example"},  # a page elsewhere, in the local user's browser
])
def test_local_reads_only_straight_from_this_machine(served, headers: dict) -> None:
    _, miner, _ = served
    local = TestClient(server(miner, local_policy), base_url="http://127.0.0.1:8501", client=("127.0.0.1", 50000))
    assert local.get("/api/tasks/worker/status").status_code == 200
    assert local.get("/api/tasks/worker/status", headers=headers).status_code == 401
    remote = TestClient(server(miner, local_policy), base_url="http://127.0.0.1:8501", client=("10.1.2.3", 50000))
    assert remote.get("/api/tasks/worker/status").status_code == 401


def test_health_tells_anonymous_callers_only_whether_it_is_up(sqlite_url: str, dataset) -> None:
    miner, demo = make_app(sqlite_url, dataset, MINER_API_TOKEN=TOKEN, MINER_SOURCE="zendesk",
                           ZENDESK_BASE_URL="https://acme.zendesk.com", ZENDESK_EMAIL="boss@acme.example",
                           ZENDESK_API_TOKEN="zd-token")
    try:
        with miner.engine.begin() as conn:  # what the health job stored about Zendesk
            conn.execute(insert(HealthCheck.__table__).values(
                component="zendesk", ok=True, message="signed in to https://acme.zendesk.com as Boss Person (role: admin)",
                latency_ms=12.0, checked_at=datetime.now(UTC)))
        anonymous = TestClient(server(miner))
        response = anonymous.get("/api/health")
        assert response.status_code == 200 and response.json() == {"status": "ok"}
        assert "acme" not in response.text and "Boss" not in response.text
        detailed = anonymous.get("/api/health", headers=AUTH).json()
        assert "Boss Person" in detailed["checks"]["zendesk"]["message"]
    finally:
        miner.stop()
        demo.stop()


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
    gate = demo.faults.hold()  # the sync waits at its first Zendesk request until we let it go
    response = client.post("/api/tasks/sync", json={"backfill_days": 7}, headers=AUTH)
    assert response.status_code == 202
    run_id = response.json()["run_id"]
    assert gate.wait_until_held()
    busy = client.post("/api/tasks/analyze", json={"batch_size": 10}, headers=AUTH)
    assert busy.status_code == 409
    assert "already running" in busy.json()["detail"] and busy.json()["running"]["id"] == run_id
    status = client.get("/api/tasks/worker/status").json()
    assert SEED_FIELDS | {"run_id", "stage", "done", "total"} <= set(status)
    assert status["is_running"] and status["status"] == "running" and status["run_id"] == run_id
    assert status["stage"] == "Syncing tickets"
    gate.open()
    final = wait_idle(client)
    assert final["status"] == "completed" and final["last_error"] is None
    assert final["last_result"]["sync"]["tickets_new"] > 0
    run = client.get(f"/api/tasks/runs/{run_id}").json()
    assert run["status"] == "succeeded" and run["trigger"] == "api" and run["params"] == {"backfill_days": 7}


def test_manual_runs_are_rate_limited_with_retry_after(served) -> None:
    client, _, _ = served
    for path, body in [("/api/tasks/sync", {}), ("/api/tasks/analyze", {"batch_size": 5}), ("/api/tasks/sync", {})]:
        assert client.post(path, json=body, headers=AUTH).status_code == 202
        wait_idle(client)
    for path in ("/api/tasks/pipeline", "/api/tasks/analyze", "/api/tasks/sync"):  # analyze spends money too
        limited = client.post(path, json={"batch_size": 5} if path.endswith("analyze") else {}, headers=AUTH)
        assert limited.status_code == 429, path
        assert 3000 < int(limited.headers["Retry-After"]) <= 3600
        assert "MINER_MANUAL_RUNS_PER_HOUR" in limited.json()["detail"]
    assert client.post("/api/tasks/cluster", json={}, headers=AUTH).status_code in (404, 405)  # no such endpoint


def test_the_old_name_of_the_rate_limit_setting_still_works(tmp_path) -> None:
    settings = Settings.load(env={"MINER_MANUAL_SYNCS_PER_HOUR": "2"}, secrets_file=False)
    assert settings.manual_runs_per_hour == 2
    both = Settings.load(env={"MINER_MANUAL_SYNCS_PER_HOUR": "2", "MINER_MANUAL_RUNS_PER_HOUR": "7"},
                         secrets_file=False)
    assert both.manual_runs_per_hour == 7
    secrets = tmp_path / "secrets.toml"
    secrets.write_text("MINER_MANUAL_RUNS_PER_HOUR = 9\n")
    assert Settings.load(env={"MINER_MANUAL_SYNCS_PER_HOUR": "2"}, secrets_file=secrets).manual_runs_per_hour == 2
    secrets.write_text("MINER_MANUAL_SYNCS_PER_HOUR = 4\n")
    assert Settings.load(env={}, secrets_file=secrets).manual_runs_per_hour == 4


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


@pytest.mark.parametrize(("path", "status", "field"), [
    ("/api/tasks/runs/99999999999999999999999", 404, None),  # beyond any database integer: no such run
    ("/api/tasks/runs/9223372036854775807", 404, None),
    ("/api/tasks/runs/-1", 422, "run_id"),
    ("/api/tasks/runs/1e3", 422, "run_id"),
    ("/api/tasks/runs/%D9%A3", 422, "run_id"),  # an Arabic-Indic digit: str.isdigit() says yes, int() agrees
    ("/api/tasks/runs?offset=9223372036854775808", 422, "offset"),
    ("/api/tasks/runs?offset=-1", 422, "offset"),
    ("/api/tasks/runs?limit=501", 422, "limit"),
    ("/api/tasks/runs?limit=99999999999999999999999999", 422, "limit"),
])
def test_out_of_range_numbers_are_answered_not_crashed_on(served, path: str, status: int, field: str | None) -> None:
    client, _, _ = served
    response = client.get(path)
    assert response.status_code == status, response.text
    if field:
        assert response.json()["field"] == field
    assert client.get("/api/tasks/runs?offset=9223372036854775807").json() == []  # the largest offset is fine


async def test_a_body_over_64_kb_is_refused_while_it_is_read(served) -> None:
    """Driven as the ASGI server drives it: the app pulls the body chunk by chunk (no Content-Length)."""
    _, miner, _ = served
    pulled = 0

    async def receive() -> dict:
        nonlocal pulled
        pulled += 1
        return {"type": "http.request", "body": b" " * 65_536, "more_body": pulled < 10_000}  # 640 MB in all

    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": "/api/tasks/sync", "raw_path": b"/api/tasks/sync", "query_string": b"", "root_path": "",
             "headers": [(b"host", b"127.0.0.1"), (b"authorization", f"Bearer {TOKEN}".encode()),
                         (b"content-type", b"application/json"), (b"transfer-encoding", b"chunked")],
             "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8501)}
    await server(miner)(scope, receive, send)
    assert sent[0]["status"] == 413
    assert pulled <= 2  # it stopped reading at the first chunk past 64 KB
    declared = TestClient(server(miner)).post("/api/tasks/sync", content=b"{}",
                                              headers={**AUTH, "Content-Length": str(10**9)})
    assert declared.status_code == 413
    assert history.recent_runs(miner.engine) == []


def test_deeply_nested_json_is_a_422(served) -> None:
    client, _, _ = served
    raw = b"[" * 30_000 + b"]" * 30_000
    response = client.post("/api/tasks/sync", content=raw, headers={**AUTH, "Content-Type": "application/json"})
    assert response.status_code == 422
    assert "nested" in response.json()["detail"]


def test_health_reports_database_and_scheduler(served) -> None:
    client, _, _ = served
    body = client.get("/api/health", headers=AUTH).json()
    assert body["status"] == "ok" and body["checks"]["database"]["ok"]
    assert body["scheduler"] == {"running": False, "leader": False}
    assert body["source"] == "demo" and body["analyzer"] == "offline"


def test_scheduler_status_lists_the_seed_jobs(served) -> None:
    client, _, _ = served
    jobs = client.get("/api/tasks/scheduler/status").json()
    assert [j["id"] for j in jobs] == ["daily_sync", "hourly_trends", "health_check", "weekly_report",
                                       "monthly_cleanup", "hourly_fix_links"]
    assert all({"id", "name", "next_run", "trigger"} <= set(j) for j in jobs)
