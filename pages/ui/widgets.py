"""Reusable dashboard pieces: live run progress, run buttons, charts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pandas as pd
import streamlit as st

from miner.errors import MinerError
from miner.runtime import runtime
from miner.tasks.jobs import BadParams
from miner.tasks.runner import Busy
from pages.ui.shared import STATUS_ICONS, fmt_ago, fmt_duration, refresh_data

KIND_LABELS = {"sync": "Sync", "analyze": "Analyze", "cluster": "Cluster", "trends": "Trends",
               "pipeline": "Full pipeline", "weekly_report": "Weekly report", "monthly_cleanup": "Cleanup"}


def _watch_for_finish(status: dict[str, Any]) -> None:
    """When a run finishes while a page is open, clear cached figures and redraw the whole page."""
    key = "_watched_run"
    state = (status.get("run_id"), status.get("is_running"))
    previous = st.session_state.get(key)
    st.session_state[key] = state
    if previous is not None and previous[1] and previous != state:
        refresh_data()
        st.rerun(scope="app")


def progress_line(status: dict[str, Any]) -> str:
    kind = KIND_LABELS.get(status.get("kind") or "", status.get("kind") or "run")
    parts = [f"{kind} #{status['run_id']}", status.get("stage") or "starting"]
    done, total = status.get("done"), status.get("total")
    if total:
        parts.append(f"{done:,}/{total:,}")
    elif done:
        parts.append(f"{done:,}")
    started = status.get("started_at")
    if started:
        elapsed = (datetime.now(UTC) - datetime.fromisoformat(started)).total_seconds()
        parts.append(f"{fmt_duration(elapsed)} elapsed")
    stage_seconds = status.get("stage_seconds")
    if done and stage_seconds and stage_seconds > 1:
        parts.append(f"{done / stage_seconds:,.0f}/s")
    return " · ".join(parts)


@st.fragment(run_every=1.0)
def live_progress(*, allow_cancel: bool = False) -> None:
    """The worker's live state; redraws itself every second without reloading the page."""
    status = runtime().worker.status()
    _watch_for_finish(status)
    if status["is_running"]:
        total, done = status.get("total"), status.get("done") or 0
        fraction = min(1.0, done / total) if total else 0.0
        st.progress(fraction, text=progress_line(status))
        if status.get("message"):
            st.caption(status["message"])
        if allow_cancel:
            label = "Cancelling..." if status.get("cancel_requested") else "Cancel run"
            if st.button(label, key="cancel_run", disabled=bool(status.get("cancel_requested")),
                         icon=":material/stop_circle:"):
                runtime().worker.cancel(status["run_id"])
                st.toast("Cancel requested: the run stops at its next checkpoint and keeps what it saved.")
        return
    if status["run_id"] is None:
        st.caption("No runs yet.")
        return
    icon = STATUS_ICONS.get(status["status"], "")
    when = fmt_ago(status.get("completed_at")) if status.get("completed_at") else ""
    kind = KIND_LABELS.get(status["kind"], status["kind"])
    word = "succeeded" if status["status"] == "completed" else status["status"]  # the seed's word, ours in the UI
    text = f"{icon} Last run: {kind} #{status['run_id']} {word} {when}"
    if status["status"] == "completed":
        st.success(text)
    elif status["status"] in ("failed", "interrupted"):
        st.error(f"{text}: {status.get('last_error') or ''}")
    else:
        st.info(text)


@st.fragment(run_every=2.0)
def sidebar_status() -> None:
    status = runtime().worker.status()
    _watch_for_finish(status)
    if status["is_running"]:
        total, done = status.get("total"), status.get("done") or 0
        st.progress(min(1.0, done / total) if total else 0.0,
                    text=f"{KIND_LABELS.get(status['kind'], status['kind'])}: {status.get('stage') or ''}")


def start_run(kind: str, params: dict[str, Any] | None = None, *, job_id: str | None = None) -> int | None:
    """Start a run from a button; shows why when it cannot start."""
    miner = runtime()
    try:
        if job_id is not None:
            run_id = miner.run_job_now(job_id)
        else:
            run_id = miner.worker.submit(kind, params or {}, trigger="dashboard")
    except Busy as exc:
        st.warning(str(exc))
        return None
    except BadParams as exc:
        st.error(f"Invalid input - {exc}")
        return None
    except MinerError as exc:
        st.error(str(exc))
        return None
    if run_id is not None:
        st.toast(f"Started {KIND_LABELS.get(kind, kind).lower()} run #{run_id}")
    return run_id


def run_details(params: dict | None, result: dict | None) -> pd.DataFrame:
    """A run's parameters and figures as rows a person reads: stage, figure, value."""
    rows = [{"stage": "Parameters", "figure": k.replace("_", " ").capitalize(),
             "value": "all waiting" if k == "batch_size" and v is None else ("—" if v is None else str(v))}
            for k, v in (params or {}).items()]
    for stage, figures in (result or {}).items():
        if isinstance(figures, dict):
            rows += [{"stage": stage.replace("_", " ").capitalize(), "figure": k.replace("_", " ").capitalize(),
                      "value": _value(v)} for k, v in figures.items()]
        else:
            rows.append({"stage": "Run", "figure": stage.replace("_", " ").capitalize(), "value": _value(figures)})
    return pd.DataFrame(rows, columns=["stage", "figure", "value"])


def _value(v: object) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:,.4f}".rstrip("0").rstrip(".")
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, dict):
        return ", ".join(f"{k}: {_value(x)}" for k, x in v.items())
    if isinstance(v, list):
        return ", ".join(_value(x) for x in v)
    return "—" if v is None else str(v)
