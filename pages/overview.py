"""Overview: the period's figures, the trend of the top clusters, emerging and rising issues."""

from __future__ import annotations

import streamlit as st

from miner.runs import history
from miner.vocabulary import RunKind, TriageStatus
from pages.ui import data
from pages.ui.access import signed_in_user
from pages.ui.charts import rising_bars, severity_by_category, stacked_area
from pages.ui.notices import backlog_notice
from pages.ui.shared import (
    app,
    category_label,
    code_span,
    current_period,
    fmt_ago,
    fmt_change,
    fmt_dt,
    fmt_week_change,
    inert,
    show_caption,
)
from pages.ui.widgets import live_progress, start_run

miner = app()
user = signed_in_user(miner)
period = current_period()

st.title("Product issues")
st.caption(f"{period.start:%b %d, %Y} - {period.end:%b %d, %Y} (the sidebar's period)")

counts = data.has_data()
status = miner.worker.status()

if not counts.issues:
    demo = miner.settings.effective_source == "demo"
    with st.container(border=True):
        if demo:
            st.markdown("### Welcome to Product Issue Miner")
            st.markdown(
                "No Zendesk credentials are configured, so the miner runs in **demo mode**: a built-in demo "
                f"Zendesk serves {miner.settings.demo_tickets:,} realistic support tickets of *Shiftwise*, a fictional workforce "
                "scheduling app, over the last 120 days - with real product problems, billing questions, "
                "how-tos, typos and all.\n\n"
                "**Load demo data** runs the full pipeline on them: sync the tickets and comments, extract "
                "product issues with the offline analyzer, group them into clusters and compute trends. "
                "It takes about a minute; you can watch it here or on *Operations*.\n\n"
                "To mine your own tickets, set `ZENDESK_SUBDOMAIN`, `ZENDESK_EMAIL` and `ZENDESK_API_TOKEN` "
                "(and `ANTHROPIC_API_KEY` to analyse with Claude) - see README *Configuration*."
            )
            label = "Load demo data"
        else:
            st.markdown("### No product issues yet")
            stored = "Tickets are stored, but none is analysed yet." if counts.tickets else "No tickets yet."
            st.markdown(f"Connected to {code_span(miner.settings.zendesk_public_url)}. {stored} Run the full "
                        "pipeline to sync, analyse and cluster them; the nightly schedule keeps them fresh afterwards.")
            label = "Run the full pipeline"
        if status.is_running:
            live_progress(allow_cancel=user.is_admin)
        elif user.is_admin:
            clicked = st.button(label, type="primary", icon=":material/rocket_launch:")
            if clicked and start_run(RunKind.PIPELINE, {}) is not None:  # every ticket: no partial first figures
                st.rerun()
        else:
            st.info("Ask an admin to run the pipeline.")
    st.stop()

if status.is_running:
    live_progress(allow_cancel=False)
backlog_notice(user, running=status.is_running)

figures = data.overview_figures(period)
cur, prev, covered = figures.current, figures.previous, figures.previous_covered


def difference(now: int, before: int) -> str | None:
    return f"{now - before:+,}" if covered and now != before else None


c1, c2, c3, c4 = st.columns(4)
c1.metric("Tickets", f"{cur.tickets:,}", fmt_change(cur.tickets, prev.tickets, covered=covered),
          delta_color="off")
c2.metric("Product issues", f"{cur.issues:,}", fmt_change(cur.issues, prev.issues, covered=covered),
          delta_color="inverse")
c3.metric("Critical + high issues", f"{cur.critical + cur.high:,}",
          difference(cur.critical + cur.high, prev.critical + prev.high), delta_color="inverse")
share = 100 * cur.tickets_with_issues / cur.tickets if cur.tickets else 0
c4.metric("With a product issue", f"{share:.0f}%", help="Share of the period's tickets with a product issue")
if covered:
    st.caption(f"Changes against the {period.days} days before.")
