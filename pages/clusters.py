"""Clusters: every issue cluster, filterable and sortable; pick one to open its detail page."""

from __future__ import annotations

import streamlit as st

from miner.vocabulary import Severity, TriageStatus
from pages.ui import data, fixes
from pages.ui.access import signed_in_user
from pages.ui.notices import backlog_notice
from pages.ui.shared import app, category_label, current_period, fmt_week_change

miner = app()
user = signed_in_user(miner)
period = current_period()
st.title("Clusters")
st.caption(f"Tickets and customers counted in {period.start:%b %d} - {period.end:%b %d, %Y} (the sidebar's "
           "period); the last 7 days and their change against the 7 before, whatever the period.")
backlog_notice(user, running=miner.worker.status().is_running)

# What a PM reads first fits 1,024 px; the rest is a click away.
OPTIONAL_COLUMNS = {"id": "ID", "category": "Category", "critical_share": "Critical share",
                    "ticket_count": "Tickets, all time", "customer_count": "Customers, all time",
                    "first_seen": "First seen", "last_seen": "Last seen", "active": "Active", "emerging": "Emerging"}
table = data.cluster_table(period)
if table.empty:
    st.info("No clusters yet. Run the full pipeline from *Operations* (or load the demo data on *Overview*).")
    st.stop()

with st.container(border=True):
    f1, f2, f3, f4 = st.columns([2, 2, 2, 2])
    text = f1.text_input("Name contains", placeholder="e.g. android", key="cl_text")
    categories = f2.multiselect("Category", sorted(table["category"].dropna().unique(), key=category_label),
                                format_func=category_label, key="cl_cat")
    severities = f3.multiselect("Severity", Severity.values(), key="cl_sev",
                                help="A cluster's typical severity: that of its median issue")
    statuses = f4.multiselect("Triage status", TriageStatus.values(), format_func=TriageStatus.label_of, key="cl_status")
    g1, g2, g3, g4 = st.columns([2, 2, 2, 2])
    active_only = g1.toggle("Active only", key="cl_active", help="At least one ticket in the last 14 days")
    emerging_only = g2.toggle("Emerging only", key="cl_emerging")
    sort = g3.selectbox("Sort by", ["Tickets in period", "7-day change", "Customers", "Newest", "Name"],
                        key="cl_sort")
    extra = g4.multiselect("More columns", list(OPTIONAL_COLUMNS), format_func=lambda c: OPTIONAL_COLUMNS[c],
                           key="cl_columns", placeholder="ID, category, …")

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

columns = ["name", "period_tickets", "period_customers", "count_7d", "week_change", "severity", "triage_status",
           *(c for c in OPTIONAL_COLUMNS if c in extra)]
shown = view.copy()
shown["week_change"] = [fmt_week_change(a, b) for a, b in zip(shown["count_7d"], shown["count_prev_7d"], strict=True)]
shown["triage_status"] = shown["triage_status"].map(TriageStatus.label_of)
shown["category"] = [category_label(c, s) for c, s in zip(shown["category"], shown["subcategory"], strict=True)]
shown["critical_share"] = 100 * shown["critical_share"]
shown = fixes.with_fix_column(miner, shown[columns], view["id"])
event = st.dataframe(
    shown, hide_index=True, width="stretch", on_select="rerun", selection_mode="single-row",
    key="cluster_table",
    column_config={
        "id": st.column_config.NumberColumn("ID", width="small"),
        "name": st.column_config.TextColumn("Cluster", width="medium"),
        "category": "Category",
        "severity": st.column_config.TextColumn("Severity", help="Typical severity: that of the median issue"),
        "critical_share": st.column_config.NumberColumn("Critical share", format="%.0f%%",
                                                        help="Share of the cluster's issues that are critical"),
        "period_tickets": st.column_config.NumberColumn("Tickets in period"),
        "period_customers": st.column_config.NumberColumn("Customers in period"),
        "count_7d": st.column_config.NumberColumn("Last 7 days"),
        "week_change": st.column_config.TextColumn(
            "7-day change", help='Last 7 days against the 7 before; "new" when the week before had none'),
        "ticket_count": st.column_config.NumberColumn("Tickets, all time"),
        "customer_count": st.column_config.NumberColumn("Customers, all time"),
        "triage_status": "Status",
        "active": st.column_config.CheckboxColumn("Active", help="A ticket in the last 14 days"),
        "emerging": st.column_config.CheckboxColumn("Emerging"),
        "first_seen": st.column_config.DatetimeColumn("First seen", format="YYYY-MM-DD"),
        "last_seen": st.column_config.DatetimeColumn("Last seen", format="YYYY-MM-DD"),
        **fixes.FIX_COLUMN_CONFIG,
    },
)
rows = event.selection.rows if event and event.selection else []
if rows:
    chosen = int(view.iloc[rows[0]]["id"])
    st.switch_page("pages/cluster.py", query_params={"id": str(chosen)})
st.caption("Select a row to open the cluster.")


def _export() -> str:
    out = view.drop(columns=["severity_mix"]).copy()
    out.insert(3, "category_label", [category_label(c, s) for c, s in zip(out["category"], out["subcategory"],
                                                                           strict=True)])
    out["period_start"], out["period_end"] = period.start, period.end
    return str(out.to_csv(index=False))


st.download_button(f"Export these {len(view)} clusters (CSV)", data=_export,
                   help="The clusters shown, with the filters and sort above, and every figure column",
                   file_name=f"clusters_{period.start}_{period.end}.csv", mime="text/csv",
                   icon=":material/download:")
