"""Reusable dashboard pieces: live run progress, run buttons and forms, run details."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import streamlit as st

from miner.errors import MinerError
from miner.runs import registry
from miner.runs.runner import Busy
from miner.runs.worker import WorkerStatus
from miner.runtime import runtime
from miner.vocabulary import RunKind, RunStatus, StartedBy
from pages.ui.shared import STATUS_ICONS, fmt_ago, fmt_duration, refresh_data


def _watch_for_finish(status: WorkerStatus) -> None:
    """When a run finishes while a page is open, clear cached figures and redraw the whole page."""
    key = "_watched_run"
    state = (status.run_id, status.is_running)
    previous = st.session_state.get(key)
    st.session_state[key] = state
    if previous is not None and previous[1] and previous != state:
        refresh_data()
        st.rerun(scope="app")


def progress_line(status: WorkerStatus) -> str:
    parts = [f"{RunKind.label_of(status.kind) or 'run'} #{status.run_id}", status.stage or "starting"]
    done, total = status.done, status.total
    if total:
        parts.append(f"{done or 0:,}/{total:,}")
    elif done:
        parts.append(f"{done:,}")
    if status.started_at:
        elapsed = (datetime.now(UTC) - status.started_at).total_seconds()
        parts.append(f"{fmt_duration(elapsed)} elapsed")
    if done and status.stage_seconds and status.stage_seconds > 1:
        parts.append(f"{done / status.stage_seconds:,.0f}/s")
    return " · ".join(parts)


@st.fragment(run_every=1.0)
def live_progress(*, allow_cancel: bool = False) -> None:
    """The worker's live state; redraws itself every second without reloading the page."""
    status = runtime().worker.status()
    _watch_for_finish(status)
    if status.is_running:
        done = status.done or 0
        fraction = min(1.0, done / status.total) if status.total else 0.0
        st.progress(fraction, text=progress_line(status))
        if status.message:
            st.caption(status.message)
        if allow_cancel:
            label = "Cancelling..." if status.cancel_requested else "Cancel run"
            if st.button(label, key="cancel_run", disabled=status.cancel_requested,
                         icon=":material/stop_circle:"):
                runtime().worker.cancel(status.run_id)
                st.toast("Cancel requested: the run stops at its next checkpoint and keeps what it saved.")
        return
    if status.status is None:
        st.caption("No runs yet.")
        return
    icon = STATUS_ICONS.get(status.status, "")
    when = fmt_ago(status.finished_at) if status.finished_at else ""
    text = f"{icon} Last run: {RunKind.label_of(status.kind)} #{status.run_id} {status.status} {when}"
    if status.status is RunStatus.SUCCEEDED:
        st.success(text)
    elif status.status in (RunStatus.FAILED, RunStatus.INTERRUPTED):
        st.error(f"{text}: {status.last_error or ''}")
    else:
        st.info(text)


@st.fragment(run_every=2.0)
def sidebar_status() -> None:
    status = runtime().worker.status()
    _watch_for_finish(status)
    if status.is_running:
        done = status.done or 0
        st.progress(min(1.0, done / status.total) if status.total else 0.0,
                    text=f"{RunKind.label_of(status.kind)}: {status.stage or ''}")


def param_inputs(kind: RunKind, help: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Widgets for a run kind's parameters, as the task registry defines them (label, bounds, step):
    a number per whole-number parameter, where 0 leaves it out; a checkbox per flag. `help` replaces a
    parameter's help text by name. Returns the parameters to start the run with."""
    values: dict[str, Any] = {}
    for param in registry.spec(kind).params:
        text = (help or {}).get(param.name, param.help)
        if param.type is bool:
            values[param.name] = st.checkbox(param.label or param.help.capitalize(), help=text)
        else:
            number = st.number_input(param.label, min_value=0, max_value=param.high, value=0, step=param.step,
                                     help=text)
            values[param.name] = int(number) or None
    return values


def start_run(kind: RunKind, params: Mapping[str, Any] | None = None, *, job_id: str | None = None) -> int | None:
    """Start a run from a button; shows why when it cannot start."""
    miner = runtime()
    try:
        if job_id is not None:
            run_id = miner.run_job_now(job_id)
        else:
            run_id = miner.worker.submit(kind, params or {}, started_by=StartedBy.DASHBOARD)
    except Busy as exc:
        st.warning(str(exc))
        return None
    except registry.BadParams as exc:
        st.error(f"Invalid input - {exc}")
        return None
    except MinerError as exc:
        st.error(str(exc))
        return None
    if run_id is not None:
        st.toast(f"Started {RunKind.label_of(kind).lower()} run #{run_id}")
    return run_id


def run_details(params: dict[str, Any] | None, result: dict[str, Any] | None) -> pd.DataFrame:
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
