"""The seed's tasks module, as its README (`tasks-module-README.md`) describes it, over our own code.

`setup_scheduler()`, `shutdown_scheduler()` and `get_job_status()` keep the seed's names and answers;
`seed_worker_status()` is the seed's `GET /api/tasks/worker/status` answer. Where the seed's words
differ from ours they are translated here, once: a run that succeeded is "completed" to the seed and
"succeeded" everywhere else (database, history, dashboard, CLI).

This module is at the top of the import graph: it imports the process-wide app, and nothing in
`miner` imports it except the REST API. The run machinery itself lives in `miner.runs`.
"""

from __future__ import annotations

from typing import Any

from miner.app import current, get_app, uninstall
from miner.runs.worker import WorkerStatus
from miner.vocabulary import RunStatus

SEED_WORDS = {RunStatus.SUCCEEDED: "completed"}  # our run status -> the seed's, where they differ


def setup_scheduler() -> None:
    """Start the process's app (migrations, demo Zendesk in demo mode) and its scheduler."""
    get_app().start(scheduler=True)


def shutdown_scheduler() -> None:
    """Stop the scheduler and release what `setup_scheduler()` started."""
    uninstall()


def get_job_status() -> list[dict[str, Any]]:
    """Scheduled jobs: id, name, next_run (ISO 8601), trigger, plus pause state and last run."""
    app = current()
    return [job.as_dict() for job in app.scheduler.job_status()] if app is not None else []


def seed_worker_status(state: WorkerStatus) -> dict[str, Any]:
    """The seed's worker status fields (status, progress, is_running, started_at, completed_at,
    last_result, last_error), plus run_id/kind/stage/done/total for a real progress bar."""
    if state.status is None:
        return {
            "status": "idle", "progress": "No runs yet", "is_running": False,
            "started_at": None, "completed_at": None, "last_result": None, "last_error": None,
            "run_id": None, "kind": None, "trigger": None, "stage": None, "done": None,
            "total": None, "message": None, "stage_seconds": None, "cancel_requested": False,
        }
    return {
        "status": SEED_WORDS.get(state.status, state.status),
        "progress": progress_text(state),
        "is_running": state.is_running,
        "started_at": state.started_at.isoformat() if state.started_at else None,
        "completed_at": state.finished_at.isoformat() if state.finished_at else None,
        "last_result": state.last_result,
        "last_error": state.last_error,
        "run_id": state.run_id,
        "kind": state.kind,
        "trigger": state.started_by,
        "stage": state.stage,
        "done": state.done,
        "total": state.total,
        "message": state.message,
        "stage_seconds": state.stage_seconds,
        "cancel_requested": state.cancel_requested,
    }


def progress_text(state: WorkerStatus) -> str:
    """The seed's `progress` line: "Analyzing tickets (1,200/5,000)...", "sync completed", "sync failed: ..."."""
    if state.status is RunStatus.RUNNING:
        count = f" ({state.done:,}/{state.total:,})" if state.total else (f" ({state.done:,})" if state.done else "")
        return f"{state.stage or state.kind}{count}..."
    word = SEED_WORDS.get(state.status, state.status) if state.status else ""
    if state.status is RunStatus.SUCCEEDED:
        return f"{state.kind} {word}"
    return f"{state.kind} {word}: {state.error or ''}".strip()


__all__ = ["get_job_status", "seed_worker_status", "setup_scheduler", "shutdown_scheduler"]
