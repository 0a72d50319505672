"""Clusters: every issue cluster, filterable and sortable; pick one to open its detail page."""

from __future__ import annotations

import streamlit as st

from miner.queries import SEVERITY_ORDER, TRIAGE_STATUSES, export_clusters
from pages.ui.access import signed_in_user
from pages.ui.shared import TRIAGE_LABELS, app, current_period, query

miner = app()
signed_in_user(miner)
period = current_period()
st.title("Clusters")
st.caption(f"Tickets counted in {period.start:%b %d} - {period.end:%b %d, %Y}; "
           "7-day change compares the last 7 days with the 7 before.")

table = query("cluster_table", period)
if table.empty:
    st.info("No clusters yet. Run the full pipeline from *Operations* (or load the demo data on *Overview*).")
    st.stop()

with st.container(border=True):
    f1, f2, f3, f4 = st.columns([2, 2, 2, 2])
    text = f1.text_input("Name contains", placeholder="e.g. android", key="cl_text")
    categories = f2.multiselect("Category", sorted(c for c in table["category"].dropna().unique()), key="cl_cat")
    severities = f3.multiselect("Severity", SEVERITY_ORDER, key="cl_sev",
                                help="A cluster's typical severity: that of its median issue")
    statuses = f4.multiselect("Triage status", list(TRIAGE_STATUSES), format_func=TRIAGE_LABELS.get, key="cl_status")
    g1, g2, g3, _ = st.columns([2, 2, 3, 1])
    active_only = g1.toggle("Active only", key="cl_active", help="At least one ticket in the last 14 days")
    emerging_only = g2.toggle("Emerging only", key="cl_emerging")
    sort = g3.selectbox("Sort by", ["Tickets in period", "7-day change", "Customers", "Newest", "Name"],
                        key="cl_sort")

view = table
if text.strip():
    view = view[view["name"].str.contains(text.strip(), case=False, regex=False)]
if categories:
    view = view[view["category"].isin(categories)]
if severities:
    view = view[view["severity"].isin(severities)]
if statuses:
    view = view[view["triage_status"].isin(statuses)]
if active_only:
    view = view[view["active"]]
if emerging_only:
    view = view[view["emerging"]]
order = {"Tickets in period": ("period_tickets", False), "7-day change": ("change_pct", False),
         "Customers": ("customer_count", False), "Newest": ("first_seen", False), "Name": ("name", True)}[sort]
view = view.sort_values(order[0], ascending=order[1], na_position="last")

st.caption(f"{len(view)} of {len(table)} clusters")
if view.empty:
    st.warning("No cluster matches these filters.")
    st.stop()

shown = view[["id", "name", "category", "severity", "critical_share", "period_tickets", "count_7d", "change_pct",
              "customer_count", "triage_status", "active", "emerging", "last_seen"]].copy()
shown["triage_status"] = shown["triage_status"].map(TRIAGE_LABELS)
shown["critical_share"] = 100 * shown["critical_share"]
event = st.dataframe(
    shown, hide_index=True, width="stretch", on_select="rerun", selection_mode="single-row",
    key="cluster_table",
    column_config={
        "id": st.column_config.NumberColumn("#", width="small"),
        "name": st.column_config.TextColumn("Cluster", width="large"),
        "category": "Category",
        "severity": st.column_config.TextColumn("Severity", help="Typical severity: that of the median issue"),
        "critical_share": st.column_config.NumberColumn("Critical", format="%.0f%%",
                                                        help="Share of the cluster's issues that are critical"),
        "period_tickets": st.column_config.NumberColumn("Tickets"),
        "count_7d": st.column_config.NumberColumn("Last 7 days"),
        "change_pct": st.column_config.NumberColumn("Change", format="%+.0f%%"),
        "customer_count": st.column_config.NumberColumn("Customers"),
        "triage_status": "Status",
        "active": st.column_config.CheckboxColumn("Active"),
        "emerging": st.column_config.CheckboxColumn("Emerging"),
        "last_seen": st.column_config.DatetimeColumn("Last seen", format="YYYY-MM-DD"),
    },
)
rows = event.selection.rows if event and event.selection else []
if rows:
    chosen = int(shown.iloc[rows[0]]["id"])
    st.switch_page("pages/cluster.py", query_params={"id": str(chosen)})
st.caption("Select a row to open the cluster.")

st.download_button("Export clusters (CSV)",
                   data=lambda: export_clusters(miner.engine, period).to_csv(index=False),
                   file_name=f"clusters_{period.start}_{period.end}.csv", mime="text/csv",
                   icon=":material/download:")
