"""What a run hands its work: the run's context, progress reporting and cooperative cancellation.

A task function (`TaskFn`, built by `miner.pipeline` from a `RunContext`) is called with a
`RunControl` (the cancel token and progress reporter) and a result dict. The control is handed down
into sync, analysis and clustering: they report `stage`/`done`/`total` through it and call `check()`
between units of work; waits go through `sleep()` so that a cancel interrupts a long Retry-After
immediately.

This module sits low: the work (`pipeline`, sync, analysis, ...) and the machinery that runs it
(`miner.runs`) both import it, and it imports neither.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import Engine

from miner.alerts.settings import AlertSettings
from miner.config import Settings
from miner.vocabulary import RunStatus


@dataclass(frozen=True)
class RunContext:
    """What a task needs from its surroundings."""

    settings: Settings
    engine: Engine
    demo_url: str | None = None  # a demo Zendesk that is already running (the dashboard's)
    alerts: AlertSettings = field(default_factory=AlertSettings)  # where the rules' alerts go (none: not evaluated)
    demo_tracker_url: str | None = None  # the demo Jira that is running (demo mode: the trackers' stand-in)
    demo_fixed_tickets: frozenset[int] = frozenset()  # demo tickets about the problem fixed mid-period


class Cancelled(Exception):
    """The run was cancelled; everything committed before this point is kept and consistent."""


@dataclass(frozen=True)
class StopReason:
    """Why a run was asked to stop: the status it ends with and the message recorded for it."""

    status: RunStatus  # CANCELLED (someone chose to stop it) or INTERRUPTED (it was stopped from outside)
    message: str


BY_REQUEST = StopReason(RunStatus.CANCELLED, "Cancelled by request; work committed so far is kept.")
BY_SHUTDOWN = StopReason(RunStatus.INTERRUPTED, "Interrupted by shutdown; work committed so far is kept.")
LEASE_LOST = StopReason(
    RunStatus.INTERRUPTED,
    "Interrupted: this run lost the run lease (its heartbeat did not reach the database in time); "
    "work committed so far is kept.",
)


class StopSignal(BaseException):
    """SIGINT or SIGTERM arrived (raised in the CLI's main thread, like KeyboardInterrupt)."""

    def __init__(self, signal_name: str, exit_code: int) -> None:
        super().__init__(signal_name)
        self.signal_name = signal_name
        self.exit_code = exit_code  # 128 + the signal number, as shells report it
        self.reason = StopReason(RunStatus.CANCELLED, f"Stopped by {signal_name}; work committed so far is kept.")


@dataclass(frozen=True)
class Progress:
    stage: str = ""
    done: int = 0
    total: int | None = None
    message: str = ""
    stage_started: float = field(default_factory=time.monotonic)


ProgressCallback = Callable[[Progress], None]


class RunControl:
    """Handed to long-running work: report progress, honour cancellation, sleep cancellably."""

    def __init__(
        self,
        on_progress: ProgressCallback | None = None,
        cancel_event: threading.Event | None = None,
    ) -> None:
        self._on_progress = on_progress
        self._cancel = cancel_event or threading.Event()
        self.run_id: int | None = None  # set by the runner, so work can tag what it writes
        self._progress = Progress()
        self._lock = threading.Lock()
        self._stop_reason: StopReason | None = None

    # --- cancellation -------------------------------------------------------------------------
    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    @property
    def stop_reason(self) -> StopReason | None:
        """Why the run was asked to stop (the first reason given), or None."""
        return self._stop_reason

    def cancel(self, reason: StopReason = BY_REQUEST) -> None:
        with self._lock:
            if self._stop_reason is None:
                self._stop_reason = reason
        self._cancel.set()

    def check(self) -> None:
        if self._cancel.is_set():
            raise Cancelled("cancelled by request")

    def sleep(self, seconds: float) -> None:
        """Wait, but wake up and raise `Cancelled` as soon as a cancel is requested."""
        if seconds > 0 and self._cancel.wait(seconds):
            raise Cancelled("cancelled by request")
        self.check()

    # --- progress -----------------------------------------------------------------------------
    @property
    def progress(self) -> Progress:
        return self._progress

    def stage(self, name: str, *, total: int | None = None, message: str = "") -> None:
        self._publish(Progress(stage=name, done=0, total=total, message=message))

    def update(
        self, *, done: int | None = None, total: int | None = None, message: str | None = None
    ) -> None:
        changes: dict[str, object] = {}
        if done is not None:
            changes["done"] = done
        if total is not None:
            changes["total"] = total
        if message is not None:
            changes["message"] = message
        self._publish(lambda current: replace(current, **changes))  # type: ignore[arg-type]

    def advance(self, n: int = 1, *, message: str | None = None) -> None:
        """Add `n` to `done`; safe to call from several worker threads at once."""

        def step(current: Progress) -> Progress:
            if message is None:
                return replace(current, done=current.done + n)
            return replace(current, done=current.done + n, message=message)

        self._publish(step)

    def _publish(self, change: Progress | Callable[[Progress], Progress]) -> None:
        with self._lock:
            self._progress = change(self._progress) if callable(change) else change
            progress = self._progress
        if self._on_progress is not None:
            self._on_progress(progress)


TaskFn = Callable[[RunControl, dict[str, Any]], None]
"""A run's work: `fn(control, result)` reports through `control` and fills `result` with figures as it
goes, so a failed or cancelled run still records what it did."""
