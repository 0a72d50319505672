"""The only module in `miner/` that imports Streamlit: it makes the process's MinerApp a
`st.cache_resource`, so the server's lifespan (which starts it before any browser connects) and
every page session share one app, one worker and one BackgroundScheduler.
"""

from __future__ import annotations

import streamlit as st

from miner.app import MinerApp, get_app


@st.cache_resource(show_spinner=False)
def runtime() -> MinerApp:
    """The started, process-wide app. Raises ConfigError (not cached) when settings are invalid."""
    return get_app().start()
