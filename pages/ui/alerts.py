"""Alerts on the Settings page: the configured channels, secrets masked, a "Send a test alert" button per
channel, the recent delivery log. (Their health is in pages/ui/health.py.)"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from miner.alerts import outbox, service
from miner.app import MinerApp
from miner.vocabulary import AlertRule, DeliveryStatus
from pages.ui.shared import code_span, show_text

LOG_COLUMNS = {"created_at": "queued", "channel": "channel", "rule": "rule", "cluster_id": "cluster", "title": "alert",
               "status": "status", "attempts": "attempts", "last_error": "last error", "delivered_at": "delivered"}


def alerts_section(miner: MinerApp) -> None:
    st.markdown("#### Alerts")
    channels = miner.alerts.channels
    if not channels:
        st.caption("No alert channels. Add one with `MINER_ALERT_<NAME>_TYPE` (slack, teams, email or webhook) and "
                   "its settings, or an `[alerts.channels.<name>]` table in secrets.toml (README: Alerts).")
    for channel in channels:
        _channel_card(miner, channel.name)
    st.markdown("**Recent deliveries**")
    rows = outbox.recent(miner.engine, limit=50)
    if not rows:
        st.caption("No alert has been queued yet.")
        return
    frame = pd.DataFrame(rows)[list(LOG_COLUMNS)].rename(columns=LOG_COLUMNS)
    frame["rule"] = frame["rule"].map(AlertRule.label_of)
    frame["status"] = frame["status"].map(DeliveryStatus.label_of)
    st.dataframe(frame, hide_index=True, width="stretch")


def _channel_card(miner: MinerApp, name: str) -> None:
    shown = miner.alerts.channel(name).describe()
    with st.container(border=True):
        left, right = st.columns([4, 1])
        left.markdown(f"**{code_span(shown['channel'])}** · {shown['type']}")
        with left:
            show_text(f"to {shown['destination']}" + (f" ({shown['credentials']})" if shown["credentials"] else ""))
            show_text(f"rules: {shown['rules']} · min size: {shown['min size']} · quiet hours: {shown['quiet hours']}")
        key = f"alert_test_{name}"
        if right.button("Send a test alert", key=key, width="stretch"):
            with st.spinner(f"Sending a test alert to {name}..."):
                st.session_state[f"{key}_result"] = service.send_test(miner.engine, miner.alerts, name)
        outcome = st.session_state.get(f"{key}_result")
        if outcome is not None:
            (left.success if outcome.ok else left.error)(code_span(outcome.message))
