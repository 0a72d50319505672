"""Product Issue Miner - the dashboard. Run it with `streamlit run dashboard.py`.

This file does two jobs:
- as the module Streamlit's server imports, it defines `app = st.App(...)`: the lifespan starts the
  process-wide MinerApp (database, worker, BackgroundScheduler, demo Zendesk) when the server starts,
  before any browser connects, and the REST API shares the dashboard's port;
- as the script each browser session runs (`__main__`), it lays out navigation and the pages.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import streamlit as st
from starlette.middleware import Middleware

from miner import api
from miner.app import MinerApp, current, uninstall
from miner.config import ConfigError
from miner.logs import configure_logging
from miner.runtime import access_policy, runtime

log = logging.getLogger("miner.dashboard")


@asynccontextmanager
async def lifespan(_app: Any) -> AsyncIterator[None]:
    configure_logging()
    _pages_only_through_navigation()
    try:
        started = runtime()
        configure_logging(started.settings.log_level)
        policy = access_policy(started.settings)
        log.info("Product Issue Miner ready: source=%s, analyzer=%s, scheduler=%s, access=%s",
                 started.settings.effective_source, started.settings.effective_analyzer,
                 "on" if started.scheduler.running else "off", policy.mode)
        if policy.mode == "closed":
            log.warning("nobody can use the dashboard yet: %s See README \"Access\".", policy.closed_reason())
    except ConfigError as exc:  # the pages explain the problem to whoever opens them
        log.error("Product Issue Miner could not start: %s", exc)
    except Exception:  # an unreachable database, a failed migration, a bug: the operator needs the traceback
        log.exception("Product Issue Miner could not start")
    # Import the heavy libraries now, off the request path, so the first visitor does not wait.
    threading.Thread(target=_warm_up, name="warm-up", daemon=True).start()
    yield
    uninstall()


def _pages_only_through_navigation() -> None:
    """Streamlit runs the scripts of a `pages/` folder beside the entrypoint as pages of their own (its
    first multipage design) until some session has called st.navigation. A deep link opened first after
    a start would run a view without the access gate; so say, before any session exists, that this app
    uses st.navigation only. Each page also checks access itself (pages/ui/access.py)."""
    from streamlit.runtime.pages_manager import PagesManager

    PagesManager.uses_pages_directory = False


def _warm_up() -> None:
    import sklearn.cluster  # noqa: F401

    from pages.ui import charts as _charts

    _charts.warm_up()


def _app_for_api() -> MinerApp:
    return current() or runtime()


app = st.App(__file__, lifespan=lifespan, routes=api.routes(_app_for_api, access_policy),
             middleware=[Middleware(api.SecurityHeaders)])


def main() -> None:
    from pages.ui.layout import render

    render()


if __name__ == "__main__":
    main()
