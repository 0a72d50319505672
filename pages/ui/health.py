"""The Operations page's health lines for what is configured besides the core checks: each alert channel
(`alert:<name>`) and each tracker (`tracker:jira`, `tracker:github`), from the last health check."""

from __future__ import annotations

import streamlit as st

from miner import health
from miner.app import MinerApp
from miner.fixes.trackers import LABELS
from pages.ui.shared import code_span, fmt_ago, show_text

KINDS = {health.ALERT_COMPONENT: "Alert channel", health.TRACKER_COMPONENT: "Tracker"}


def configured_health(miner: MinerApp) -> None:
    """A card per alert channel and tracker, with the last check's verdict and message."""
    for found in health.latest(miner.engine, miner.alerts, miner.settings.fixes):
        prefix = next((p for p in KINDS if found.component.startswith(p)), None)
        if prefix is None:  # a core component: the page's columns show those
            continue
        name = found.component.removeprefix(prefix)
        shown = LABELS.get(name, name) if prefix == health.TRACKER_COMPONENT else code_span(name)
        icon = ":material/check_circle:" if found.ok else ":material/error:"
        with st.container(border=True):
            st.markdown(f"{icon} **{KINDS[prefix]}** {shown}")
            show_text(found.message)
            st.caption(f"checked {fmt_ago(found.checked_at)}")
