"""What every page shares: the app handle, the date range, cached queries, formatting and inert
rendering of ticket text. Pages stay thin: they lay out widgets and call `miner/`.
"""

from __future__ import annotations

import functools
import html
import logging
import math
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any, Concatenate, ParamSpec, TypeVar, cast

import pandas as pd
import streamlit as st
from sqlalchemy import Engine

from miner.app import MinerApp
from miner.config import ConfigError
from miner.queries import Period
from miner.runtime import runtime
from miner.vocabulary import RunStatus

log = logging.getLogger("miner.pages")
P = ParamSpec("P")
R = TypeVar("R")

PERIODS = {"Last 7 days": 7, "Last 30 days": 30, "Last 90 days": 90, "Last 120 days": 120}
STATUS_ICONS = {
    RunStatus.RUNNING: ":material/progress_activity:", RunStatus.SUCCEEDED: ":material/check_circle:",
    RunStatus.FAILED: ":material/error:", RunStatus.CANCELLED: ":material/cancel:",
    RunStatus.INTERRUPTED: ":material/warning:", RunStatus.SKIPPED: ":material/skip_next:",
}


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
        log.exception("Product Issue Miner could not start")  # the traceback goes to the server log
        st.error(f"**Product Issue Miner could not start:** {code_span(exc)}")
        st.caption("Check DATABASE_URL and the server log, then reload the page.")
        st.stop()
    raise AssertionError("unreachable")


# --- shared filters -----------------------------------------------------------------------------


PERIOD_PARAM = "period"  # ?period=30d or ?period=2026-11-01..2026-11-30: a link reproduces the view


def _period_from_url(value: str) -> tuple[str, tuple[date, date] | None] | None:
    """(choice, custom range) from the URL's period, None if it is not one."""
    value = value.strip()
    for choice, days in PERIODS.items():
        if value == f"{days}d":
            return choice, None
    start, sep, end = value.partition("..")
    try:
        picked = (date.fromisoformat(start), date.fromisoformat(end)) if sep else None
    except ValueError:
        return None
    if picked is None or picked[0] > picked[1] or picked[1] > datetime.now(UTC).date():
        return None
    return "Custom", picked


def _period_to_url(period: Period, choice: str) -> str:
    return f"{PERIODS[choice]}d" if choice in PERIODS else f"{period.start}..{period.end}"


def period_picker() -> None:
    """The date range shared by every page (sidebar), kept in the URL so a link reproduces the view."""
    state = st.session_state
    if "period_choice" not in state:  # a new session: the link's period, if it names one
        linked = st.query_params.get(PERIOD_PARAM)
        parsed = _period_from_url(linked) if linked else None
        if linked and parsed is None:
            st.sidebar.warning(f"The link's period {code_span(linked)} is not one this dashboard knows "
                               "(use 7d, 30d, 90d, 120d or YYYY-MM-DD..YYYY-MM-DD); showing the last 30 days.")
        state["period_choice"], custom = parsed or ("Last 30 days", None)
        if custom is not None:
            state["custom_range"] = custom
    choice = st.sidebar.selectbox("Period", [*PERIODS, "Custom"], key="period_choice")
    if choice == "Custom":
        today = datetime.now(UTC).date()
        default = state.get("custom_range", (today - timedelta(days=29), today))
        picked = st.sidebar.date_input("From - to", value=default, max_value=today, key="custom_range")
        if not isinstance(picked, tuple | list) or len(picked) != 2:
            st.sidebar.caption("Pick a start and an end date.")
    st.query_params[PERIOD_PARAM] = _period_to_url(current_period(), choice)


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


def cached(read: Callable[Concatenate[Engine, P], R]) -> Callable[P, R]:
    """A `miner.queries` read for the pages: the app's engine supplied, the answer cached for 30 s per
    arguments (cleared after every run or edit by `refresh_data`), the signature kept for the type checker
    (pages/ui/data.py lists them)."""
    import miner.queries as q

    if getattr(q, read.__name__, None) is not read:
        raise TypeError(f"{read.__qualname__} is not a function of miner.queries")

    @functools.wraps(read)
    def call(*args: P.args, **kwargs: P.kwargs) -> R:
        if kwargs:
            raise TypeError(f"{read.__name__}: pass its arguments by position (they are the cache key)")
        return cast(R, _cached(read.__name__, runtime().settings.database_url, *args))

    return call


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


def missing(value: Any) -> bool:
    """None, or a table cell's NaN / NaT."""
    return value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value))


def fmt_dt(value: Any, with_time: bool = True) -> str:
    if missing(value):
        return "—"  # not "-": alone on a Markdown line under text, that makes a heading
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        value = value if value.tzinfo else value.replace(tzinfo=UTC)
        return str(value.strftime("%Y-%m-%d %H:%M UTC" if with_time else "%Y-%m-%d"))
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


def fmt_change(current: float, previous: float, *, covered: bool = True) -> str | None:
    """A change for st.metric: "+25%", "12× as many" past tenfold (a percentage that large says little),
    "new" from nothing, None (no arrow) when the earlier window is not covered by data or nothing changed."""
    if not covered or current == previous:
        return None
    if previous == 0:
        return "new"
    ratio = current / previous
    return f"{ratio:.0f}× as many" if ratio >= 10 else f"{100 * (ratio - 1):+.0f}%"


def fmt_week_change(last7: Any, prev7: Any) -> str:
    """The 7-day change for a table cell: "+25%", "×12", "new" (nothing the week before) or "—"."""
    last7 = 0 if missing(last7) else int(last7)
    prev7 = 0 if missing(prev7) else int(prev7)
    if prev7 == 0:
        return "new" if last7 else "—"
    ratio = last7 / prev7
    return f"×{ratio:.0f}" if ratio >= 10 else f"{100 * (ratio - 1):+.0f}%"


def category_label(category: Any, subcategory: Any = None) -> str:
    """The taxonomy's display name ("Scheduling / Shift swaps"), not the stored key."""
    if missing(category) or not category:
        return "Uncategorised"
    from miner.analysis.taxonomy import load_taxonomy

    sub = None if missing(subcategory) else subcategory
    return load_taxonomy(runtime().settings.taxonomy_path).label(str(category), sub)


ANALYSIS_STATES = {"done": "analysed", "failed": "failed (retried next run)", "needs_review": "needs review"}


def no_issue_label(reason: Any) -> str:
    """The taxonomy's words for why a ticket has no product issue ("How-to question")."""
    if missing(reason) or not reason:
        return ""
    from miner.analysis.taxonomy import load_taxonomy

    cue = load_taxonomy(runtime().settings.taxonomy_path).non_issue.get(str(reason))
    return cue.label if cue is not None else str(reason).replace("_", " ")


def ticket_url(miner: MinerApp, ticket_id: int) -> str | None:
    """A link to the ticket in Zendesk (built from the subdomain), or the demo Zendesk's JSON."""
    if miner.settings.effective_source == "zendesk" and miner.settings.zendesk_public_url:
        return f"{miner.settings.zendesk_public_url}/agent/tickets/{ticket_id}"
    if miner.context.demo_url:
        return f"{miner.context.demo_url}/api/v2/tickets/{ticket_id}.json"
    return None
