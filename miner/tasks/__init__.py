"""Background tasks: the worker, the embedded scheduler, run history and the run lock.

The seed module's API lives here: `setup_scheduler()`, `shutdown_scheduler()`, `get_job_status()`.
"""

from __future__ import annotations

from typing import Any


def setup_scheduler() -> None:
    """Start the process's app (migrations, demo Zendesk in demo mode) and its scheduler."""
    from miner.app import get_app

    get_app().start(scheduler=True)


def shutdown_scheduler() -> None:
    """Stop the scheduler and release what `setup_scheduler()` started."""
    from miner.app import uninstall

    uninstall()


def get_job_status() -> list[dict[str, Any]]:
    """Scheduled jobs: id, name, next_run (ISO 8601), trigger, plus pause state and last run."""
    from miner.app import current

    app = current()
    return app.scheduler.job_status() if app is not None else []


__all__ = ["get_job_status", "setup_scheduler", "shutdown_scheduler"]
