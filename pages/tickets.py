"""Tickets: search and filter tickets and what was extracted from them; read one in full."""

from __future__ import annotations

import streamlit as st

from miner.db import parse_id
from miner.queries import TicketFilter, export_issues
from miner.vocabulary import Severity
from pages.ui import data
from pages.ui.access import signed_in_user
from pages.ui.shared import (
    ANALYSIS_STATES,
    app,
    category_label,
    code_span,
    current_period,
    fmt_dt,
    inert,
    no_issue_label,
    show_caption,
    show_heading,
    show_quote,
    show_text,
    ticket_url,
)

miner = app()
signed_in_user(miner)
period = current_period()
st.title("Tickets")

opened = st.query_params.get("ticket")  # a direct link: /tickets?ticket=123

with st.container(border=True):
    a, b, c = st.columns([3, 2, 2])
    text = a.text_input("Search subject and message, or a ticket number", key="tk_text",
                        placeholder="e.g. calendar, 10452")
    categories = b.multiselect("Issue category", data.categories_in_use(), format_func=category_label,
                               key="tk_cat")
    severities = c.multiselect("Issue severity", Severity.values(), key="tk_sev")
    d, e, _ = st.columns([2, 2, 3])
    statuses = d.multiselect("Ticket status", ["new", "open", "pending", "hold", "solved", "closed"], key="tk_status")
    which = e.radio("Show", ["All", "With issues", "Without issues"], horizontal=True, key="tk_which")
if len(text) > 200:
    st.error("The search text is too long (200 characters at most).")
    st.stop()

flt = TicketFilter(
    text=text.strip(), period=period, statuses=tuple(statuses), categories=tuple(categories),
    severities=tuple(severities), with_issues={"All": None, "With issues": True, "Without issues": False}[which],
)
results = data.search_tickets(flt, 200)
st.caption(f"Tickets created {period.start:%b %d} - {period.end:%b %d, %Y}"
           + (f" · showing the newest {len(results)}" if len(results) == 200 else f" · {len(results)} found"))
rows: list[int] = []
if results.empty:
    if not data.has_data().tickets:
        st.info("No tickets synced yet. Run a sync from *Operations*.")
    else:
        st.info("No ticket matches. Widen the period in the sidebar or loosen the filters.")
else:
    table = results[["id", "subject", "status", "organization", "created_at", "issues"]].copy()
    # What the analysis found, in one column: the issues, else why there is none, else its state
    table["issues"] = [
        issues if issues else (f"No issue: {no_issue_label(reason)}" if state == "done" and no_issue_label(reason)
                               else ANALYSIS_STATES.get(state, "waiting for analysis") if isinstance(state, str)
                               else "waiting for analysis")
        for issues, reason, state in zip(results["issues"], results["no_issue_reason"], results["analysis"],
                                         strict=True)]
    event = st.dataframe(
        table,
        hide_index=True, width="stretch", on_select="rerun", selection_mode="single-row", key="ticket_table",
        column_config={
            "id": st.column_config.NumberColumn("Ticket", format="%d", width="small"),
            "subject": st.column_config.TextColumn("Subject", width="medium"),
            "status": st.column_config.TextColumn("Status", width="small"),
            "organization": st.column_config.TextColumn("Customer", width="small"),
            "created_at": st.column_config.DatetimeColumn("Created", format="YYYY-MM-DD", width="small"),
            "issues": st.column_config.TextColumn("Product issues (or why none)", width="large"),
        },
    )
    rows = event.selection.rows if event and event.selection else []
    st.caption("Select a ticket to read it.")
    st.download_button("Export the issues of these tickets (CSV)",
                       data=lambda: export_issues(miner.engine, flt).to_csv(index=False),
                       help="Every issue of every ticket matching the filters and period above (not only the "
                            "newest 200 shown)",
                       file_name=f"issues_{period.start}_{period.end}.csv", mime="text/csv",
                       icon=":material/download:")


