"""Notices a page shows above figures that are incomplete."""

from __future__ import annotations

import streamlit as st

from miner.trends import MAX_UNANALYSED_SHARE
from miner.vocabulary import RunKind
from pages.ui import data
from pages.ui.access import User
from pages.ui.widgets import start_run


def backlog_notice(user: User, *, running: bool) -> int:
    """"N of M tickets are not analysed yet - figures are partial", with a button that runs the
    pipeline over them (admins). Returns the number waiting."""
    backlog = data.analysis_backlog()
    pending, tickets = backlog.pending, backlog.tickets
    if not pending:
        return 0
    withheld = pending > MAX_UNANALYSED_SHARE * tickets
    with st.container(border=True):
        st.warning(f"**{pending:,} of {tickets:,} tickets are not analysed yet: the figures below are partial**"
                   + (" and no cluster is flagged emerging until they are." if withheld else "."),
                   icon=":material/hourglass_top:")
        if running:
            st.caption("A run is in progress; the figures refresh when it finishes.")
        elif user.is_admin:
            clicked = st.button(f"Analyse the {pending:,} waiting tickets", icon=":material/play_arrow:",
                                key="analyse_backlog",
                                help="Runs the full pipeline: sync, analyse every waiting ticket, cluster, trends")
            if clicked and start_run(RunKind.PIPELINE, {}) is not None:
                st.rerun()
        else:
            st.caption("Ask an admin to run the pipeline.")
    return pending
