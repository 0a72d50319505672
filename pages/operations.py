"""Operations: start runs, watch them live, read run history, manage schedules and health."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import streamlit as st

from miner import health, quarantine, reports
from miner.runs import history
from miner.runs.scheduler import MAX_INTERVAL_SECONDS, MIN_INTERVAL_SECONDS, ScheduleError
from miner.vocabulary import RunKind, RunStatus, ScheduleTrigger
from pages.ui import data
from pages.ui.access import signed_in_user
from pages.ui.health import configured_health
from pages.ui.shared import app, fmt_ago, fmt_dt, fmt_duration, refresh_data, show_text
from pages.ui.widgets import live_progress, param_inputs, run_details, start_run

miner = app()
user = signed_in_user(miner)
author = user.email or user.name
st.title("Operations")

# --- live state and buttons ---------------------------------------------------------------------
with st.container(border=True):
    st.markdown("#### Now")
    live_progress(allow_cancel=user.is_admin)

if user.is_admin:
    st.markdown("#### Start a run")
    waiting = data.analysis_backlog().pending
    all_help = f"0 = every ticket waiting for analysis ({waiting:,} now)" + (
        ", within MINER_RUN_BUDGET_USD" if miner.settings.run_budget_usd else "")
    c1, c2, c3 = st.columns(3)
    backfill_help = "0 = only what changed since the last sync. Re-reading is harmless."
    with c1.form("sync_form", border=True):
        st.markdown("**Sync** from Zendesk")
        params = param_inputs(RunKind.SYNC, help={"backfill_days": backfill_help})
        if st.form_submit_button("Sync", icon=":material/sync:", width="stretch"):
            start_run(RunKind.SYNC, params)
    with c2.form("analyze_form", border=True):
        st.markdown(f"**Analyze** new tickets ({'Claude' if miner.settings.effective_analyzer == 'claude' else 'offline'})")
        params = param_inputs(RunKind.ANALYZE, help={"batch_size": all_help})
        if st.form_submit_button("Analyze", icon=":material/psychology:", width="stretch"):
            start_run(RunKind.ANALYZE, params)
    with c3.form("pipeline_form", border=True):
        st.markdown("**Full pipeline**: sync, analyze, cluster, trends")
        params = param_inputs(RunKind.PIPELINE, help={"backfill_days": backfill_help, "batch_size": all_help})
        if st.form_submit_button("Run full pipeline", type="primary", icon=":material/rocket_launch:",
                                 width="stretch"):
            start_run(RunKind.PIPELINE, params)
    with st.expander("More: cluster, trends"):
        d1, d2, _ = st.columns([1, 1, 3])
        if d1.button("Cluster + trends", width="stretch"):
            start_run(RunKind.CLUSTER)
        if d2.button("Trends only", width="stretch"):
            start_run(RunKind.TRENDS)
else:
    st.info("You can watch runs here; only admins (MINER_ADMINS) can start them.")

# --- run history --------------------------------------------------------------------------------
st.markdown("#### Run history")
f1, f2, _ = st.columns([2, 2, 4])
kind = f1.selectbox("Kind", ["all", *RunKind.values()],
                    format_func=lambda k: "All kinds" if k == "all" else RunKind.label_of(k))
status = f2.selectbox("Status", ["all", *RunStatus.values()], format_func=lambda s: "Any status" if s == "all" else s)
runs = history.recent_runs(miner.engine, limit=100, kind=None if kind == "all" else RunKind(kind),
                           status=None if status == "all" else RunStatus(status))

if not runs:
    st.caption("No runs match." if kind != "all" or status != "all" else "Nothing has run yet.")
else:
    frame = pd.DataFrame([{
        "run": r.id, "status": r.status, "kind": r.kind.label,
        "started_by": r.started_by, "started": r.started_at, "duration": fmt_duration(r.duration_seconds),
        "figures": r.summary, "cost": r.llm_cost_usd, "error": r.error or "",
    } for r in runs])
    picked = st.dataframe(
        frame, hide_index=True, width="stretch", on_select="rerun", selection_mode="single-row",
        key="run_history",
        column_config={"run": st.column_config.NumberColumn("Run", format="%d", width="small"),
                       "status": st.column_config.TextColumn("Status", width="small"),
                       "kind": st.column_config.TextColumn("Kind", width="small"),
                       "started_by": st.column_config.TextColumn("Started by", width="small"),
                       "duration": st.column_config.TextColumn("Duration", width="small"),
                       "started": st.column_config.DatetimeColumn("Started", format="YYYY-MM-DD HH:mm:ss"),
                       "cost": st.column_config.NumberColumn("LLM cost", format="$%.4f"),
                       "figures": st.column_config.TextColumn("Figures", width="large"),
                       "error": st.column_config.TextColumn("Error", width="medium")},
    )
    rows = picked.selection.rows if picked and picked.selection else []
    if rows:
        run = runs[rows[0]]
        with st.container(border=True):
            st.markdown(f"**Run #{run.id}** · {run.kind.label} · {run.status} · "
                        f"{run.started_by} · started {fmt_dt(run.started_at)}")
            if run.error:
                st.error("This run did not succeed:")
                show_text(run.error)
            st.dataframe(run_details(run.params, run.result), hide_index=True, width="stretch",
                         key=f"run_details_{run.id}",
                         column_config={"stage": st.column_config.TextColumn("Stage", width="small"),
                                        "figure": st.column_config.TextColumn("Figure", width="medium"),
                                        "value": st.column_config.TextColumn("Value", width="medium")})

# --- quarantine (only when the sync set something aside) -------------------------------------------
held = quarantine.entries(miner.engine, limit=200)
if held:
    st.markdown("#### Quarantine")
    st.caption("Zendesk objects the sync could not store (not in the documented format, or refused by the "
               "database). The rest of their page was stored; an object leaves this list when a later sync "
               "stores it, e.g. after it is fixed in Zendesk.")
    st.dataframe(pd.DataFrame([{
        "type": e.object_type, "id": e.object_id or "", "stream": e.stream, "error": e.error,
        "seen": e.count, "first seen": e.first_seen, "last seen": e.last_seen, "excerpt": e.excerpt,
    } for e in held]), hide_index=True, width="stretch", key="quarantine",
        column_config={"error": st.column_config.TextColumn("Error", width="large"),
                       "first seen": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
                       "last seen": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
                       "excerpt": st.column_config.TextColumn("Excerpt", width="medium")})

# --- scheduler ----------------------------------------------------------------------------------
st.markdown("#### Schedules")
if not miner.scheduler.running:
    st.warning("The scheduler is not running in this process (MINER_SCHEDULER=false, or another process runs "
               "`python -m miner scheduler`). Times below are what it would do.")
elif not miner.scheduler.is_leader:
    st.caption("Another process currently runs the scheduled jobs (leader lease); this one shows the same schedule.")
for job in miner.scheduler.job_status():
    with st.container(border=True):
        a, b, c = st.columns([4, 3, 3])
        a.markdown(f"**{job.name}**  \n`{job.id}` · {job.schedule}"
                   + (" · :orange[paused]" if job.paused else ""))
        b.markdown(f"Next run  \n{fmt_ago(job.next_run) if job.next_run else 'not scheduled'}")
        last = job.last_run
        c.markdown("Last run  \n" + (f"{last['status']} {fmt_ago(last['started_at'])}" if last else "never"))
        if user.is_admin:
            x, y, z, _ = st.columns(4)  # one row of actions under the job: its labels fit at 1,024 px
            if job.paused:
                if x.button("Resume", key=f"resume_{job.id}", width="stretch"):
                    miner.scheduler.resume(job.id, by=author)
                    st.rerun()
            elif x.button("Pause", key=f"pause_{job.id}", width="stretch"):
                miner.scheduler.pause(job.id, by=author)
                st.rerun()
            if y.button("Run now", key=f"now_{job.id}", width="stretch"):
                start_run(job.kind, job_id=job.id)
            with z.popover("Edit schedule", width="stretch"):
                with st.form(f"edit_{job.id}"):
                    mode = st.radio("Trigger", ScheduleTrigger.values(), horizontal=True,
                                    index=0 if job.cron else 1)
                    cron = st.text_input("Cron (minute hour day month weekday)", value=job.cron or "0 2 * * *",
                                         help=f"In {miner.settings.timezone}. Example: '30 1 * * mon-fri'.")
                    minutes = st.number_input("Every N minutes", min_value=MIN_INTERVAL_SECONDS // 60,
                                              max_value=MAX_INTERVAL_SECONDS // 60,
                                              value=max(1, (job.interval_seconds or 3600) // 60))
                    if st.form_submit_button("Save"):
                        try:
                            if mode == ScheduleTrigger.CRON:
                                miner.scheduler.update_schedule(job.id, cron=cron, by=author)
                            else:
                                miner.scheduler.update_schedule(job.id, interval_seconds=int(minutes) * 60, by=author)
                            st.toast("Schedule saved; it applies immediately.")
                            st.rerun()
                        except ScheduleError as exc:
                            st.error(str(exc))

# --- health ---------------------------------------------------------------------------------------
st.markdown("#### Health")
checks = health.latest(miner.engine)
cols = st.columns(3)
for col, component in zip(cols, health.COMPONENTS, strict=True):
    found = next((h for h in checks if h.component == component), None)
    with col.container(border=True):
        if found is None:
            st.markdown(f"**{component.title()}**  \nnot checked yet")
        else:
            icon = ":material/check_circle:" if found.ok else ":material/error:"
            st.markdown(f"{icon} **{component.title()}**")
            show_text(found.message)
            st.caption(f"checked {fmt_ago(found.checked_at)} · {found.latency_ms or 0:.0f} ms")
configured_health(miner)
if user.is_admin and st.button("Check now", icon=":material/monitor_heart:"):
    with st.spinner("Checking..."):
        health.run_checks(miner.settings, miner.engine, miner.context.demo_url, miner.alerts)
    st.rerun()

# --- reports ----------------------------------------------------------------------------------------
st.markdown("#### Weekly reports")
stored = reports.list_reports(miner.engine, limit=10)
if not stored:
    st.caption("No report yet. The weekly report is written on Mondays at 09:00; generate one now if you like.")
for rep in stored:
    a, b, c = st.columns([3, 1, 1])
    last_day = rep.period_end - timedelta(days=1)  # stored as the end of the period: midnight after its last day
    a.markdown(f"Week {rep.period_start:%b %d} - {last_day:%b %d, %Y} · written {fmt_ago(rep.created_at)}")
    b.download_button("Markdown", rep.markdown, file_name=f"product-issues-{rep.period_start:%Y-%m-%d}.md",
                      key=f"md_{rep.id}", width="stretch")
    c.download_button("HTML", rep.html, file_name=f"product-issues-{rep.period_start:%Y-%m-%d}.html",
                      mime="text/html", key=f"html_{rep.id}", width="stretch")
if user.is_admin and st.button("Generate a report now"):
    reports.generate_weekly_report(miner.engine)
    refresh_data()
    st.rerun()