else:
    st.caption("No change shown: the data does not reach back over the whole previous period.")

emerging = data.emerging_clusters()
if emerging:
    with st.container(border=True):
        st.markdown(f"#### :material/trending_up: Emerging ({len(emerging)})")
        for row in emerging[:6]:
            col1, col2 = st.columns([5, 1])
            with col1:
                st.html(f"<strong>{inert(row.name)}</strong>")
                show_caption(row.emerging_reason)
            col2.page_link("pages/cluster.py", label="Open", icon=":material/arrow_forward:",
                           query_params={"id": str(row.id)})

series = data.top_cluster_series(period, 8)
if series.empty:
    if counts.clusters:
        st.info("No clustered issues in this period. Pick a longer period in the sidebar.")
    else:
        st.info("No clusters yet: issues are grouped at the end of a pipeline run.")
else:
    st.plotly_chart(stacked_area(series, "Tickets per day, top clusters"), width="stretch")

st.markdown("#### Top clusters")
table = data.cluster_table(period)
table = table[table["period_tickets"] > 0] if not table.empty else table
if table.empty:
    st.caption("No cluster has tickets in this period.")
else:
    top = table.head(10).copy()
    top.insert(0, "rank", range(1, len(top) + 1))
    top["week_change"] = [fmt_week_change(a, b) for a, b in zip(top["count_7d"], top["count_prev_7d"], strict=True)]
    top["triage_status"] = top["triage_status"].map(TriageStatus.label_of)
    top = top[["rank", "name", "period_tickets", "period_customers", "count_7d", "week_change", "severity",
               "triage_status"]]
    st.dataframe(
        top, hide_index=True, width="stretch",
        column_config={
            "rank": st.column_config.NumberColumn("Rank", width="small", help="By tickets in the period"),
            "name": st.column_config.TextColumn("Cluster", width="medium"),
            "period_tickets": st.column_config.ProgressColumn(
                "Tickets in period", format="%d", min_value=0, max_value=int(top["period_tickets"].max() or 1)),
            "period_customers": st.column_config.NumberColumn(
                "Customers in period", help="Distinct organisations (or requesters) with a ticket in the period"),
            "count_7d": st.column_config.NumberColumn("Last 7 days", help="Tickets in the last 7 days"),
            "week_change": st.column_config.TextColumn(
                "7-day change", help="Last 7 days against the 7 before; \"new\" when the week before had none"),
            "severity": st.column_config.TextColumn("Severity", help="Typical severity: that of the median issue"),
            "triage_status": st.column_config.TextColumn("Status"),
        },
    )
    st.page_link("pages/clusters.py", label="All clusters", icon=":material/arrow_forward:")

left, right = st.columns(2)
with left:
    rising = data.rising_clusters(8)
    st.markdown("#### Rising this week")
    if not rising:
        st.caption("Nothing is rising: no cluster has 5+ tickets in the last 7 days and more than the week before.")
    else:
        st.plotly_chart(rising_bars(rising), width="stretch")
with right:
    mix = data.severity_mix(period)
    st.markdown("#### Severity by category")
    if mix.empty:
        st.caption("No issues in this period.")
    else:
        mix["category"] = mix["category"].map(category_label)
        st.plotly_chart(severity_by_category(mix), width="stretch")

last_pipeline = history.last_finished(miner.engine, RunKind.PIPELINE)
daily = next((j for j in miner.scheduler.job_status() if j.id == "daily_sync"), None)
parts = []
if last_pipeline is not None:
    parts.append(f"Last pipeline: {last_pipeline.status} {fmt_ago(last_pipeline.finished_at)} "
                 f"({fmt_dt(last_pipeline.finished_at)})")
if daily and daily.next_run:
    parts.append(f"next scheduled run {fmt_ago(daily.next_run)} ({fmt_dt(daily.next_run)})")
elif daily and daily.paused:
    parts.append("the nightly pipeline is paused")
st.caption(" · ".join(parts) or "The pipeline has not run yet.")
