"""Executing one run: the run lease, a `task_runs` row, heartbeats with live progress, the outcome.

Every way of starting work (dashboard button, REST call, schedule, CLI) goes through `Runner.execute`,
so there is exactly one lock and one history for all of them.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import Engine

from miner.errors import MinerError, describe
from miner.progress import BY_REQUEST, LEASE_LOST, Cancelled, RunControl, StopSignal, TaskFn
from miner.runs import history
from miner.runs.lease import RUN_LEASE, LeaseLock, new_holder
from miner.vocabulary import RunKind, RunStatus, StartedBy

log = logging.getLogger(__name__)


class Busy(MinerError):
    """Another run holds the run lease."""

    def __init__(self, running: history.RunView | None) -> None:
        self.running = running
        if running is None:
            super().__init__("Another run is already running; try again when it has finished.")
        else:
            progress = f", {running.stage}" if running.stage else ""
            if running.total:
                progress += f" {running.done}/{running.total}"
            article = "An" if running.kind[:1] in "aeiou" else "A"
            super().__init__(
                f"{article} {running.kind} run (#{running.id}, started "
                f"{running.started_at:%Y-%m-%d %H:%M} UTC by {running.started_by}{progress}) is "
                "already running; try again when it has finished, or cancel it."
            )


class Claim(NamedTuple):
    """A run that has its `task_runs` row (and the run lease, when exclusive) but has not started."""

    lease: LeaseLock | None
    run_id: int


@dataclass(frozen=True)
class RunOutcome:
    run_id: int
    status: RunStatus
    result: dict[str, Any]
    error: str | None
    exc_type: type[BaseException] | None = None  # what ended a failed run (the CLI maps it to an exit code)


class Runner:
    """Runs task functions under the single run lease and records them in `task_runs`."""

    def __init__(self, engine: Engine, *, ttl: float = history.STALE_AFTER, beat_interval: float = 1.0) -> None:
        self.engine = engine
        self.ttl = ttl
        self.beat_interval = beat_interval

    def claim(
        self, kind: RunKind, started_by: StartedBy, params: dict[str, Any], *, job_id: str | None = None,
        exclusive: bool = True,
    ) -> Claim:
        """Take the run lease (if `exclusive`) and open a `running` row, or raise Busy."""
        history.recover_stale_runs(self.engine, stale_after=self.ttl)
        if not exclusive:  # read-mostly housekeeping (reports, cleanup) runs beside anything
            return Claim(None, history.start_run(self.engine, kind, started_by, params,
                                                 holder=new_holder(), job_id=job_id))
        lease = LeaseLock(self.engine, RUN_LEASE, ttl=self.ttl)
        if not lease.acquire():
            raise Busy(history.running_run(self.engine))
        try:
            run_id = history.start_run(self.engine, kind, started_by, params, holder=lease.holder,
                                       job_id=job_id)
            lease.renew(run_id)
        except BaseException:
            lease.release()
            raise
        return Claim(lease, run_id)

    def execute(
        self,
        kind: RunKind,
        fn: TaskFn,
        *,
        started_by: StartedBy,
        params: dict[str, Any] | None = None,
        job_id: str | None = None,
        control: RunControl | None = None,
        claimed: Claim | None = None,
        exclusive: bool = True,
    ) -> RunOutcome:
        """Run `fn(control, result)` to the end; never raises for a failure of `fn` itself."""
        params = params or {}
        lease, run_id = claimed or self.claim(kind, started_by, params, job_id=job_id,
                                              exclusive=exclusive)
        control = control or RunControl()
        control.run_id = run_id
        result: dict[str, Any] = {}
        stop = threading.Event()
        beat = threading.Thread(target=self._beat, args=(lease, run_id, control, stop),
                                name=f"run-{run_id}-heartbeat", daemon=True)
        beat.start()
        log.info("run %s started: %s (%s) %s", run_id, kind, started_by, params)
        status, error = RunStatus.SUCCEEDED, None
        exc_type: type[BaseException] | None = None
        try:
            fn(control, result)
        except Cancelled:
            reason = control.stop_reason or BY_REQUEST
            status, error = reason.status, reason.message
        except Exception as exc:  # the run fails, the worker/scheduler/CLI carries on
            status, error, exc_type = RunStatus.FAILED, describe(exc), type(exc)
            if isinstance(exc, MinerError):
                log.error("run %s (%s) failed: %s", run_id, kind, error)
            else:
                log.exception("run %s (%s) failed", run_id, kind)
        except BaseException as exc:  # a signal or interpreter shutdown: record, then let it through
            if isinstance(exc, StopSignal):
                status, error = exc.reason.status, exc.reason.message
            elif isinstance(exc, KeyboardInterrupt):
                status, error = RunStatus.CANCELLED, "Stopped by Ctrl+C; work committed so far is kept."
            else:
                status, error = RunStatus.INTERRUPTED, describe(exc)
            raise
        finally:
            stop.set()
            beat.join()
            cost = result.get("llm_cost_usd")
            try:
                history.finish_run(self.engine, run_id, status, result=result, error=error,
                                llm_cost_usd=float(cost) if cost is not None else None,
                                progress=control.progress)
            finally:
                if lease is not None:
                    lease.release()
        log.info("run %s %s: %s", run_id, status, error or history.summarise(result))
        return RunOutcome(run_id, status, result, error, exc_type)

    def _beat(self, lease: LeaseLock | None, run_id: int, control: RunControl, stop: threading.Event) -> None:
        renew_every = max(self.beat_interval, self.ttl / 6)
        since_renew = 0.0
        while not stop.wait(self.beat_interval):
            try:
                if history.heartbeat(self.engine, run_id, control.progress) and not control.cancelled:
                    log.info("run %s: cancel requested", run_id)
                    control.cancel()
                since_renew += self.beat_interval
                if lease is not None and since_renew >= renew_every:
                    since_renew = 0.0
                    if not lease.renew(run_id):
                        log.error("run %s lost its lease; cancelling it", run_id)
                        control.cancel(LEASE_LOST)
            except Exception:  # a missed heartbeat is retried on the next tick
                log.warning("heartbeat for run %s failed", run_id, exc_info=True)
