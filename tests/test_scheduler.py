"""The embedded scheduler: jobs, misfire/coalesce on a controlled clock, live schedule edits,
one leader among several schedulers."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest
import time_machine
from sqlalchemy import Engine

from miner.runs.scheduler import SCHEDULES, ScheduleError, SchedulerService

START = datetime(2026, 11, 28, 1, 0, tzinfo=UTC)


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, datetime]] = []
        self.event = threading.Event()

    def __call__(self, job, trigger: str) -> None:
        self.calls.append((job.id, trigger, datetime.now(UTC)))
        self.event.set()

    def ids(self) -> list[str]:
        return [c[0] for c in self.calls]


def settle(service: SchedulerService, recorder: Recorder, expect: int = 1) -> None:
    """Let the scheduler thread process jobs due at the (travelled) current time."""
    assert service.scheduler is not None
    service.scheduler.wakeup()
    deadline = time.monotonic() + 5
    while len(recorder.calls) < expect and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.2)


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture
def service(sqlite_engine: Engine, clock) -> SchedulerService:
    recorder = Recorder()
    svc = SchedulerService(sqlite_engine, timezone=UTC, run_job=recorder, refresh_seconds=3600)
    svc.recorder = recorder  # type: ignore[attr-defined]
    svc.start()
    yield svc
    svc.shutdown()


def test_five_jobs_with_next_run_times(service: SchedulerService) -> None:
    jobs = {j.id: j for j in service.job_status()}
    assert set(jobs) == {job.id for job in SCHEDULES}
    assert jobs["daily_sync"].name == "Daily Zendesk Sync"
    assert jobs["daily_sync"].next_run == "2026-11-28T02:00:00+00:00"
    assert jobs["weekly_report"].next_run == "2026-11-30T09:00:00+00:00"  # next Monday
    assert jobs["monthly_cleanup"].next_run == "2026-12-01T03:00:00+00:00"
    assert all(j.next_run for j in jobs.values())
    assert service.is_leader


def test_daily_job_runs_late_within_grace_time(service: SchedulerService, clock) -> None:
    recorder = service.recorder  # type: ignore[attr-defined]
    clock.move_to(datetime(2026, 11, 28, 2, 40, tzinfo=UTC))  # 40 min late (grace is 60)
    settle(service, recorder)
    assert recorder.ids().count("daily_sync") == 1
    assert recorder.calls[-1][1] == "schedule"


def test_daily_job_missed_beyond_grace_time_is_not_run(service: SchedulerService, clock) -> None:
    recorder = service.recorder  # type: ignore[attr-defined]
    clock.move_to(datetime(2026, 11, 28, 3, 30, tzinfo=UTC))  # 90 min late
    settle(service, recorder, expect=0)
    assert "daily_sync" not in recorder.ids()
    job = {j.id: j for j in service.job_status()}["daily_sync"]
    assert job.next_run == "2026-11-29T02:00:00+00:00"


def test_missed_hourly_runs_are_coalesced_into_one(service: SchedulerService, clock) -> None:
    recorder = service.recorder  # type: ignore[attr-defined]
    # hourly_trends is due every hour from 02:00; jump to 05:30 - four runs missed, one run made
    clock.move_to(datetime(2026, 11, 28, 5, 30, tzinfo=UTC))
    settle(service, recorder, expect=1)
    assert recorder.ids().count("hourly_trends") == 1


def test_schedule_edit_applies_without_restart(service: SchedulerService, clock) -> None:
    service.update_schedule("daily_sync", cron="30 1 * * *", by="alice")
    job = {j.id: j for j in service.job_status()}["daily_sync"]
    assert job.next_run == "2026-11-28T01:30:00+00:00"
    assert job.schedule == "cron 30 1 * * *"
    recorder = service.recorder  # type: ignore[attr-defined]
    clock.move_to(datetime(2026, 11, 28, 1, 31, tzinfo=UTC))
    settle(service, recorder)
    assert "daily_sync" in recorder.ids()


def test_pause_and_resume(service: SchedulerService, clock) -> None:
    service.pause("daily_sync")
    assert {j.id: j for j in service.job_status()}["daily_sync"].next_run is None
    recorder = service.recorder  # type: ignore[attr-defined]
    clock.move_to(datetime(2026, 11, 28, 2, 5, tzinfo=UTC))
    settle(service, recorder, expect=0)
    assert "daily_sync" not in recorder.ids()
    service.resume("daily_sync")
    assert {j.id: j for j in service.job_status()}["daily_sync"].next_run == "2026-11-29T02:00:00+00:00"


@pytest.mark.parametrize(
    ("changes", "message"),
    [({"cron": "61 2 * * *"}, "cron"), ({"cron": "0 2 * *"}, "5 fields"),
     ({"interval_seconds": 5}, "interval_seconds"), ({"job_id": "nope"}, "unknown job")],
)
def test_invalid_schedules_are_refused_with_the_field_named(service: SchedulerService, changes: dict,
                                                            message: str) -> None:
    job_id = changes.pop("job_id", "daily_sync")
    with pytest.raises(ScheduleError, match=message):
        service.update_schedule(job_id, **changes)
    assert {j.id: j for j in service.job_status()}["daily_sync"].schedule == "cron 0 2 * * *"


def test_an_edit_made_by_another_process_is_picked_up(service: SchedulerService, sqlite_engine: Engine) -> None:
    other = SchedulerService(sqlite_engine, timezone=UTC, run_job=Recorder())
    other.update_schedule("hourly_trends", interval_seconds=1800)  # stored, not started here
    service.refresh()
    job = {j.id: j for j in service.job_status()}["hourly_trends"]
    assert job.schedule == "every 30 min"
    assert job.next_run == "2026-11-28T01:30:00+00:00"


def test_only_the_leader_runs_jobs(sqlite_engine: Engine, clock) -> None:
    first, second = Recorder(), Recorder()
    a = SchedulerService(sqlite_engine, timezone=UTC, run_job=first, refresh_seconds=3600)
    b = SchedulerService(sqlite_engine, timezone=UTC, run_job=second, refresh_seconds=3600)
    a.start()
    b.start()
    try:
        assert a.is_leader and not b.is_leader
        # both show the same schedule
        assert [j.next_run for j in a.job_status()] == [j.next_run for j in b.job_status()]
        clock.move_to(datetime(2026, 11, 28, 2, 1, tzinfo=UTC))
        settle(a, first)
        settle(b, second, expect=0)
        assert "daily_sync" in first.ids()
        assert second.ids() == []
    finally:
        a.shutdown()
        b.shutdown()


def test_follower_takes_over_and_catches_up_a_job_due_while_no_leader(sqlite_engine: Engine, clock) -> None:
    leader_calls, follower_calls = Recorder(), Recorder()
    a = SchedulerService(sqlite_engine, timezone=UTC, run_job=leader_calls, leader_ttl=30, refresh_seconds=3600)
    b = SchedulerService(sqlite_engine, timezone=UTC, run_job=follower_calls, leader_ttl=30, refresh_seconds=3600)
    a.start()
    b.start()
    try:
        assert a.is_leader
        clock.move_to(datetime(2026, 11, 28, 1, 59, 50, tzinfo=UTC))
        a._maintain()  # the leader's last heartbeat...
        a.scheduler.shutdown(wait=False)  # ...then it dies without releasing its lease
        a.scheduler = None
        clock.move_to(datetime(2026, 11, 28, 2, 0, 10, tzinfo=UTC))  # daily_sync due, lease still valid
        settle(b, follower_calls, expect=0)
        assert "daily_sync" not in follower_calls.ids()
        clock.move_to(datetime(2026, 11, 28, 2, 5, tzinfo=UTC))  # the lease has expired
        b._maintain()
        deadline = time.monotonic() + 5
        while "daily_sync" not in follower_calls.ids() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert b.is_leader
        assert follower_calls.ids().count("daily_sync") == 1
    finally:
        b.shutdown()


def test_a_process_restarted_after_a_due_time_catches_the_job_up(sqlite_engine: Engine, clock) -> None:
    before, after = Recorder(), Recorder()
    first = SchedulerService(sqlite_engine, timezone=UTC, run_job=before, refresh_seconds=3600)
    first.start()  # 01:00: the schedules exist
    first.shutdown()
    clock.move_to(datetime(2026, 11, 28, 2, 30, tzinfo=UTC))  # down over 02:00, back within the grace time
    restarted = SchedulerService(sqlite_engine, timezone=UTC, run_job=after, refresh_seconds=3600)
    restarted.start()
    try:
        deadline = time.monotonic() + 5
        while "daily_sync" not in after.ids() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert after.ids() == ["daily_sync"]
    finally:
        restarted.shutdown()


def test_a_fresh_install_does_not_catch_up_a_night_it_never_had(sqlite_engine: Engine) -> None:
    calls = Recorder()
    with time_machine.travel(datetime(2026, 11, 28, 2, 30, tzinfo=UTC), tick=False):
        svc = SchedulerService(sqlite_engine, timezone=UTC, run_job=calls, refresh_seconds=3600)
        svc.start()  # 30 minutes after daily_sync's time, on an empty database
        try:
            svc._maintain()
            time.sleep(0.3)  # a catch-up would start its thread at once
            assert calls.ids() == []
        finally:
            svc.shutdown()
