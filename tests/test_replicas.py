"""Several processes on one PostgreSQL database (dashboard replicas): one scheduler leader fires the
jobs, a follower takes over when it stops, and never two runs at once."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, select, update

from miner import db
from miner.models import Lease, TaskRun
from miner.runs.scheduler import SCHEDULES, ensure_default_schedules, schedules_t

REPO = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(REPO)}


def wait_for(condition: Callable[[], bool], timeout: float = 90, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.1)


# --- only the leader fires scheduled jobs; the follower takes over ------------------------------------

SCHEDULER_REPLICA = textwrap.dedent("""
    import os, sys
    from miner.runs import scheduler
    scheduler.MIN_INTERVAL_SECONDS = 1  # the test schedules a job every 2 s
    from miner.app import MinerApp
    from miner.config import Settings
    settings = Settings.load(env={"DATABASE_URL": sys.argv[1], "MINER_DEMO_TICKETS": "100"}, secrets_file=False)
    app = MinerApp(settings).start(scheduler=True)
    print(os.getpid(), flush=True)
    sys.stdin.readline()  # runs its scheduler until the test says stop
    app.stop()
""")


@pytest.fixture
def every_two_seconds(pg_url: str) -> Iterator[Engine]:
    """The database, migrated, with hourly_trends every 2 s and every other job paused."""
    engine = create_engine(pg_url)
    db.upgrade(engine)
    ensure_default_schedules(engine)
    with engine.begin() as conn:
        conn.execute(update(schedules_t).values(paused=True))
        conn.execute(update(schedules_t).where(schedules_t.c.job_id == "hourly_trends")
                     .values(trigger="interval", interval_seconds=2, cron=None, paused=False))
    yield engine
    engine.dispose()


def scheduled_runs(engine: Engine) -> list[tuple[int, int | None, datetime]]:
    """(run id, pid of the process that recorded it, start) of every scheduled run, in order."""
    with engine.connect() as conn:
        rows = conn.execute(select(TaskRun.id, TaskRun.holder, TaskRun.started_at)
                            .where(TaskRun.trigger == "schedule").order_by(TaskRun.id)).all()
    return [(row.id, int(row.holder.split(":")[1]) if row.holder else None, row.started_at) for row in rows]


def test_only_the_leader_fires_scheduled_jobs_and_the_follower_takes_over(pg_url: str,
                                                                         every_two_seconds: Engine) -> None:
    engine = every_two_seconds
    procs = [subprocess.Popen([sys.executable, "-c", SCHEDULER_REPLICA, pg_url], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
             for _ in range(2)]
    try:
        pids = [int(proc.stdout.readline()) for proc in procs]  # type: ignore[union-attr]
        wait_for(lambda: len(scheduled_runs(engine)) >= 3, what="three scheduled runs")
        leader_pid = scheduled_runs(engine)[0][1]
        assert leader_pid in pids
        follower_pid = pids[1 - pids.index(leader_pid)]
        leader = procs[pids.index(leader_pid)]
        stop_sent = datetime.now(UTC)
        leader.communicate("stop\n", timeout=60)
        assert leader.returncode == 0
        wait_for(lambda: sum(pid == follower_pid for _, pid, _ in scheduled_runs(engine)) >= 2,
                 what="the follower's scheduled runs")
        runs = scheduled_runs(engine)
        by = [pid for _, pid, _ in runs]
        switch = by.index(follower_pid)
        assert switch >= 3 and set(by[:switch]) == {leader_pid} and set(by[switch:]) == {follower_pid}
        assert runs[switch][2] >= stop_sent  # the follower fired nothing while the leader was up
        with engine.connect() as conn:
            holder = conn.execute(select(Lease.holder).where(Lease.name == "scheduler")).scalar_one()
            statuses = set(conn.execute(select(TaskRun.status).where(TaskRun.trigger == "schedule")).scalars())
        assert int(holder.split(":")[1]) == follower_pid
        assert "skipped" not in statuses  # one leader, so a job never finds another of its runs going
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.communicate("stop\n", timeout=60)
    assert all(proc.returncode == 0 for proc in procs)


# --- two processes firing the nightly pipeline at the same moment run it once -----------------------

REPLICA = textwrap.dedent("""
    import sys
    from miner.app import MinerApp
    from miner.config import Settings
    settings = Settings.load(env={"DATABASE_URL": sys.argv[1], "MINER_DEMO_TICKETS": "300"}, secrets_file=False)
    app = MinerApp(settings).start(scheduler=True)
    print("leader" if app.scheduler.is_leader else "follower", flush=True)
    sys.stdin.readline()  # both replicas fire the nightly job at the same moment
    outcome = app.worker.run_blocking("pipeline", {}, started_by="schedule", job_id="daily_sync")
    print("ran" if outcome else "skipped", flush=True)
    print(len(app.scheduler.job_status()), flush=True)
    app.stop()
""")


def test_two_replicas_firing_the_pipeline_at_once_run_it_once(pg_url: str) -> None:
    db.upgrade(db.make_engine(pg_url))  # migrate once, as a deployment would, before replicas start
    procs = [subprocess.Popen([sys.executable, "-c", REPLICA, pg_url], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
             for _ in range(2)]
    roles = [proc.stdout.readline().strip() for proc in procs]  # type: ignore[union-attr]
    assert sorted(roles) == ["follower", "leader"]
    for proc in procs:  # the start line: both are waiting for it, now both go
        proc.stdin.write("go\n")  # type: ignore[union-attr]
        proc.stdin.flush()  # type: ignore[union-attr]
    outputs = [proc.communicate(timeout=240) for proc in procs]
    assert all(p.returncode == 0 for p in procs), [err[-2000:] for _, err in outputs]
    lines = [out.split() for out, _ in outputs]
    assert sorted(line[0] for line in lines) == ["ran", "skipped"]
    assert [line[1] for line in lines] == [str(len(SCHEDULES))] * 2  # both show the same jobs

    engine = create_engine(pg_url)
    with engine.connect() as conn:
        runs = conn.execute(select(TaskRun.__table__).order_by(TaskRun.id)).all()
        leases = conn.execute(select(Lease.__table__)).all()
    ran = [r for r in runs if r.status == "succeeded"]
    skipped = [r for r in runs if r.status == "skipped"]
    assert len(ran) == 1 and len(skipped) == 1
    assert "already running" in skipped[0].error and skipped[0].job_id == "daily_sync"
    # the skip happened while the other pipeline was running, not after it
    assert ran[0].started_at <= skipped[0].started_at <= ran[0].finished_at
    assert all(lease.holder is None for lease in leases)  # both released on the way out
    engine.dispose()
