"""Navigation, sidebar and the access gate around every page."""

from __future__ import annotations

import streamlit as st

from pages.ui.shared import app, current_user, period_picker
from pages.ui.widgets import sidebar_status


def render() -> None:
    st.set_page_config(page_title="Product Issue Miner", page_icon=":material/travel_explore:",
                       layout="wide", initial_sidebar_state="expanded")
    miner = app()
    user = current_user(miner)
    st.session_state["user"] = user
    pages = {
        "Product": [
            st.Page("pages/overview.py", title="Overview", icon=":material/insights:", default=True),
            st.Page("pages/clusters.py", title="Clusters", icon=":material/bubble_chart:"),
            st.Page("pages/cluster.py", title="Cluster detail", icon=":material/bug_report:"),
            st.Page("pages/tickets.py", title="Tickets", icon=":material/confirmation_number:"),
        ],
        "Admin": [
            st.Page("pages/operations.py", title="Operations", icon=":material/play_circle:"),
            st.Page("pages/settings.py", title="Settings", icon=":material/settings:"),
        ],
    }
    page = st.navigation(pages)
    with st.sidebar:
        period_picker()
        sidebar_status()
        source = "demo data" if miner.settings.effective_source == "demo" else "Zendesk"
        analyzer = "Claude" if miner.settings.effective_analyzer == "claude" else "offline analyzer"
        st.caption(f"Source: {source} · {analyzer}")
        if user.mode == "oidc":
            st.caption(f"Signed in as {user.name}" + (" (admin)" if user.is_admin else ""))
            st.button("Sign out", on_click=st.logout, key="signout")
        elif user.mode == "local":
            st.caption("Local access (no sign-in configured)")
    page.run()
