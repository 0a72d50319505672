"""The fix, and whether it worked: the cluster page's "Fix" section, the fix date on its chart and the
Clusters list's "Fix" column. Pages call these in one line each.

Links are read straight from `miner.fixes.store` (one indexed query per page, not cached): a link made
or refreshed must show at once. Tracker errors are shown as the one line their message is, never as a
traceback.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from miner.app import MinerApp
from miner.errors import MinerError
from miner.fixes import service, store
from miner.fixes.effect import WINDOW_DAYS
from miner.fixes.store import Link
from miner.fixes.trackers import LABELS, TRACKERS, Tracker
from miner.queries import Period
from pages.ui import data
from pages.ui.charts import daily_bars, mark_days
from pages.ui.shared import code_span, fmt_ago, fmt_dt, refresh_data, show_caption, show_text

log = logging.getLogger("miner.pages")

FIX_COLUMN_CONFIG: dict[str, Any] = {
    "fix": st.column_config.TextColumn("Fix", help="The Jira or GitHub issue linked as the cluster's fix, and its "
                                       "status when last checked"),
}
VERDICT_ICONS = {"fell": ":material/trending_down:", "rose": ":material/trending_up:",
                 "no_change": ":material/trending_flat:", "not_enough_data": ":material/hourglass_empty:"}


# --- the cluster page ----------------------------------------------------------------------------


def ticket_chart(miner: MinerApp, cluster_id: int, period: Period, daily: pd.DataFrame) -> tuple[go.Figure, str | None]:
    """The cluster's tickets per day with a vertical line on each resolved fix's day, and a caption when
    the chart reaches back before the sidebar's period to show the weeks before a fix."""
    markers = service.fix_markers(store.links_for_cluster(miner.engine, cluster_id))
    start = service.chart_start(markers, period.start)
    if start < period.start:
        daily = data.cluster_daily(cluster_id, Period(start, period.end))
    shown = [(day, label) for day, label in markers if start <= day <= period.end]
    note = (f"From {start:%b %d}: the {WINDOW_DAYS // 7} weeks before the fix are shown beside the period."
            if start < period.start else None)
    return mark_days(daily_bars(daily, "tickets", "Tickets per day"), shown), note


def fix_section(miner: MinerApp, cluster_id: int, author: str | None) -> None:
    """Linked issues with status, resolution and the fix's effect; link an existing issue; create one."""
    st.markdown("#### Fix")
    links = store.links_for_cluster(miner.engine, cluster_id)
    if not links:
        st.caption("No issue linked yet. Link the Jira or GitHub issue that fixes this problem, or create one "
                   "from this cluster: once it is resolved, this page says whether the tickets fell.")
    for link in links:
        _show_link(miner, link)
    if links and st.button("Refresh status", key=f"fix_refresh_{cluster_id}", icon=":material/refresh:"):
        _with_trackers(miner, lambda trackers: _refresh(miner, trackers, cluster_id))
    with st.form(f"fix_link_{cluster_id}", clear_on_submit=True):
        ref = st.text_input("Link an existing issue", placeholder="SW-12, owner/repo#12 or the issue's link",
                            max_chars=500)
        if st.form_submit_button("Link", icon=":material/link:"):
            if not ref.strip():
                st.error("key: type an issue key (SW-12, owner/repo#12) or paste the issue's link.")
            else:
                _with_trackers(miner, lambda trackers: _link(miner, trackers, cluster_id, ref, author))
    _create_buttons(miner, cluster_id, author)


def _show_link(miner: MinerApp, link: Link) -> None:
    with st.container(border=True):
        # tracker text (title, status name) is shown inert; the link is a button, its URL never parsed
        st.link_button(link.label, link.url, icon=":material/open_in_new:")
        if link.title:
            show_text(link.title)
        facts = [("resolved: " if link.resolved else "status: ") + (link.status or "unknown")]
        if link.resolved_at is not None:
            facts.append(f"resolved {fmt_dt(link.resolved_at, with_time=False)}")
        facts.append(f"checked {fmt_ago(link.last_checked_at)}" if link.last_checked_at else "not checked yet")
        show_caption(" · ".join(facts))
        if link.last_error:
            st.warning(f"The last refresh failed: {link.last_error}", icon=":material/sync_problem:")
        effect = service.effect_of(miner.engine, link)
        if effect is not None:
            sentence = effect.sentence[0].upper() + effect.sentence[1:]  # our own words and figures only
            st.markdown(f"{VERDICT_ICONS[effect.verdict]} **{sentence}**",
                        help="Weekly tickets in the 28 days before the fix against every full day since, "
                             "compared with an exact Poisson rate test (p: the chance of a change at least "
                             "this large if the fix changed nothing). README \"Fixes\".")
        if st.button("Unlink", key=f"fix_unlink_{link.id}", icon=":material/link_off:"):
            store.unlink(miner.engine, link.id)
            refresh_data()
            st.toast(f"{link.label} unlinked")
            st.rerun()


