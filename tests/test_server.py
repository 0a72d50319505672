"""`streamlit run dashboard.py` with no credentials: the scheduler is up before any browser connects,
and the REST API runs a demo pipeline to completion while the worker status shows it moving."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
TOKEN = "server-test-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_scheduler_starts_with_the_server_and_the_api_runs_a_pipeline(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'miner.db'}", "MINER_API_TOKEN": TOKEN,
           "MINER_DEMO_TICKETS": "1500",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    for name in ("ZENDESK_SUBDOMAIN", "ZENDESK_API_TOKEN", "ANTHROPIC_API_KEY"):
        env.pop(name, None)
    log = (tmp_path / "server.log").open("w")
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "dashboard.py", "--server.port", str(port),
                             "--server.headless", "true"], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        jobs = None
        while time.monotonic() - started < 15:  # no browser has connected: only the lifespan ran
            try:
                response = httpx.get(f"{base}/api/tasks/scheduler/status", timeout=2)
                if response.status_code == 200:
                    jobs = response.json()
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        assert jobs is not None, "the scheduler status was not served within 15 s"
        assert {j["id"] for j in jobs} == {"daily_sync", "hourly_trends", "health_check", "weekly_report",
                                          "monthly_cleanup"}
        assert all(j["next_run"] for j in jobs)

        response = httpx.post(f"{base}/api/tasks/pipeline", json={"batch_size": 2000},
                              headers={"Authorization": f"Bearer {TOKEN}"})
        assert response.status_code == 202, response.text
        run_id = response.json()["run_id"]
        observed: list[tuple[str, int, int | None]] = []
        status: dict = {}
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            status = httpx.get(f"{base}/api/tasks/worker/status").json()
            if not status["is_running"]:
                break
            observed.append((status["stage"], status["done"], status["total"]))
            time.sleep(0.25)
        assert status["status"] == "completed" and status["run_id"] == run_id, status
        stages = {stage for stage, _, _ in observed}
        assert {"Syncing tickets", "Analyzing tickets (offline)"} <= stages, stages
        assert len({(s, d) for s, d, _ in observed}) >= 4  # done/total moved while it ran
        assert any(total for _, _, total in observed)
        result = status["last_result"]
        assert result["sync"]["tickets_new"] > 1400 and result["analyze"]["analyzed"] > 1400
        assert result["cluster"]["clusters"] > 5 and result["trends"]["clusters"] > 5
    finally:
        proc.terminate()
        proc.wait(20)
        log.close()
