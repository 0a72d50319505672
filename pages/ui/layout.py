"""Navigation, sidebar and the access gate around every page."""

from __future__ import annotations

import streamlit as st

from miner.access import Mode
from pages.ui.access import ask_to_sign_in, identify
from pages.ui.shared import app, period_picker
from pages.ui.widgets import sidebar_status

PAGES = {
    "Product": [
        ("pages/overview.py", "Overview", ":material/insights:"),
        ("pages/clusters.py", "Clusters", ":material/bubble_chart:"),
        ("pages/cluster.py", "Cluster detail", ":material/bug_report:"),
        ("pages/tickets.py", "Tickets", ":material/confirmation_number:"),
    ],
    "Admin": [
        ("pages/operations.py", "Operations", ":material/play_circle:"),
        ("pages/settings.py", "Settings", ":material/settings:"),
    ],
}


def render() -> None:
    st.set_page_config(page_title="Product Issue Miner", page_icon=":material/travel_explore:",
                       layout="wide", initial_sidebar_state="expanded")
    miner = app()
    user = identify(miner)
    # Navigation is declared even before sign-in, hidden, so the URL keeps naming the page asked for
    # (a deep link lands there once signed in); nothing of a page runs until then.
    page = st.navigation({
        section: [st.Page(path, title=title, icon=icon, default=path == "pages/overview.py")
                  for path, title, icon in pages]
        for section, pages in PAGES.items()
    }, position="sidebar" if user is not None else "hidden")
    if user is None:
        ask_to_sign_in(miner)
        return
    with st.sidebar:
        period_picker()
        sidebar_status()
        source = "demo data" if miner.settings.effective_source == "demo" else "Zendesk"
        analyzer = "Claude" if miner.settings.effective_analyzer == "claude" else "offline analyzer"
        st.caption(f"Source: {source} · {analyzer}")
        if user.mode is Mode.SSO:
            st.text(f"Signed in as {user.name}" + (" (admin)" if user.is_admin else ""))
            st.button("Sign out", on_click=st.logout, key="signout")
        elif user.mode is Mode.LOCAL:
            st.caption("Local access: no sign-in, this machine only")
    page.run()
