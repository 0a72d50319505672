"""Cluster detail: what the issue is, how it trends, who reports it, and triage."""

from __future__ import annotations

import streamlit as st

from miner.analysis.taxonomy import load_taxonomy
from miner.clustering import edits
from miner.db import parse_id
from miner.trends import critical_share, typical_severity
from miner.vocabulary import Severity, TriageStatus
from pages.ui import data, fixes
from pages.ui.access import signed_in_user
from pages.ui.charts import line, severity_donut
from pages.ui.notices import backlog_notice
from pages.ui.shared import (
    app,
    code_span,
    current_period,
    fmt_change,
    fmt_dt,
    refresh_data,
    show_caption,
    show_heading,
    show_quote,
    show_text,
    ticket_url,
)

miner = app()
user = signed_in_user(miner)
period = current_period()
author = user.email or user.name

choices = data.cluster_choices()
if not choices:
    st.title("Cluster detail")
    st.info("No clusters yet. Run the full pipeline from *Operations* first.")
    st.stop()

backlog_notice(user, running=miner.worker.status().is_running)
ids = [cid for cid, _ in choices]
names = dict(choices)
wanted = st.query_params.get("id")
wanted_number = parse_id(wanted)
if wanted and wanted_number is None:
    st.warning(f"There is no cluster {code_span(wanted)}; showing the largest one instead.")
wanted_id = edits.resolve(miner.engine, wanted_number) if wanted_number is not None else ids[0]
if wanted_id not in names:
    st.warning(f"Cluster #{wanted_id} no longer exists (it was retired by a re-cluster); showing the largest one.")
    wanted_id = ids[0]
picked = st.selectbox("Cluster", ids, index=ids.index(wanted_id), format_func=lambda c: f"#{c} {names[c]}",
                      key=f"cluster_pick_{wanted_id}")
if picked != wanted_id:
    st.query_params["id"] = str(picked)
    st.rerun()
cid = picked
st.query_params["id"] = str(cid)
cluster = data.get_cluster(cid)
if cluster is None:
    st.warning("This cluster has just been changed; reload the page.")
    st.stop()

area = (load_taxonomy(miner.settings.taxonomy_path).label(cluster.category, cluster.subcategory)
        if cluster.category else "uncategorised")
badges = [f":blue-badge[{area}]",  # taxonomy labels: the operator's own text
          f":gray-badge[{TriageStatus.label_of(cluster.triage_status)}]"]
severity = typical_severity(cluster.severity_mix)
if severity:
    colour = {Severity.CRITICAL: "red", Severity.HIGH: "orange"}.get(severity, "gray")
    badges.append(f":{colour}-badge[typically {severity} · {critical_share(cluster.severity_mix):.0%} critical]")
if cluster.emerging:
    badges.append(":orange-badge[:material/trending_up: emerging]")
if cluster.name_pinned:
    badges.append(":violet-badge[:material/push_pin: name pinned]")
if not cluster.active:
    badges.append(":gray-badge[inactive]")
show_heading(cluster.name)
st.markdown(" ".join(badges))
if cluster.summary:
    show_text(cluster.summary)
if cluster.emerging_reason:
    show_caption(cluster.emerging_reason)

daily = data.cluster_daily(cid, period)
m = st.columns(3) + st.columns(3)  # two rows of three: every label fits at 1,024 px
m[0].metric("Tickets in period", f"{int(daily['tickets'].sum()):,}",
            help=f"Tickets created {period.start:%b %d} - {period.end:%b %d, %Y} (the sidebar's period)")
m[1].metric("Tickets, all time", f"{cluster.ticket_count:,}")
m[2].metric("Customers, all time", f"{cluster.customer_count:,}",
            help="Distinct organisations (or requesters, for tickets without one)")
m[3].metric("Last 7 days", f"{cluster.count_7d:,}", fmt_change(cluster.count_7d, cluster.count_prev_7d or 0),
            delta_color="inverse", help="Tickets in the last 7 days, against the 7 days before")
m[4].metric("First seen", fmt_dt(cluster.first_seen, with_time=False))
m[5].metric("Last seen", fmt_dt(cluster.last_seen, with_time=False))

customers = data.cluster_customers_cumulative(cid, period)
c1, c2, c3 = st.columns([2, 2, 1])
chart, reach_note = fixes.ticket_chart(miner, cid, period, daily)
c1.plotly_chart(chart, width="stretch")
if reach_note:
    c1.caption(reach_note)
c2.plotly_chart(line(customers, "customers", "Customers affected (cumulative)"), width="stretch")
donut = severity_donut(cluster.severity_mix or {})
if donut is not None:
    c3.plotly_chart(donut, width="stretch")

quotes = data.representative_quotes(cid, 5)
if quotes:
    st.markdown("#### What customers say")
    for row in quotes:
        show_quote(row.representative_quote)

