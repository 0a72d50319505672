"""The worker: runs one task at a time in the background and reports its state.

State lives in the database (`task_runs` plus the run lease), so every thread, process and replica
sees the same status; the in-memory part is only the live `RunControl` of runs started here, which
gives this process fresher progress and an immediate cancel.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from miner.progress import BY_SHUTDOWN, RunControl
from miner.tasks import jobs, runs
from miner.tasks.runner import Busy, Runner, RunOutcome

log = logging.getLogger(__name__)

SEED_STATUS = {  # task_runs.status -> the seed's worker `status` words
    "running": "running",
    "succeeded": "completed",
    "failed": "failed",
    "cancelled": "cancelled",
    "interrupted": "interrupted",
}


class Worker:
    def __init__(self, ctx: Any, runner: Runner) -> None:
        self.ctx = ctx  # pipeline.Context
        self.runner = runner
        self._active: dict[int, RunControl] = {}
        self._threads: dict[int, threading.Thread] = {}
        self._lock = threading.Lock()

    # --- starting work ------------------------------------------------------------------------
    def submit(self, kind: str, params: dict[str, Any] | None = None, *, trigger: str,
               job_id: str | None = None) -> int:
        """Start a run in a background thread and return its id; raises Busy or BadParams."""
        spec = jobs.spec(kind)
        parsed = jobs.validate_params(kind, params)
        fn = spec.factory(self.ctx, parsed)
        clean = parsed.model_dump()
        claimed = self.runner.claim(kind, trigger, clean, job_id=job_id, exclusive=spec.exclusive)
        run_id = claimed[1]
        control = RunControl()
        thread = threading.Thread(
            target=self._execute,
            args=(kind, fn, trigger, clean, control, claimed, spec.exclusive, job_id),
            name=f"worker-run-{run_id}", daemon=True,
        )
        with self._lock:
            self._active[run_id] = control
            self._threads[run_id] = thread
        thread.start()
        return run_id

    def run_blocking(
        self, kind: str, params: dict[str, Any] | None = None, *, trigger: str,
        job_id: str | None = None,
    ) -> RunOutcome | None:
        """Run in the calling thread (scheduled jobs). When busy, record `skipped` and return None."""
        spec = jobs.spec(kind)
        parsed = jobs.validate_params(kind, params)
        clean = parsed.model_dump()
        try:
            claimed = self.runner.claim(kind, trigger, clean, job_id=job_id, exclusive=spec.exclusive)
        except Busy as exc:
            runs.record_skipped(self.runner.engine, kind, trigger, clean, str(exc), job_id)
            log.info("%s (%s) skipped: %s", kind, job_id or trigger, exc)
            return None
        control = RunControl()
        with self._lock:
            self._active[claimed[1]] = control
        try:
            return self.runner.execute(kind, spec.factory(self.ctx, parsed), trigger=trigger,
                                       params=clean, job_id=job_id, control=control,
                                       claimed=claimed, exclusive=spec.exclusive)
        finally:
            with self._lock:
                self._active.pop(claimed[1], None)

    def _execute(self, kind: str, fn: Any, trigger: str, params: dict[str, Any],
                 control: RunControl, claimed: Any, exclusive: bool, job_id: str | None) -> None:
        run_id = claimed[1]
        try:
            self.runner.execute(kind, fn, trigger=trigger, params=params, control=control,
                                claimed=claimed, exclusive=exclusive, job_id=job_id)
        except Exception:  # execute() records failures itself; this only guards the thread
            log.exception("worker thread for run %s crashed", run_id)
        finally:
            with self._lock:
                self._active.pop(run_id, None)
                self._threads.pop(run_id, None)

    # --- control ------------------------------------------------------------------------------
    def cancel(self, run_id: int | None = None) -> bool:
        """Cancel the running run (ours directly, another process's through the database)."""
        running = runs.running_run(self.runner.engine)
        if running is None or (run_id is not None and running.id != run_id):
            return False
        with self._lock:
            control = self._active.get(running.id)
        runs.request_cancel(self.runner.engine, running.id)
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
    def status(self) -> dict[str, Any]:
        """The seed's worker status fields, plus run_id/stage/done/total for a real progress bar.

        `runs.running_run` reconciles first, so a run whose process died reads as interrupted.
        """
        engine = self.runner.engine
        running = runs.running_run(engine)
        last = runs.last_finished(engine)
        current = running or last
        if current is None:
            return {
                "status": "idle", "progress": "No runs yet", "is_running": False,
                "started_at": None, "completed_at": None, "last_result": None, "last_error": None,
                "run_id": None, "kind": None, "trigger": None, "stage": None, "done": None,
                "total": None, "message": None, "stage_seconds": None, "cancel_requested": False,
            }
        stage, done, total, message = current.stage, current.done, current.total, current.message
        stage_seconds = None
        if running is not None:
            with self._lock:
                control = self._active.get(running.id)
            if control is not None:  # fresher than the last heartbeat
                p = control.progress
                stage, done, total, message = p.stage or stage, p.done, p.total, p.message
                stage_seconds = round(time.monotonic() - p.stage_started, 1)
        return {
            "status": SEED_STATUS.get(current.status, current.status),
            "progress": progress_text(current.kind, current.status, stage, done, total, message,
                                      current.error),
            "is_running": running is not None,
            "started_at": current.started_at.isoformat(),
            "completed_at": last.finished_at.isoformat() if last and last.finished_at and not running else None,
            "last_result": last.result if last else None,
            "last_error": last.error if last and last.status != "succeeded" else None,
            "run_id": current.id,
            "kind": current.kind,
            "trigger": current.trigger,
            "stage": stage,
            "done": done,
            "total": total,
            "message": message,
            "stage_seconds": stage_seconds,
            "cancel_requested": bool(current.cancel_requested),
        }


def progress_text(kind: str, status: str, stage: str | None, done: int | None,
                  total: int | None, message: str | None, error: str | None) -> str:
    if status == "running":
        count = f" ({done:,}/{total:,})" if total else (f" ({done:,})" if done else "")
        return f"{stage or kind}{count}..."
    if status == "succeeded":
        return f"{kind} completed"
    return f"{kind} {status}: {error or ''}".strip()
