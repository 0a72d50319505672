"""The seed module's own integration test, as written in tasks-module-README.md (app.tasks -> miner.tasks)."""

import pytest

from miner.tasks import get_job_status, setup_scheduler, shutdown_scheduler


@pytest.fixture
async def scheduler():
    setup_scheduler()
    yield
    shutdown_scheduler()


async def test_scheduler_status(scheduler):
    jobs = get_job_status()
    assert len(jobs) > 0
    assert any(job["id"] == "daily_sync" for job in jobs)
