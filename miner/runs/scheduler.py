"""The embedded scheduler: one APScheduler BackgroundScheduler per process, schedules in the database.

- Schedules live in table `schedules`; edits (trigger, pause/resume) apply at once in this process
  and within `refresh_seconds` in every other process, without a restart.
- With several processes (dashboard replicas on PostgreSQL) every one computes the same next run
  times, but only the holder of the `scheduler` lease runs jobs. A process that becomes leader runs a
  job that came due within its misfire grace time while there was no leader (never one due before
  its schedule existed: a fresh install does not "catch up" a night it never had).
- Every job that changes data goes through the worker, so a job that finds a run in progress is
  recorded as `skipped` with the reason instead of racing it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine, select, update

from miner import db, health
from miner.errors import MinerError
from miner.models import Schedule, schedules_t
from miner.runs import history
from miner.runs.lease import LeaseLock
from miner.vocabulary import RunKind, RunStatus, ScheduleTrigger, StartedBy

log = logging.getLogger(__name__)

MISFIRE_GRACE = 3600
MIN_INTERVAL_SECONDS = 60  # the shortest interval schedule accepted (tests of several processes lower it)
MAX_INTERVAL_SECONDS = 31 * 86400
LEADER_LEASE = "scheduler"


@dataclass(frozen=True)
class ScheduleDef:
    """A schedule as shipped: which run kind fires when. Its id is the APScheduler job id (the seed's)
    and the key of its row in `schedules`, where operators change the trigger at run time."""

    id: str
    name: str
    kind: RunKind
    trigger: ScheduleTrigger
    cron: str | None = None  # crontab: "minute hour day month day_of_week"
    interval_seconds: int | None = None
    params: tuple[tuple[str, Any], ...] = ()


SCHEDULES: tuple[ScheduleDef, ...] = (
    ScheduleDef("daily_sync", "Daily Zendesk Sync", RunKind.PIPELINE, ScheduleTrigger.CRON, cron="0 2 * * *"),  # every waiting ticket
    ScheduleDef("hourly_trends", "Hourly Trends Update", RunKind.TRENDS, ScheduleTrigger.INTERVAL, interval_seconds=3600),
    ScheduleDef("health_check", "Health Check", RunKind.HEALTH_CHECK, ScheduleTrigger.INTERVAL, interval_seconds=300),
    ScheduleDef("weekly_report", "Weekly Report", RunKind.WEEKLY_REPORT, ScheduleTrigger.CRON, cron="0 9 * * mon"),
    ScheduleDef("monthly_cleanup", "Monthly Cleanup", RunKind.MONTHLY_CLEANUP, ScheduleTrigger.CRON, cron="0 3 1 * *"),
    ScheduleDef("hourly_fix_links", "Hourly Fix Link Refresh", RunKind.REFRESH_LINKS, ScheduleTrigger.INTERVAL,
                interval_seconds=3600),
)
SCHEDULE_BY_ID = {schedule.id: schedule for schedule in SCHEDULES}


@dataclass(frozen=True)
class Duty:
    """Background work every replica does on a fixed interval, beside the schedules (not one of them: it
    is not shown, edited or paused, records no runs, and needs no leader, being safe to run anywhere at
    once), e.g. delivering the alert outbox."""

    id: str
    every_seconds: float
    run: Callable[[], None]


class ScheduleError(MinerError):
    pass


def make_trigger(trigger: str, cron: str | None, interval_seconds: int | None, tz: tzinfo) -> BaseTrigger:
    """Build (and so validate) a trigger; raises ScheduleError with a readable message."""
    if trigger == ScheduleTrigger.CRON:
        if not cron or len(cron.split()) != 5:
            raise ScheduleError(
                f"cron: expected 5 fields 'minute hour day month day_of_week', got {cron!r}"
            )
        try:
            return CronTrigger.from_crontab(cron, timezone=tz)
        except ValueError as exc:
            raise ScheduleError(f"cron: {exc} (in {cron!r})") from None
    if trigger == ScheduleTrigger.INTERVAL:
        if interval_seconds is None or not MIN_INTERVAL_SECONDS <= interval_seconds <= MAX_INTERVAL_SECONDS:
            raise ScheduleError(
                f"interval_seconds: must be between {MIN_INTERVAL_SECONDS} and {MAX_INTERVAL_SECONDS}, "
                f"got {interval_seconds}"
            )
        return IntervalTrigger(seconds=interval_seconds, timezone=tz)
    raise ScheduleError(f"trigger: expected 'cron' or 'interval', got {trigger!r}")


def describe_trigger(row: Schedule | ScheduleDef) -> str:
    if row.trigger == ScheduleTrigger.CRON:
        return f"cron {row.cron}"
    seconds = row.interval_seconds or 0
    if seconds % 3600 == 0:
        return f"every {seconds // 3600} h"
    if seconds % 60 == 0:
        return f"every {seconds // 60} min"
    return f"every {seconds} s"


class SchedulerService:
    """Owns the process's BackgroundScheduler and its leader lease."""

    def __init__(
        self,
        engine: Engine,
        *,
        timezone: tzinfo,
        run_job: Callable[[ScheduleDef, StartedBy], None],
        leader_ttl: float = 30.0,
        refresh_seconds: float = 10.0,
        duties: Sequence[Duty] = (),
    ) -> None:
        self.engine = engine
        self.tz = timezone
        self.run_job = run_job  # (schedule, started_by) -> None; does the work (through the worker)
        self.refresh_seconds = refresh_seconds
        self.leader = LeaseLock(engine, LEADER_LEASE, ttl=leader_ttl)
        self._is_leader = False
        self._applied: dict[str, tuple[str, bool]] = {}
        self._lock = threading.RLock()
        self.scheduler: BackgroundScheduler | None = None
        self.duties = tuple(duties)

    # --- lifecycle ----------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.scheduler is not None and self.scheduler.running

    def start(self) -> None:
        with self._lock:
            if self.running:
                return
            ensure_default_schedules(self.engine)
            self.scheduler = BackgroundScheduler(
                timezone=self.tz,
                job_defaults={"misfire_grace_time": MISFIRE_GRACE, "coalesce": True,
                              "max_instances": 1},
            )
            self.scheduler.add_listener(self._on_event, EVENT_JOB_ERROR | EVENT_JOB_MISSED)
            self._applied.clear()
            self.refresh()
            self.scheduler.add_job(self._maintain, IntervalTrigger(seconds=self.refresh_seconds),
                                   id="_maintenance", name="Scheduler maintenance",
                                   misfire_grace_time=None)
            for duty in self.duties:
                self.scheduler.add_job(duty.run, IntervalTrigger(seconds=duty.every_seconds), id=f"_{duty.id}",
                                       name=duty.id, misfire_grace_time=None)
            self.scheduler.start()
            self._maintain()
            log.info("scheduler started (%s jobs, leader=%s)", len(SCHEDULES), self._is_leader)

    def shutdown(self, wait: bool = False) -> None:
        with self._lock:
            if self.scheduler is not None and self.scheduler.running:
                self.scheduler.shutdown(wait=wait)
            self.scheduler = None
            if self._is_leader:
                self.leader.release()
                self._is_leader = False

    # --- leadership ---------------------------------------------------------------------------
    @property
    def is_leader(self) -> bool:
        return self._is_leader

    def _maintain(self, firing: str | None = None) -> None:
        """Keep (or take) the leader lease and pick up schedule edits made elsewhere."""
        try:
            if self._is_leader:
                self._is_leader = self.leader.renew()
                if not self._is_leader:
                    log.warning("lost the scheduler leader lease")
            elif self.leader.acquire():
                self._is_leader = True
                log.info("this process now runs scheduled jobs (leader %s)", self.leader.holder)
                self._catch_up(skip=firing)
            self.refresh()
        except Exception:  # the next tick tries again; the scheduler itself keeps running
            log.exception("scheduler maintenance failed")

    def _catch_up(self, skip: str | None = None) -> None:
        """Run a cron job that came due within its grace time while no process was leader."""
        now = datetime.now(self.tz)
        for row in load_schedules(self.engine):
            job = SCHEDULE_BY_ID.get(row.job_id)
            if job is None or job.id == skip or row.paused or row.trigger != ScheduleTrigger.CRON:
                continue
            pending = self.scheduler.get_job(job.id) if self.scheduler is not None else None
            if pending is not None and pending.next_run_time is not None and pending.next_run_time <= now:
                continue  # APScheduler is about to fire it here anyway
            trigger = make_trigger(row.trigger, row.cron, row.interval_seconds, self.tz)
            due = trigger.get_next_fire_time(None, now - timedelta(seconds=MISFIRE_GRACE))
            if due is None or due > now:
                continue
            if row.updated_at > due:
                continue  # the schedule was created or changed after that time: nothing was missed
            recent = history.recent_runs(self.engine, limit=1, job_id=job.id)
            if recent and recent[0].started_at >= due.astimezone(UTC):
                continue
            log.info("catching up %s, due %s while no process was running jobs", job.id, due)
            threading.Thread(target=self._fire, args=(job.id,), daemon=True).start()

    # --- jobs ---------------------------------------------------------------------------------
    def _fire(self, job_id: str) -> None:
        if not self._is_leader:
            self._maintain(firing=job_id)
            if not self._is_leader:
                log.debug("%s due, but another process is the leader", job_id)
                return
        try:
            self.run_job(SCHEDULE_BY_ID[job_id], StartedBy.SCHEDULE)
        except Exception:  # logged; a failing job never stops the scheduler
            log.exception("scheduled job %s failed", job_id)

    def _on_event(self, event: JobExecutionEvent) -> None:
        if event.code == EVENT_JOB_MISSED:
            log.warning("scheduled job %s missed its %s run (past the grace time)", event.job_id,
                        event.scheduled_run_time)
        elif event.exception is not None:
            log.error("scheduled job %s raised %s", event.job_id, event.exception)

    def refresh(self) -> None:
        """Apply the schedules table to the APScheduler jobs (only what changed)."""
        with self._lock:
            if self.scheduler is None:
                return
            for row in load_schedules(self.engine):
                job = SCHEDULE_BY_ID.get(row.job_id)
                if job is None:
                    continue
                signature = (describe_trigger(row), row.paused)
                if self._applied.get(job.id) == signature:
                    continue
                try:
                    trigger = make_trigger(row.trigger, row.cron, row.interval_seconds, self.tz)
                except ScheduleError as exc:
                    log.error("schedule for %s is invalid (%s); keeping the previous one", job.id, exc)
                    continue
                if self.scheduler.get_job(job.id) is None:
                    self.scheduler.add_job(self._fire, trigger, args=[job.id], id=job.id,
                                           name=job.name, replace_existing=True)
                else:
                    self.scheduler.reschedule_job(job.id, trigger=trigger)
                if row.paused:
                    self.scheduler.pause_job(job.id)
                elif self._applied.get(job.id, ("", False))[1]:
                    self.scheduler.resume_job(job.id)
                self._applied[job.id] = signature

    # --- operator actions ---------------------------------------------------------------------
    def update_schedule(
        self, job_id: str, *, cron: str | None = None, interval_seconds: int | None = None,
        paused: bool | None = None, by: str | None = None,
    ) -> None:
        """Change a job's trigger and/or pause state; validated, stored, applied immediately."""
        if job_id not in SCHEDULE_BY_ID:
            raise ScheduleError(f"job_id: unknown job {job_id!r}")
        ensure_default_schedules(self.engine)  # also when this process does not run the scheduler
        current = {row.job_id: row for row in load_schedules(self.engine)}[job_id]
        values: dict[str, Any] = {"updated_at": datetime.now(UTC), "updated_by": by}
        if cron is not None:
            make_trigger(ScheduleTrigger.CRON, cron, None, self.tz)
            values.update(trigger=ScheduleTrigger.CRON, cron=" ".join(cron.split()), interval_seconds=None)
        elif interval_seconds is not None:
            make_trigger(ScheduleTrigger.INTERVAL, None, interval_seconds, self.tz)
            values.update(trigger=ScheduleTrigger.INTERVAL, interval_seconds=interval_seconds, cron=None)
        if paused is not None:
            values["paused"] = paused
        with db.write_transaction(self.engine) as conn:
            conn.execute(update(schedules_t).where(schedules_t.c.job_id == current.job_id)
                         .values(**values))
        log.info("schedule %s changed by %s: %s", job_id, by or "unknown",
                 {k: v for k, v in values.items() if k not in ("updated_at", "updated_by")})
        self.refresh()

    def pause(self, job_id: str, by: str | None = None) -> None:
        self.update_schedule(job_id, paused=True, by=by)

    def resume(self, job_id: str, by: str | None = None) -> None:
        self.update_schedule(job_id, paused=False, by=by)

    def job_status(self) -> list[JobStatus]:
        """Every scheduled job: the seed's fields (id, name, next_run, trigger) plus its schedule, pause state
        and last run."""
        rows = {row.job_id: row for row in load_schedules(self.engine)}
        out = []
        for job in SCHEDULES:
            row = rows.get(job.id)
            ap_job = self.scheduler.get_job(job.id) if self.scheduler is not None else None
            next_run = ap_job.next_run_time if ap_job is not None else None
            if next_run is None and row is not None and not row.paused:
                trigger = make_trigger(row.trigger, row.cron, row.interval_seconds, self.tz)
                next_run = trigger.get_next_fire_time(None, datetime.now(self.tz))
            last = history.recent_runs(self.engine, limit=1, job_id=job.id)
            last_run = last[0].as_dict() if last else None
            if job.kind is RunKind.HEALTH_CHECK:  # checks run every few minutes and keep no run rows: their results
                last_run = _last_checks(self.engine)
            out.append(JobStatus(
                id=job.id,
                name=job.name,
                next_run=next_run.isoformat() if next_run and not (row and row.paused) else None,
                trigger=str(ap_job.trigger) if ap_job is not None else describe_trigger(row or job),
                schedule=describe_trigger(row or job),
                cron=row.cron if row else job.cron,
                interval_seconds=row.interval_seconds if row else job.interval_seconds,
                paused=bool(row and row.paused),
                kind=job.kind,
                last_run=last_run,
            ))
        return out


@dataclass(frozen=True)
class JobStatus:
    """A scheduled job as the dashboard, the CLI and `GET /api/scheduler/status` show it."""

    id: str
    name: str
    next_run: str | None  # ISO 8601 with its offset; None while paused
    trigger: str  # APScheduler's description, as the seed showed it: cron[hour='2', minute='0']
    schedule: str  # ours: "cron 0 2 * * *", "every 30 min"
    cron: str | None
    interval_seconds: int | None
    paused: bool
    kind: RunKind
    last_run: dict[str, Any] | None  # the last run as the API shows it (status, started_at, ...), if any

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _last_checks(engine: Engine) -> dict[str, Any] | None:
    """The health checks' latest round, shaped like a run: "succeeded" when every check passed."""
    checks = health.latest(engine)
    if not checks:
        return None
    when = max(c.checked_at for c in checks)
    failed = [c.component for c in checks if not c.ok]
    return {"status": RunStatus.FAILED if failed else RunStatus.SUCCEEDED, "started_at": when.isoformat(),
            "finished_at": when.isoformat(), "error": f"failed: {', '.join(failed)}" if failed else None}


def ensure_default_schedules(engine: Engine) -> None:
    rows = [
        {"job_id": j.id, "trigger": j.trigger, "cron": j.cron, "interval_seconds": j.interval_seconds,
         "paused": False, "updated_at": datetime.now(UTC), "updated_by": "default"}
        for j in SCHEDULES
    ]
    with db.write_transaction(engine) as conn:
        db.upsert(conn, schedules_t, rows, key=["job_id"])


def load_schedules(engine: Engine) -> list[Schedule]:
    with engine.connect() as conn:
        return [Schedule(**row._mapping) for row in conn.execute(select(schedules_t))]
