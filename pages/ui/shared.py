"""What every page shares: the app handle, the date range, cached queries, formatting and inert
rendering of ticket text. Pages stay thin: they lay out widgets and call `miner/`.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pandas as pd
import streamlit as st

from miner.app import MinerApp
from miner.config import ConfigError
from miner.queries import Period
from miner.runtime import runtime

PERIODS = {"Last 7 days": 7, "Last 30 days": 30, "Last 90 days": 90, "Last 120 days": 120}
STATUS_ICONS = {
    "running": ":material/progress_activity:", "succeeded": ":material/check_circle:",
    "completed": ":material/check_circle:", "failed": ":material/error:", "cancelled": ":material/cancel:",
    "interrupted": ":material/warning:", "skipped": ":material/skip_next:", "idle": ":material/pause_circle:",
}
STATUS_MARKS = {  # plain characters: table cells cannot show material icons
    "running": "⏳", "succeeded": "✅", "failed": "❌", "cancelled": "⏹", "interrupted": "⚠️", "skipped": "⏭",
}
TRIAGE_LABELS = {"new": "New", "reviewing": "Reviewing", "planned": "Planned", "fixed": "Fixed",
                 "wont_fix": "Won't fix"}


# --- the app ------------------------------------------------------------------------------------


def app() -> MinerApp:
    """The started process-wide app, or a clear explanation and a stop."""
    try:
        return runtime()
    except ConfigError as exc:
        st.error(f"**Configuration problem.** {code_span(exc)}")
        st.caption("Fix the setting (environment variable or `.streamlit/secrets.toml`) and reload the page. "
                   "README section *Configuration* lists every setting.")
        st.stop()
    except Exception as exc:  # the database is unreachable, a migration failed, ...
        st.error(f"**Product Issue Miner could not start:** {code_span(exc)}")
        st.caption("Check DATABASE_URL and the server log, then reload the page.")
        st.stop()
    raise AssertionError("unreachable")


# --- shared filters -----------------------------------------------------------------------------


def period_picker() -> None:
    """The date range shared by every page (sidebar)."""
    state = st.session_state
    state.setdefault("period_choice", "Last 30 days")
    choice = st.sidebar.selectbox("Period", [*PERIODS, "Custom"], key="period_choice")
    if choice == "Custom":
        today = datetime.now(UTC).date()
        default = state.get("custom_range", (today - timedelta(days=29), today))
        picked = st.sidebar.date_input("From - to", value=default, max_value=today, key="custom_range")
        if not isinstance(picked, tuple | list) or len(picked) != 2:
            st.sidebar.caption("Pick a start and an end date.")


def current_period() -> Period:
    state = st.session_state
    choice = state.get("period_choice", "Last 30 days")
    if choice == "Custom":
        picked = state.get("custom_range")
        if isinstance(picked, tuple | list) and len(picked) == 2 and all(isinstance(d, date) for d in picked):
            start, end = sorted(picked)
            return Period(start, end)
        return Period.last(30)
    return Period.last(PERIODS.get(choice, 30))


# --- cached queries -----------------------------------------------------------------------------


@st.cache_data(ttl=30, show_spinner=False, max_entries=256)
def _cached(name: str, db_key: str, *args: Any) -> Any:
    import miner.queries as q

    return getattr(q, name)(runtime().engine, *args)


def query(name: str, *args: Any) -> Any:
    """A `miner.queries` function, cached for 30 s per arguments (cleared after every run or edit)."""
    return _cached(name, runtime().settings.database_url, *args)


def refresh_data() -> None:
    _cached.clear()


# --- rendering ----------------------------------------------------------------------------------
# Ticket text (subjects, messages, quotes, names and summaries built from them, organisation names) is
# shown through elements that parse nothing: st.text, or st.html with every character escaped. Escaping
# Markdown is not enough - Streamlit's Markdown still turns "www.example.com" into a link.


def inert(value: Any) -> str:
    """`value` as HTML text for st.html: shown character for character, no tags, no links."""
    return html.escape("" if value is None else str(value)).replace("\n", "<br>")


def show_heading(value: Any, level: int = 1) -> None:
    st.html(f"<h{level}>{inert(value)}</h{level}>")


def show_text(value: Any) -> None:
    st.text("" if value is None else str(value))


def show_caption(value: Any) -> None:
    st.html(f'<p style="font-size:0.875rem;opacity:0.65;margin:0">{inert(value)}</p>')


def show_quote(value: Any) -> None:
    st.html('<blockquote style="margin:0.25rem 0;padding:0.1rem 0 0.1rem 1rem;'
            f'border-left:3px solid rgba(128,128,128,0.4)">{inert(value)}</blockquote>')


def code_span(value: Any) -> str:
    """`value` as a Markdown code span: literal inside st.error/st.caption text (no links, no markup)."""
    text = " ".join(("" if value is None else str(value)).split())
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    return f"{fence} {text} {fence}" if text else ""


def fmt_dt(value: Any, with_time: bool = True) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "—"  # not "-": alone on a Markdown line under text, that makes a heading
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        value = value if value.tzinfo else value.replace(tzinfo=UTC)
        return value.strftime("%Y-%m-%d %H:%M UTC" if with_time else "%Y-%m-%d")
    return str(value)


def fmt_ago(value: Any) -> str:
    if value is None:
        return "never"
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    value = value if value.tzinfo else value.replace(tzinfo=UTC)
    seconds = (datetime.now(UTC) - value).total_seconds()
    future = seconds < 0
    seconds = abs(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            text = f"{seconds / size:.0f} {unit}"
            break
    else:
        text = f"{seconds:.0f} s"
    return f"in {text}" if future else f"{text} ago"


def fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    seconds = max(0.0, float(seconds))
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds // 60:.0f} min {seconds % 60:.0f} s"
    return f"{seconds // 3600:.0f} h {(seconds % 3600) // 60:.0f} min"


def ticket_url(miner: MinerApp, ticket_id: int) -> str | None:
    """A link to the ticket in Zendesk (built from the subdomain), or the demo Zendesk's JSON."""
    if miner.settings.effective_source == "zendesk" and miner.settings.zendesk_public_url:
        return f"{miner.settings.zendesk_public_url}/agent/tickets/{ticket_id}"
    if miner.context.demo_url:
        return f"{miner.context.demo_url}/api/v2/tickets/{ticket_id}.json"
    return None


def empty_state(title: str, body: str, action: Callable[[], None] | None = None) -> None:
    with st.container(border=True):
        st.markdown(f"#### {title}")
        st.markdown(body)
        if action is not None:
            action()
