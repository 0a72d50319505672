"""Logging set-up shared by the CLI, the scheduler process and the dashboard."""

from __future__ import annotations

import logging
import sys

FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def configure_logging(level: str = "INFO") -> None:
    """Log to stderr once per process; noisy libraries are kept at WARNING."""
    root = logging.getLogger()
    if not any(getattr(h, "_miner", False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(FORMAT))
        handler._miner = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(level)
    for name in ("httpx", "httpcore", "httpx2", "httpcore2", "anthropic", "apscheduler", "alembic",
                 "streamlit"):
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLevelName(level)))
