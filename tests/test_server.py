"""`streamlit run dashboard.py`: the scheduler is up before any browser connects, the pages and the API
refuse to be framed, and the REST API runs a pipeline to completion while the worker status shows each
stage. The run syncs from a Zendesk double whose gate holds its requests, so every state we look at
stays put until we have looked at it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from miner.demo.server import DemoZendesk
from tests.servers import dashboard

TOKEN = "server-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
INCREMENTAL = ("/api/v2/incremental/tickets/cursor.json", "/api/v2/incremental/ticket_events.json")


@pytest.fixture
def zendesk() -> Iterator[DemoZendesk]:
    with DemoZendesk(n_tickets=1500, credentials=("admin@acme.example", "zd-token")) as server:
        yield server


def test_scheduler_starts_with_the_server_and_the_api_runs_a_pipeline(zendesk: DemoZendesk, tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'miner.db'}", "MINER_API_TOKEN": TOKEN,
           "MINER_SOURCE": "zendesk", "ZENDESK_BASE_URL": zendesk.url, "ZENDESK_EMAIL": "admin@acme.example",
           "ZENDESK_API_TOKEN": "zd-token", "ZENDESK_INCREMENTAL_RPM": "0", "MINER_LOG_LEVEL": "WARNING"}
    with dashboard(env, tmp_path / "server.log") as base:
        # no browser has connected: only the lifespan ran
        jobs = httpx.get(f"{base}/api/tasks/scheduler/status", headers=AUTH).json()
        assert {j["id"] for j in jobs} == {"daily_sync", "hourly_trends", "health_check", "weekly_report",
                                          "monthly_cleanup", "hourly_fix_links"}
        assert all(j["next_run"] for j in jobs)
        for path in ("/", "/api/health"):
            headers = httpx.get(base + path).headers
            assert headers["x-frame-options"] == "DENY"
            assert headers["content-security-policy"] == "frame-ancestors 'none'"

        gate = zendesk.faults.hold(INCREMENTAL)
        response = httpx.post(f"{base}/api/tasks/pipeline", json={"batch_size": 2000}, headers=AUTH)
        assert response.status_code == 202, response.text
        run_id = response.json()["run_id"]

        def status() -> dict:
            return httpx.get(f"{base}/api/tasks/worker/status", headers=AUTH).json()

        assert gate.wait_until_held()  # the first page of the ticket export
        first = status()
        assert (first["is_running"], first["run_id"], first["stage"], first["done"]) == (True, run_id,
                                                                                       "Syncing tickets", 0)
        assert gate.step()  # the first page stored; the second one held
        second = status()
        assert second["stage"] == "Syncing tickets" and second["done"] == 1000 and second["total"] > 1000
        assert gate.step()  # all tickets stored; the first page of comment events held
        third = status()
        assert third["stage"] == "Syncing comments" and third["done"] == 0
        gate.open()

        deadline = time.monotonic() + 240
        while (final := status())["is_running"]:
            assert time.monotonic() < deadline, "the pipeline did not finish"
            time.sleep(0.25)
        assert final["status"] == "completed" and final["run_id"] == run_id, final
        result = final["last_result"]
        assert result["sync"]["tickets_new"] > 1400 and result["analyze"]["analyzed"] > 1400
        assert result["cluster"]["clusters"] > 5 and result["trends"]["clusters"] > 5
    # the server logs at MINER_LOG_LEVEL: the run's INFO lines (each stage's figures) are not written
    assert "INFO    miner.clustering" not in (tmp_path / "server.log").read_text()
