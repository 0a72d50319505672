"""The seed module's own integration test, as written in tasks-module-README.md (app.tasks -> miner.tasks),
and the contract that README documents: job ids and names, ISO next_run, trigger text, worker status."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from miner.app import current
from miner.tasks import get_job_status, seed_worker_status, setup_scheduler, shutdown_scheduler


@pytest.fixture
async def scheduler():
    setup_scheduler()
    yield
    shutdown_scheduler()


async def test_scheduler_status(scheduler):
    jobs = get_job_status()
    assert len(jobs) > 0
    assert any(job["id"] == "daily_sync" for job in jobs)


# --- the documented contract, on a database of its own -------------------------------------------

SEED_SCHEDULES = {  # id -> name; the seed names the first two and lists the other three as additional jobs
    "daily_sync": "Daily Zendesk Sync",
    "hourly_trends": "Hourly Trends Update",
    "health_check": "Health Check",
    "weekly_report": "Weekly Report",
    "monthly_cleanup": "Monthly Cleanup",
}
OUR_SCHEDULES = {"hourly_fix_links": "Hourly Fix Link Refresh"}  # added to the seed's: linked issues' status
SEED_STATUS_FIELDS = ("status", "progress", "is_running", "started_at", "completed_at", "last_result",
                      "last_error")


@pytest.fixture
async def fresh_scheduler(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'seed.db'}")
    monkeypatch.setenv("MINER_TIMEZONE", "UTC")
    setup_scheduler()
    yield
    shutdown_scheduler()


async def test_jobs_have_the_seed_ids_names_iso_next_runs_and_trigger_text(fresh_scheduler) -> None:
    now = datetime.now(UTC)
    jobs = {job["id"]: job for job in get_job_status()}
    assert {job_id: job["name"] for job_id, job in jobs.items()} == SEED_SCHEDULES | OUR_SCHEDULES
    for job in jobs.values():
        next_run = datetime.fromisoformat(job["next_run"])  # ISO 8601, with its offset
        assert next_run.tzinfo is not None and next_run > now - timedelta(seconds=5)
    daily = datetime.fromisoformat(jobs["daily_sync"]["next_run"])
    assert (daily.hour, daily.minute, daily.second) == (2, 0, 0) and daily - now <= timedelta(days=1)
    trigger = jobs["daily_sync"]["trigger"]  # the seed shows cron[hour='2', minute='0']
    assert trigger.startswith("cron[") and "hour='2'" in trigger and "minute='0'" in trigger
    assert jobs["hourly_trends"]["trigger"] == "interval[1:00:00]"
    assert jobs["health_check"]["trigger"] == "interval[0:05:00]"
    assert "day_of_week='mon'" in jobs["weekly_report"]["trigger"] and "hour='9'" in jobs["weekly_report"]["trigger"]
    assert "day='1'" in jobs["monthly_cleanup"]["trigger"] and "hour='3'" in jobs["monthly_cleanup"]["trigger"]


async def test_worker_status_has_the_seed_fields_before_and_after_a_run(fresh_scheduler) -> None:
    app = current()
    assert app is not None
    before = seed_worker_status(app.worker.status())
    assert {key: before[key] for key in SEED_STATUS_FIELDS} == {
        "status": "idle", "progress": "No runs yet", "is_running": False, "started_at": None,
        "completed_at": None, "last_result": None, "last_error": None,
    }
    outcome = app.worker.run_blocking("trends", {}, started_by="api")
    assert outcome is not None and outcome.status == "succeeded"
    after = seed_worker_status(app.worker.status())
    assert after["status"] == "completed" and after["is_running"] is False and after["last_error"] is None
    assert after["progress"] == "trends completed"
    started, completed = (datetime.fromisoformat(after[key]) for key in ("started_at", "completed_at"))
    assert started <= completed
    assert after["last_result"] == outcome.result and "trends" in after["last_result"]
