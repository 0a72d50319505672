"""The process-wide application object: settings, database, worker, scheduler, demo Zendesk.

Exactly one `MinerApp` is installed per process (the dashboard makes it through
`st.cache_resource`, the CLI's `scheduler` command and the seed API `miner.tasks.setup_scheduler()`
make it directly). Everything else reaches shared state through it; there are no other mutable
globals. It sits at the top of the import graph: it imports the run machinery (`miner.runs`), which
never imports it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from miner import db, health
from miner.access import LoginThrottle
from miner.alerts.settings import AlertSettings
from miner.config import Settings
from miner.progress import RunContext
from miner.runs import history
from miner.runs.runner import Runner
from miner.runs.scheduler import SCHEDULE_BY_ID, Duty, ScheduleDef, SchedulerService
from miner.runs.worker import Worker
from miner.vocabulary import RunKind, StartedBy

if TYPE_CHECKING:
    from miner.demo.server import DemoZendesk
    from miner.fixes.demo_tracker import DemoTracker
    from miner.fixes.trackers import Tracker

log = logging.getLogger(__name__)
ALERT_DELIVERY_SECONDS = 60.0  # how often the alert outbox is delivered (retries wait their own backoff)


class MinerApp:
    def __init__(self, settings: Settings, alerts: AlertSettings | None = None) -> None:
        self.settings = settings
        # alert channels are read with the other settings by from_environment; none unless given
        self.alerts = alerts or AlertSettings(timezone=settings.timezone, public_url=settings.public_url)
        self.engine = db.make_engine(settings.database_url)
        self.runner = Runner(self.engine)
        self.worker = Worker(RunContext(settings, self.engine, alerts=self.alerts), self.runner)
        self.scheduler = SchedulerService(self.engine, timezone=settings.tz, run_job=self._run_job,
                                          duties=[Duty("alert_delivery", ALERT_DELIVERY_SECONDS, self.deliver_alerts)])
        self.demo: DemoZendesk | None = None  # while in demo mode
        self.demo_tracker: DemoTracker | None = None  # demo mode's Jira, while in demo mode
        self.login_throttle = LoginThrottle()  # dashboard password attempts, across browser sessions
        self.started = False
        self._lock = threading.Lock()

    @classmethod
    def from_environment(cls) -> MinerApp:
        settings = Settings.load()
        return cls(settings, AlertSettings.load(timezone=settings.timezone, public_url=settings.public_url))

    # --- lifecycle ----------------------------------------------------------------------------
    def start(self, *, scheduler: bool | None = None) -> MinerApp:
        """Migrate, recover runs a dead process left `running`, start demo Zendesk and scheduler."""
        with self._lock:
            if not self.started:
                db.upgrade(self.engine)
                recovered = history.recover_stale_runs(self.engine, stale_after=self.runner.ttl)
                if recovered:
                    log.warning("marked %d stale run(s) as interrupted: %s", len(recovered), recovered)
                if self.settings.effective_source == "demo":
                    self._start_demo()
                self.started = True
            want_scheduler = self.settings.scheduler_enabled if scheduler is None else scheduler
            if want_scheduler:
                self.scheduler.start()
        return self

    def stop(self) -> None:
        with self._lock:
            self.scheduler.shutdown()
            self.worker.shutdown()
            self._stop_demo()
            self.engine.dispose()
            self.started = False

    def _start_demo(self) -> None:
        from miner.demo.anchor import demo_anchor
        from miner.demo.server import DemoZendesk
        from miner.fixes.demo import fixed_issue_tickets
        from miner.fixes.demo_tracker import DemoTracker

        anchor = demo_anchor(self.engine)
        self.demo = DemoZendesk(now=anchor, n_tickets=self.settings.demo_tickets).start()
        # the demo Jira's fix is dated like the dataset's fix: relative to the same anchor
        self.demo_tracker = DemoTracker(seed=True, now=anchor).start()
        self.worker.ctx = RunContext(self.settings, self.engine, demo_url=self.demo.url, alerts=self.alerts,
                                     demo_tracker_url=self.demo_tracker.url,
                                     demo_fixed_tickets=fixed_issue_tickets(self.demo.dataset))

    def _stop_demo(self) -> None:
        if self.demo is not None:
            self.demo.stop()
            self.demo = None
        if self.demo_tracker is not None:
            self.demo_tracker.stop()
            self.demo_tracker = None

    def reset_demo(self) -> None:
        """Demo mode only: wipe the data and serve a freshly generated dataset dated up to now."""
        from sqlalchemy import delete

        from miner.demo.anchor import demo_anchor
        from miner.models import Base
        from miner.runs.lease import RUN_LEASE, LeaseLock
        from miner.runs.runner import Busy

        if self.settings.effective_source != "demo":
            raise RuntimeError("reset_demo is only for demo mode")
        lease = LeaseLock(self.engine, RUN_LEASE)
        if not lease.acquire():
            raise Busy(history.running_run(self.engine))
        try:
            keep = {"leases", "schedules", "alembic_version"}
            with db.write_transaction(self.engine) as conn:
                for table in reversed(Base.metadata.sorted_tables):
                    if table.name not in keep:
                        conn.execute(delete(table))
            self._stop_demo()
            demo_anchor(self.engine, reset=True)
            self._start_demo()
            log.info("demo data reset")
        finally:
            lease.release()

    @property
    def context(self) -> RunContext:
        return self.worker.ctx

    def trackers(self) -> dict[str, Tracker]:
        """Clients for the configured trackers (in demo mode the demo Jira stands in for Jira); close them
        with `miner.fixes.service.close_trackers`."""
        from miner.fixes.service import make_trackers

        return make_trackers(self.settings.fixes, demo_jira_url=self.context.demo_tracker_url)

    # --- jobs ---------------------------------------------------------------------------------
    def deliver_alerts(self) -> None:
        """The alert outbox's due deliveries (a duty of every replica: claims keep them from doubling up)."""
        from miner.alerts import service

        try:
            service.deliver(self.engine, self.alerts)
        except Exception:  # the next tick tries again; what was claimed is retried when its claim expires
            log.exception("alert delivery failed")

    def _run_job(self, schedule: ScheduleDef, started_by: StartedBy) -> None:
        if schedule.kind is RunKind.HEALTH_CHECK:
            health.run_checks(self.settings, self.engine, self.context.demo_url, self.alerts)
        else:
            self.worker.run_blocking(schedule.kind, dict(schedule.params), started_by=started_by,
                                     job_id=schedule.id)

    def run_job_now(self, job_id: str, started_by: StartedBy = StartedBy.DASHBOARD) -> int | None:
        """'Run now' for a scheduled job: in the background; returns the run id (None for checks)."""
        schedule = SCHEDULE_BY_ID[job_id]
        if schedule.kind is RunKind.HEALTH_CHECK:
            health.run_checks(self.settings, self.engine, self.context.demo_url, self.alerts)
            return None
        return self.worker.submit(schedule.kind, dict(schedule.params), started_by=started_by,
                                  job_id=schedule.id)


# --- the one process-wide instance ----------------------------------------------------------------

_current: MinerApp | None = None
_current_lock = threading.Lock()


def current() -> MinerApp | None:
    return _current


def get_app(factory: Callable[[], MinerApp] | None = None) -> MinerApp:
    """The installed app, created (not started) on first use."""
    global _current
    with _current_lock:
        if _current is None:
            _current = (factory or MinerApp.from_environment)()
        return _current


def install(app: MinerApp) -> MinerApp:
    """Make `app` the process's app (embedding, tests); replaces nothing that is already installed."""
    global _current
    with _current_lock:
        if _current is not None and _current is not app:
            raise RuntimeError("another MinerApp is already installed; uninstall() it first")
        _current = app
    return app


def uninstall() -> None:
    global _current
    with _current_lock:
        app, _current = _current, None
    if app is not None:
        app.stop()