def _dismissed() -> None:
    # Closing the dialog keeps the table's selection; remember which ticket was closed so the next
    # rerun (a filter change) does not open it again, and drop it from the URL.
    st.session_state["tk_closed"] = st.session_state.get("tk_open")
    st.query_params.pop("ticket", None)


@st.dialog("Ticket", width="large", on_dismiss=_dismissed)
def show_ticket(ticket_id: int) -> None:
    detail = data.ticket_detail(ticket_id)
    if detail is None:
        st.warning("That ticket is gone.")
        return
    t = detail.ticket
    show_heading(t.subject or "(no subject)", level=3)
    meta = [f"#{t.id}", t.status, fmt_dt(t.created_at)]
    if detail.organization:
        meta.append(detail.organization)
    url = ticket_url(miner, ticket_id)
    show_caption(" · ".join(meta))
    if url:
        st.link_button("Open in Zendesk" if miner.settings.effective_source == "zendesk" else "Open in demo Zendesk",
                       url, icon=":material/open_in_new:")

    analysis = detail.analysis
    if detail.issues:
        st.markdown("##### Extracted issues")
        for issue in detail.issues:
            with st.container(border=True):
                st.html(f"<strong>{inert(issue.summary)}</strong>")
                show_caption(f"{category_label(issue.category, issue.subcategory)} · "
                             f"{issue.issue_type.replace('_', ' ')} · {issue.severity} · "
                             f"confidence {issue.confidence:.2f}"
                             + (f" · cluster #{issue.cluster_id} {issue.cluster_name}"
                                if issue.cluster_id else ""))
                if issue.detail:
                    show_text(issue.detail)
                show_quote(issue.representative_quote)
                if issue.cluster_id:
                    st.page_link("pages/cluster.py", label="Open cluster",
                                 query_params={"id": str(issue.cluster_id)})
    elif analysis and analysis.state == "done":
        st.info(f"No product issue: {no_issue_label(analysis.no_issue_reason or 'other')}.")
    elif analysis and analysis.state in ("failed", "needs_review"):
        st.warning(f"Analysis {analysis.state.replace('_', ' ')} after {analysis.attempts} attempt(s): "
                   f"{code_span(analysis.last_error)}")
    else:
        st.caption("Not analysed yet.")
    if analysis and analysis.state == "done":
        st.caption(f"Analysed by {analysis.analyzer} ({code_span(analysis.model)}, "
                   f"prompt {analysis.prompt_version}) on {fmt_dt(analysis.analyzed_at)}")

    st.markdown("##### Conversation")
    public = [c for c in detail.comments if c.public]
    internal = [c for c in detail.comments if not c.public]
    if not public:
        st.text(t.description or "")
    for comment in public:
        who = "Customer" if comment.author_id == t.requester_id else "Agent"
        with st.chat_message("user" if who == "Customer" else "assistant"):
            st.caption(f"{who} · {fmt_dt(comment.created_at)}")
            show_text(comment.body)
    if internal:
        with st.expander(f"Internal notes ({len(internal)})"):
            for comment in internal:
                st.caption(fmt_dt(comment.created_at))
                show_text(comment.body)


# The ticket opens in a dialog over the table, where the reader is looking - from a selected row, or from a
# direct link (/tickets?ticket=123).
selected = int(results.iloc[rows[0]]["id"]) if rows else None
linked = parse_id(opened)
if opened and linked is None:
    st.warning(f"There is no ticket {code_span(opened)}.")
ticket_id = selected if selected is not None else linked
if ticket_id is not None and st.session_state.get("tk_closed") != ticket_id:
    if selected is not None:
        st.query_params["ticket"] = str(ticket_id)  # the open ticket is in the URL: a link to share
    st.session_state["tk_open"] = ticket_id
    st.session_state.pop("tk_closed", None)
    show_ticket(ticket_id)
elif ticket_id is None:
    st.session_state.pop("tk_closed", None)
