"""The worker: runs one task at a time in the background and reports its state.

State lives in the database (`task_runs` plus the run lease), so every thread, process and replica
sees the same status; the in-memory part is only the live `RunControl` of runs started here, which
gives this process fresher progress and an immediate cancel.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from miner.progress import BY_SHUTDOWN, RunContext, RunControl, TaskFn
from miner.runs import history, registry
from miner.runs.runner import Busy, Claim, Runner, RunOutcome
from miner.vocabulary import RunKind, RunStatus, StartedBy

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkerStatus:
    """What the worker is doing: the running run, else the last one that ended (`status` None: no run
    yet). The seed's REST answer is made from this in `miner.tasks.seed_worker_status`."""

    status: RunStatus | None = None
    is_running: bool = False
    run_id: int | None = None
    kind: RunKind | None = None
    started_by: StartedBy | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None  # of the last run that ended, while nothing runs
    stage: str | None = None
    done: int | None = None
    total: int | None = None
    message: str | None = None
    stage_seconds: float | None = None  # known for runs started in this process
    error: str | None = None  # of the run shown
    last_result: dict[str, Any] | None = None  # of the last run that ended
    last_error: str | None = None  # of the last run that ended, unless it succeeded
    cancel_requested: bool = False


class Worker:
    def __init__(self, ctx: RunContext, runner: Runner) -> None:
        self.ctx = ctx
        self.runner = runner
        self._active: dict[int, RunControl] = {}
        self._threads: dict[int, threading.Thread] = {}
        self._lock = threading.Lock()

    # --- starting work ------------------------------------------------------------------------
    def submit(self, kind: RunKind, params: Mapping[str, Any] | None = None, *, started_by: StartedBy,
               job_id: str | None = None) -> int:
        """Start a run in a background thread and return its id; raises Busy or BadParams."""
        spec = registry.spec(kind)
        clean = spec.validate(params)
        fn = spec.task(self.ctx, clean)
        claimed = self.runner.claim(spec.kind, started_by, clean, job_id=job_id, exclusive=spec.exclusive)
        control = RunControl()
        thread = threading.Thread(
            target=self._execute,
            args=(spec, fn, started_by, clean, control, claimed, job_id),
            name=f"worker-run-{claimed.run_id}", daemon=True,
        )
        with self._lock:
            self._active[claimed.run_id] = control
            self._threads[claimed.run_id] = thread
        thread.start()
        return claimed.run_id

    def run_blocking(
        self, kind: RunKind, params: Mapping[str, Any] | None = None, *, started_by: StartedBy,
        job_id: str | None = None,
    ) -> RunOutcome | None:
        """Run in the calling thread (scheduled jobs). When busy, record `skipped` and return None."""
        spec = registry.spec(kind)
        clean = spec.validate(params)
        try:
            claimed = self.runner.claim(spec.kind, started_by, clean, job_id=job_id, exclusive=spec.exclusive)
        except Busy as exc:
            history.record_skipped(self.runner.engine, spec.kind, started_by, clean, str(exc), job_id)
            log.info("%s (%s) skipped: %s", spec.kind, job_id or started_by, exc)
            return None
        control = RunControl()
        with self._lock:
            self._active[claimed.run_id] = control
        try:
            return self.runner.execute(spec.kind, spec.task(self.ctx, clean), started_by=started_by,
                                       params=clean, job_id=job_id, control=control,
                                       claimed=claimed, exclusive=spec.exclusive)
        finally:
            with self._lock:
                self._active.pop(claimed.run_id, None)

    def _execute(self, spec: registry.TaskSpec, fn: TaskFn, started_by: StartedBy, params: dict[str, Any],
                 control: RunControl, claimed: Claim, job_id: str | None) -> None:
        try:
            self.runner.execute(spec.kind, fn, started_by=started_by, params=params, control=control,
                                claimed=claimed, exclusive=spec.exclusive, job_id=job_id)
        except Exception:  # execute() records failures itself; this only guards the thread
            log.exception("worker thread for run %s crashed", claimed.run_id)
        finally:
            with self._lock:
                self._active.pop(claimed.run_id, None)
                self._threads.pop(claimed.run_id, None)

    # --- control ------------------------------------------------------------------------------
    def cancel(self, run_id: int | None = None) -> bool:
        """Cancel the running run (ours directly, another process's through the database)."""
        running = history.running_run(self.runner.engine)
        if running is None or (run_id is not None and running.id != run_id):
            return False
        with self._lock:
            control = self._active.get(running.id)
        history.request_cancel(self.runner.engine, running.id)
        if control is not None:
            control.cancel()
        return True

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for background runs started here to finish (tests, shutdown)."""
        with self._lock:
            threads = list(self._threads.values())
        for thread in threads:
            thread.join(timeout)
        return not any(t.is_alive() for t in threads)

    def shutdown(self, timeout: float = 10.0) -> None:
        """Stop runs started here (recorded as interrupted by shutdown, not as a user's cancel)."""
        with self._lock:
            controls = list(self._active.values())
        for control in controls:
            control.cancel(BY_SHUTDOWN)
        self.wait(timeout)

    # --- status -------------------------------------------------------------------------------
    def status(self) -> WorkerStatus:
        """The running run, else the last one that ended, with live progress for runs started here.

        `history.running_run` reconciles first, so a run whose process died reads as interrupted.
        """
        engine = self.runner.engine
        running = history.running_run(engine)
        last = history.last_finished(engine)
        current = running or last
        if current is None:
            return WorkerStatus()
        stage, done, total, message = current.stage, current.done, current.total, current.message
        stage_seconds = None
        if running is not None:
            with self._lock:
                control = self._active.get(running.id)
            if control is not None:  # fresher than the last heartbeat
                p = control.progress
                stage, done, total, message = p.stage or stage, p.done, p.total, p.message
                stage_seconds = round(time.monotonic() - p.stage_started, 1)
        return WorkerStatus(
            status=current.status,
            is_running=running is not None,
            run_id=current.id,
            kind=current.kind,
            started_by=current.started_by,
            started_at=current.started_at,
            finished_at=last.finished_at if last and not running else None,
            stage=stage,
            done=done,
            total=total,
            message=message,
            stage_seconds=stage_seconds,
            error=current.error,
            last_result=last.result if last else None,
            last_error=last.error if last and last.status is not RunStatus.SUCCEEDED else None,
            cancel_requested=bool(current.cancel_requested),
        )