left, right = st.columns([3, 2])
with right:
    fixes.fix_section(miner, cid, author)
    st.markdown("#### Triage")
    statuses = TriageStatus.values()
    status = st.selectbox("Status", statuses, index=statuses.index(cluster.triage_status),
                          format_func=TriageStatus.label_of, key=f"status_{cid}")
    if status != cluster.triage_status:
        edits.set_status(miner.engine, cid, status, author=author)
        refresh_data()
        st.toast(f"Status set to {TriageStatus.label_of(status)}")
        st.rerun()
    with st.form(f"note_{cid}", clear_on_submit=True):
        body = st.text_area("Add a note", max_chars=edits.MAX_NOTE, placeholder="e.g. JIRA-4821, fix in 3.14")
        if st.form_submit_button("Save note", icon=":material/note_add:"):
            try:
                edits.add_note(miner.engine, cid, body, author=author)
                refresh_data()
                st.toast("Note saved")
                st.rerun()
            except edits.EditError as exc:
                st.error(str(exc))
    notes = data.cluster_notes(cid)
    for note in notes:
        with st.container(border=True):
            show_caption(f"{note.author or 'someone'} · {fmt_dt(note.created_at)}")
            show_text(note.body)

    with st.expander("Rename, pin, merge"):
        with st.form(f"rename_{cid}"):
            new_name = st.text_input("Name", value=cluster.name, max_chars=edits.MAX_NAME)
            new_summary = st.text_area("Summary", value=cluster.summary or "")
            pin = st.checkbox("Pin the name (automatic renaming never replaces it)", value=True)
            if st.form_submit_button("Save name"):
                try:
                    edits.rename(miner.engine, cid, new_name, summary=new_summary, pin=pin, author=author)
                    refresh_data()
                    st.rerun()
                except edits.EditError as exc:
                    st.error(str(exc))
        if cluster.name_pinned and st.button("Unpin the name", key=f"unpin_{cid}"):
            edits.set_name_pinned(miner.engine, cid, False, author=author)
            refresh_data()
            st.rerun()
        others = [c for c in ids if c != cid]
        with st.form(f"merge_{cid}"):
            target = st.selectbox("Merge this cluster into", others, format_func=lambda c: f"#{c} {names[c]}")
            confirm = st.checkbox("Yes, move all its issues there and retire this cluster")
            if st.form_submit_button("Merge", type="primary"):
                if not confirm:
                    st.error("Tick the confirmation box first.")
                else:
                    try:
                        moved = edits.merge(miner.engine, cid, target, author=author)
                        refresh_data()
                        st.toast(f"Merged: {moved} issues moved to #{target}")
                        st.switch_page("pages/cluster.py", query_params={"id": str(target)})
                    except edits.EditError as exc:
                        st.error(str(exc))

with left:
    st.markdown("#### Tickets")
    issues = data.cluster_issues(cid, 200)
    if issues.empty:
        st.caption("No tickets in this cluster.")
    else:
        shown = issues.copy()
        shown["link"] = shown["ticket_id"].map(lambda t: ticket_url(miner, int(t)))
        st.dataframe(
            shown[["ticket_id", "link", "summary", "severity", "organization", "ticket_created_at", "issue_id"]],
            hide_index=True, width="stretch",
            column_config={
                "ticket_id": st.column_config.NumberColumn("Ticket", format="%d"),
                "link": st.column_config.LinkColumn("Zendesk", display_text="open"),
                "summary": st.column_config.TextColumn("Issue", width="large"),
                "severity": "Severity",
                "organization": "Customer",
                "ticket_created_at": st.column_config.DatetimeColumn("Created", format="YYYY-MM-DD"),
                "issue_id": st.column_config.NumberColumn("Issue #", format="%d"),
            },
        )
        with st.expander("Move an issue to another cluster"):
            with st.form(f"move_{cid}"):
                summaries = dict(zip(issues["issue_id"], issues["summary"], strict=True))
                issue_id = st.selectbox("Issue", list(summaries), format_func=lambda i: f"#{i} {summaries[i][:80]}")
                target = st.selectbox("Move to", [c for c in ids if c != cid], format_func=lambda c: f"#{c} {names[c]}")
                if st.form_submit_button("Move (and pin it there)"):
                    try:
                        edits.move_issue(miner.engine, int(issue_id), int(target), author=author)
                        refresh_data()
                        st.toast(f"Issue #{issue_id} moved to #{target}")
                        st.rerun()
                    except edits.EditError as exc:
                        st.error(str(exc))

    events = data.cluster_events(cid, 30)
    if events:
        with st.expander("Activity"):
            for ev in events:
                who = ev.author if isinstance(ev.author, str) and ev.author else "clustering"
                show_caption(f"{fmt_dt(ev.created_at)} · {who} · "
                             f"{edits.describe_event(ev.action, ev.detail)}")