def _create_buttons(miner: MinerApp, cluster_id: int, author: str | None) -> None:
    configured = [name for name in TRACKERS if name in _configured(miner)]
    if not configured:
        st.caption("To create issues from here, set JIRA_BASE_URL, JIRA_EMAIL, JIRA_API_TOKEN and "
                   "JIRA_PROJECT_KEY, or GITHUB_REPOSITORY and GITHUB_TOKEN (README \"Fixes\").")
        return
    columns = st.columns(len(configured))
    for column, name in zip(columns, configured, strict=True):
        if column.button(f"Create {LABELS[name]} issue", key=f"fix_create_{name}_{cluster_id}",
                         icon=":material/add_task:",
                         help="A new issue with the cluster's figures, customer quotes and ticket links"):
            _with_trackers(miner, functools.partial(_create, miner, name=name, cluster_id=cluster_id, author=author))


def _configured(miner: MinerApp) -> set[str]:
    fixes = miner.settings.fixes
    names = set()
    if fixes.jira_configured or miner.context.demo_tracker_url:
        names.add("jira")
    if fixes.github_configured:
        names.add("github")
    return names


def _with_trackers(miner: MinerApp, action: Callable[[dict[str, Tracker]], None]) -> None:
    """Run `action` with tracker clients; a tracker's error is one line on the page, never a traceback."""
    trackers = miner.trackers()
    try:
        action(trackers)
    except MinerError as exc:
        st.error(str(exc), icon=":material/error:")
        return
    except Exception as exc:  # a bug must not show a traceback to the user; the log has it
        log.exception("fix tracking failed")
        st.error(f"That did not work ({type(exc).__name__}); the server log has the details.")
        return
    finally:
        service.close_trackers(trackers)
    refresh_data()
    st.rerun()


def _link(miner: MinerApp, trackers: dict[str, Tracker], cluster_id: int, ref: str, author: str | None) -> None:
    tracker = service.tracker_for(trackers, service.tracker_of(ref))
    made = service.link_existing(miner.engine, tracker, cluster_id, ref, created_by=author)
    st.toast(f"Linked {made.label}")


def _create(miner: MinerApp, trackers: dict[str, Tracker], *, name: str, cluster_id: int, author: str | None) -> None:
    made = service.create_for_cluster(miner.engine, service.tracker_for(trackers, name), cluster_id,
                                      ticket_url=service.ticket_link(miner.settings, miner.context.demo_url),
                                      created_by=author)
    st.toast(f"Created {made.label}")


def _refresh(miner: MinerApp, trackers: dict[str, Tracker], cluster_id: int) -> None:
    outcome = service.refresh_links(miner.engine, trackers, cluster_ids=[cluster_id])
    st.toast(f"{outcome.checked} checked, {outcome.changed} changed"
             + (f", {outcome.failed} failed" if outcome.failed else ""))


# --- the Settings page ------------------------------------------------------------------------------


def tracker_tests(miner: MinerApp) -> None:
    """A connection test per configured tracker (the demo Jira in demo mode): what it can reach, or why not."""
    configured = [name for name in TRACKERS if name in _configured(miner)]
    if not configured:
        st.caption("No issue tracker configured: set JIRA_* or GITHUB_* to link clusters to their fixes "
                   "(README \"Fixes\").")
        return
    for column, name in zip(st.columns(3), configured, strict=False):
        if column.button(f"Test {LABELS[name]}", width="stretch", key=f"test_tracker_{name}"):
            trackers = miner.trackers()
            try:
                st.session_state[f"test_tracker_result_{name}"] = (True, trackers[name].check())
            except MinerError as exc:
                st.session_state[f"test_tracker_result_{name}"] = (False, str(exc))
            finally:
                service.close_trackers(trackers)
        result = st.session_state.get(f"test_tracker_result_{name}")
        if result is not None:
            (column.success if result[0] else column.error)(code_span(result[1]))


# --- the Clusters list -----------------------------------------------------------------------------


def with_fix_column(miner: MinerApp, shown: pd.DataFrame, cluster_ids: Iterable[int]) -> pd.DataFrame:
    """`shown` with a "Fix" column ("SW-12 · Done") after Status, when any shown cluster has a link."""
    ids = [int(c) for c in cluster_ids]
    links = store.links_for_clusters(miner.engine, ids)
    if not links:
        return shown
    out = shown.copy()
    labels = [", ".join(f"{lk.key} · {lk.status or '?'}" for lk in links.get(cid, [])) for cid in ids]
    at = list(out.columns).index("triage_status") + 1 if "triage_status" in out.columns else len(out.columns)
    out.insert(at, "fix", labels)
    return out
