"""The run lease and run history: one run at a time across threads and processes, nothing stuck."""

from __future__ import annotations

import builtins
import io
import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil
import pytest
from sqlalchemy import Engine, update

from miner.progress import Cancelled, RunControl
from miner.runs import history
from miner.runs.lease import HOST, LeaseLock, holder_is_dead, leases_t, new_holder, process_start_time
from miner.runs.runner import Busy, Runner


def test_only_one_holder_at_a_time(engine: Engine) -> None:
    first, second = LeaseLock(engine, "run"), LeaseLock(engine, "run")
    assert first.acquire()
    assert not second.acquire()
    first.release()
    assert second.acquire()


def test_concurrent_takers_get_exactly_one_winner(engine: Engine) -> None:
    locks = [LeaseLock(engine, "run") for _ in range(8)]
    wins: list[bool] = []
    barrier = threading.Barrier(len(locks))

    def take(lock: LeaseLock) -> None:
        barrier.wait()
        wins.append(lock.acquire())

    threads = [threading.Thread(target=take, args=(lock,)) for lock in locks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wins.count(True) == 1


def test_expired_lease_can_be_taken_over(engine: Engine) -> None:
    stale = LeaseLock(engine, "run", holder="otherhost:1:1:aaaa")
    assert stale.acquire()
    with engine.begin() as conn:
        conn.execute(update(leases_t).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    assert LeaseLock(engine, "run").acquire()
    assert not stale.renew()  # the old holder learns it lost the lease


def test_dead_process_on_this_host_is_recognised() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()

    assert holder_is_dead(f"{HOST}:{proc.pid}:?:x")
    assert not holder_is_dead(new_holder())
    assert not holder_is_dead("some-other-host:1:1:x")  # cannot tell: assume alive


@pytest.fixture
def no_proc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """This host as macOS sees it: no /proc (psutil looks in an empty folder, reads of /proc fail)."""
    empty = tmp_path / "no-proc"
    empty.mkdir()
    real_open = builtins.open

    def open_without_proc(file, *args, **kwargs):  # type: ignore[no-untyped-def]
        if str(file).startswith("/proc"):
            raise FileNotFoundError(2, "No such file or directory", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(psutil, "PROCFS_PATH", str(empty))
    monkeypatch.setattr(builtins, "open", open_without_proc)
    monkeypatch.setattr(io, "open", open_without_proc)
    yield


def test_without_proc_live_holders_stay_alive_and_a_dead_child_is_dead(no_proc: None) -> None:
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    try:
        assert not holder_is_dead(new_holder())  # this process, holder written without /proc
        assert not holder_is_dead(f"{HOST}:{os.getpid()}:12345.67:x")  # a start time it cannot check
        assert not holder_is_dead(f"{HOST}:{child.pid}:?:x")  # a live child
        assert holder_is_dead(f"{HOST}:{gone.pid}:?:x")  # a child that has exited
    finally:
        child.communicate(b"")


def test_a_reused_pid_is_recognised_by_its_start_time() -> None:
    started = process_start_time(os.getpid())
    assert started is not None
    assert not holder_is_dead(f"{HOST}:{os.getpid()}:{started:.2f}:x")
    assert holder_is_dead(f"{HOST}:{os.getpid()}:{started - 500:.2f}:x")  # same pid, another process


def test_a_lease_held_by_a_live_process_is_not_taken_without_proc(engine: Engine, no_proc: None) -> None:
    holder = LeaseLock(engine, "run")
    assert holder.acquire()
    assert not LeaseLock(engine, "run").acquire()  # macOS took it: two runs at once


def test_runner_records_success_failure_and_cancel(engine: Engine) -> None:
    runner = Runner(engine, beat_interval=0.05)

    def ok(control: RunControl, result: dict) -> None:
        control.stage("Working", total=2)
        control.advance(2)
        result["figures"] = {"done": 2}

    def broken(control: RunControl, result: dict) -> None:
        result["partial"] = 1
        raise ValueError("boom")

    def cancelled(control: RunControl, result: dict) -> None:
        control.cancel()
        control.check()

    outcomes = [runner.execute("sync", fn, started_by="cli") for fn in (ok, broken, cancelled)]
    assert [o.status for o in outcomes] == ["succeeded", "failed", "cancelled"]
    recorded = {r.id: r for r in history.recent_runs(engine)}
    assert recorded[outcomes[0].run_id].result == {"figures": {"done": 2}}
    assert recorded[outcomes[0].run_id].done == 2
    assert recorded[outcomes[1].run_id].error == "ValueError: boom"
    assert recorded[outcomes[1].run_id].result == {"partial": 1}
    assert history.running_run(engine) is None
    assert LeaseLock(engine, "run").acquire()  # every outcome released the lease


def test_second_run_is_refused_while_one_runs(engine: Engine) -> None:
    runner = Runner(engine, beat_interval=0.05)
    started, release = threading.Event(), threading.Event()

    def slow(control: RunControl, result: dict) -> None:
        started.set()
        release.wait(10)

    thread = threading.Thread(target=runner.execute, args=("pipeline", slow), kwargs={"started_by": "api"})
    thread.start()
    assert started.wait(10)
    with pytest.raises(Busy, match=r"pipeline run .* is already running"):
        runner.execute("sync", lambda c, r: None, started_by="dashboard")
    release.set()
    thread.join()


def test_cancel_request_reaches_a_run_through_the_database(engine: Engine) -> None:
    runner = Runner(engine, beat_interval=0.05)
    started = threading.Event()

    def loop(control: RunControl, result: dict) -> None:
        started.set()
        while True:
            control.sleep(0.05)

    holder: list = []
    thread = threading.Thread(target=lambda: holder.append(runner.execute("sync", loop, started_by="api")))
    thread.start()
    assert started.wait(10)
    running = history.running_run(engine)
    assert running is not None and history.request_cancel(engine, running.id)
    thread.join(10)
    assert holder[0].status == "cancelled"


KILLED_RUN = textwrap.dedent("""
    import os, sys, time
    from miner import db
    from miner.runs.runner import Runner
    engine = db.make_script_engine(sys.argv[1])
    def work(control, result):
        print("started", flush=True)
        time.sleep(60)
    Runner(engine, beat_interval=0.2).execute("pipeline", work, started_by="cli")
""")


def test_sigkilled_run_becomes_interrupted_and_a_new_run_can_start(engine: Engine, database_url: str) -> None:
    proc = subprocess.Popen([sys.executable, "-c", KILLED_RUN, database_url], stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "started"
    proc.kill()
    proc.wait()
    (stuck,) = history.recent_runs(engine, status="running")  # the process died without a word
    outcome = Runner(engine).execute("sync", lambda c, r: None, started_by="cli")
    assert outcome.status == "succeeded"
    assert history.get_run(engine, stuck.id).status == "interrupted"


def test_stale_heartbeat_from_another_host_is_interrupted(engine: Engine) -> None:
    run_id = history.start_run(engine, "sync", "schedule", {}, holder="far-away:1:1:x")
    with engine.begin() as conn:
        conn.execute(update(history.runs_t).values(heartbeat_at=datetime.now(UTC) - timedelta(minutes=5)))
    assert history.recover_stale_runs(engine, stale_after=60) == [run_id]
    assert history.get_run(engine, run_id).status == "interrupted"


def test_cancelled_raises_inside_sleep() -> None:
    control = RunControl()
    threading.Timer(0.05, control.cancel).start()
    with pytest.raises(Cancelled):
        control.sleep(5)
