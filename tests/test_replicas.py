"""Several processes on one PostgreSQL database (dashboard replicas): one leader, one run at a time."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from sqlalchemy import create_engine, select

from miner.models import Lease, TaskRun

REPO = Path(__file__).resolve().parents[1]

REPLICA = textwrap.dedent("""
    import sys, time
    from miner.app import MinerApp
    from miner.config import Settings
    settings = Settings.load(env={"DATABASE_URL": sys.argv[1], "MINER_DEMO_TICKETS": "300"}, secrets_file=False)
    app = MinerApp(settings).start(scheduler=True)
    print("leader" if app.scheduler.is_leader else "follower", flush=True)
    start_at = float(sys.argv[2])
    time.sleep(max(0.0, start_at - time.time()))  # both replicas fire the nightly job at the same moment
    outcome = app.worker.run_blocking("pipeline", {}, trigger="schedule", job_id="daily_sync")
    print("ran" if outcome else "skipped", flush=True)
    print(len(app.scheduler.job_status()), flush=True)
    app.stop()
""")


def test_two_replicas_one_leader_and_never_two_pipelines(pg_url: str) -> None:
    from miner import db

    db.upgrade(db.make_engine(pg_url))  # migrate once, as a deployment would, before replicas start
    start_at = time.time() + 8
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [subprocess.Popen([sys.executable, "-c", REPLICA, pg_url, str(start_at)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env) for _ in range(2)]
    outputs = [p.communicate(timeout=240) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err[-2000:] for _, err in outputs]
    lines = [out.split() for out, _ in outputs]
    assert sorted(line[0] for line in lines) == ["follower", "leader"]
    assert sorted(line[1] for line in lines) == ["ran", "skipped"]
    assert [line[2] for line in lines] == ["5", "5"]  # both show the same five jobs

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
