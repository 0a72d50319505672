"""Runs tell the truth and come to an end: status after a kill, SIGTERM and Ctrl+C of a CLI run, the
dashboard's shutdown, and Zendesk storms that cannot hold a run for half an hour."""

from __future__ import annotations

import itertools
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, update

from miner import zendesk as zendesk_module
from miner.config import Settings
from miner.demo.dataset import DemoDataset, generate_dataset
from miner.demo.server import DemoZendesk
from miner.progress import RunContext
from miner.runs import history
from miner.runs.lease import RUN_LEASE, read_lease
from miner.runs.runner import Runner
from miner.runs.worker import Worker
from miner.zendesk import ZendeskClient, ZendeskUnavailable

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def dataset() -> DemoDataset:
    return generate_dataset(datetime(2026, 11, 20, tzinfo=UTC), n_tickets=200, n_orgs=150)


@pytest.fixture
def held_zendesk(dataset: DemoDataset) -> Iterator[DemoZendesk]:
    """A Zendesk whose requests wait at a gate: a run that reached it stays mid-run until released."""
    with DemoZendesk(dataset) as zendesk:
        zendesk.faults.hold()
        yield zendesk
        zendesk.faults.clear()  # opens the gate, so nothing stays blocked


def start_cli_sync(database_url: str, zendesk: DemoZendesk) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "DATABASE_URL": database_url, "MINER_SOURCE": "zendesk",
           "ZENDESK_BASE_URL": zendesk.url, "ZENDESK_OAUTH_TOKEN": "token", "ZENDESK_INCREMENTAL_RPM": "0"}
    proc = subprocess.Popen([sys.executable, "-m", "miner", "sync"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=REPO)
    assert zendesk.faults.gate is not None
    if not zendesk.faults.gate.wait_until_held(timeout=60):  # the run is recorded and mid-sync now
        proc.kill()
        pytest.fail(f"the CLI run never reached Zendesk: {proc.communicate()[1][-2000:]}")
    return proc


def cli_status(database_url: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(REPO), "DATABASE_URL": database_url}
    out = subprocess.run([sys.executable, "-m", "miner", "status", "--json"], capture_output=True, text=True,
                         env=env, cwd=REPO, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def worker_for(engine: Engine, database_url: str, demo_url: str | None = None) -> Worker:
    settings = Settings.load(env={"DATABASE_URL": database_url}, secrets_file=False)
    return Worker(RunContext(settings, engine, demo_url=demo_url), Runner(engine, beat_interval=0.05))


# --- a killed run reads as interrupted at once ------------------------------------------------------


@pytest.fixture
def killed_cli_run(engine: Engine, database_url: str, held_zendesk: DemoZendesk) -> int:
    proc = start_cli_sync(database_url, held_zendesk)
    proc.kill()
    proc.communicate()
    (run,) = history.recent_runs(engine, status="running")  # what the dead process left behind
    return run.id


def test_status_command_shows_a_sigkilled_run_as_interrupted_at_once(database_url: str,
                                                                    killed_cli_run: int) -> None:
    status = cli_status(database_url)
    assert status["running"] is None
    latest = status["recent_runs"][0]
    assert (latest["id"], latest["status"]) == (killed_cli_run, "interrupted")
    assert "is gone" in latest["error"]


def test_worker_status_shows_a_sigkilled_run_as_interrupted_at_once(engine: Engine, database_url: str,
                                                                   killed_cli_run: int) -> None:
    status = worker_for(engine, database_url).status()
    assert status.is_running is False
    assert (status.run_id, status.status) == (killed_cli_run, "interrupted")
    assert read_lease(engine, RUN_LEASE).holder is None  # and the next run may start


def test_another_hosts_run_is_running_until_its_heartbeat_is_older_than_the_ttl(engine: Engine,
                                                                                database_url: str) -> None:
    run_id = history.start_run(engine, "sync", "schedule", {}, holder="far-away:4242:123.45:x")
    worker = worker_for(engine, database_url)
    assert worker.status().is_running is True  # another host: its process cannot be checked
    with engine.begin() as conn:
        conn.execute(update(history.runs_t).values(
            heartbeat_at=datetime.now(UTC) - timedelta(seconds=history.STALE_AFTER + 1)))
    status = worker.status()
    assert status.is_running is False and status.status == "interrupted"
    assert "No heartbeat" in history.get_run(engine, run_id).error


# --- SIGTERM and Ctrl+C -----------------------------------------------------------------------------


@pytest.mark.parametrize(("signum", "code", "named"),
                         [(signal.SIGTERM, 143, "SIGTERM"), (signal.SIGINT, 130, "Ctrl+C (SIGINT)")])
def test_a_signalled_cli_run_is_cancelled_releases_the_lease_and_exits_with_one_line(
        engine: Engine, database_url: str, held_zendesk: DemoZendesk, signum: int, code: int,
        named: str) -> None:
    proc = start_cli_sync(database_url, held_zendesk)
    proc.send_signal(signum)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == code, stderr
    assert "Traceback" not in stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert errors == [f"error: sync run #1 cancelled: Stopped by {named}; work committed so far is kept."]
    run = history.get_run(engine, 1)
    assert run.status == "cancelled" and run.error == f"Stopped by {named}; work committed so far is kept."
    assert read_lease(engine, RUN_LEASE).holder is None


def test_sigterm_during_analysis_keeps_the_answers_already_in_flight(sqlite_engine: Engine, sqlite_url: str,
                                                                    dataset: DemoDataset) -> None:
    from miner.models import LLMCall, TicketAnalysis
    from miner.sync import run_sync
    from tests.fakes.fake_anthropic import FakeAnthropic

    with DemoZendesk(dataset) as zendesk, ZendeskClient(zendesk.url, rpm=0) as client:
        run_sync(sqlite_engine, client, initial_days=3650)
    with FakeAnthropic(latency=1.0) as fake:
        env = {**os.environ, "PYTHONPATH": str(REPO), "DATABASE_URL": sqlite_url, "ANTHROPIC_API_KEY": "sk-test",
               "ANTHROPIC_BASE_URL": fake.base_url, "MINER_ANALYZE_CONCURRENCY": "3"}
        proc = subprocess.Popen([sys.executable, "-m", "miner", "analyze", "--batch-size", "50"], env=env,
                                cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while fake.stats.in_flight < 3 and time.monotonic() < deadline:  # three requests being answered
            time.sleep(0.01)
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 143, stderr
    with sqlite_engine.connect() as conn:
        done = conn.execute(select(func.count()).select_from(TicketAnalysis)
                            .where(TicketAnalysis.state == "done")).scalar_one()
        calls = conn.execute(select(func.count()).select_from(LLMCall)).scalar_one()
    assert done == calls == fake.stats.messages_ok >= 3  # every answer paid for is stored
    assert history.get_run(sqlite_engine, 1).status == "cancelled"


# --- the dashboard's shutdown -----------------------------------------------------------------------


def test_shutdown_records_its_runs_as_interrupted_not_cancelled(engine: Engine, database_url: str,
                                                                 held_zendesk: DemoZendesk) -> None:
    worker = worker_for(engine, database_url, demo_url=held_zendesk.url)
    run_id = worker.submit("sync", {}, started_by="dashboard")
    assert held_zendesk.faults.gate is not None and held_zendesk.faults.gate.wait_until_held(timeout=30)
    worker.shutdown(timeout=0)  # asks the run to stop; the run notices once its request returns
    held_zendesk.faults.clear()
    assert worker.wait(30)
    run = history.get_run(engine, run_id)
    assert (run.status, run.error) == ("interrupted", "Interrupted by shutdown; work committed so far is kept.")


# --- Zendesk storms ---------------------------------------------------------------------------------


def test_a_503_storm_without_retry_after_fails_once_the_request_has_waited_its_total(dataset: DemoDataset) -> None:
    with DemoZendesk(dataset) as zendesk, ZendeskClient(zendesk.url, rpm=0, max_wait=0.5) as client:
        zendesk.faults.rate_limit(1000, retry_after=None, status=503)
        started = time.monotonic()
        with pytest.raises(ZendeskUnavailable, match=r"Zendesk kept answering 503 for 1 s"):
            client.me()
    assert time.monotonic() - started < 5  # twice ZENDESK_MAX_WAIT_SECONDS, not 30 x 60 s
    assert client.stats.seconds_waited == pytest.approx(1.0, abs=0.1)


def test_a_503_without_retry_after_backs_off_exponentially(dataset: DemoDataset,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(zendesk_module, "RATE_LIMIT_BACKOFF_START", 0.2, raising=False)  # 0.2, 0.4, 0.8 s
    with DemoZendesk(dataset) as zendesk, ZendeskClient(zendesk.url, rpm=0, max_wait=5) as client:
        zendesk.faults.rate_limit(3, retry_after=None, status=503)
        client.me()
        times = [r.at for r in zendesk.requests]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert len(gaps) == 3
    for i, gap in enumerate(gaps):  # equal jitter: between half the step and the step
        step = 0.2 * 2**i
        assert step / 2 <= gap <= step + 0.5, gaps


def test_waits_are_logged_as_asked_only_when_zendesk_asked(dataset: DemoDataset,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    with DemoZendesk(dataset) as zendesk, ZendeskClient(zendesk.url, rpm=0, max_wait=0.2) as client:
        zendesk.faults.rate_limit(1, retry_after=None, status=503)
        zendesk.faults.rate_limit(1, retry_after="0", status=429)
        with caplog.at_level(logging.WARNING, logger="miner.zendesk"):
            client.me()
    waits = [r.getMessage() for r in caplog.records if "waiting" in r.getMessage()]
    assert len(waits) == 2
    assert "no Retry-After" in waits[0] and "as asked" not in waits[0]
    assert "as asked" in waits[1]
