"""Plotly figures for the dashboard pages.

Built with `plotly.graph_objects` from whole dicts: plotly.express builds the same figures through
hundreds of small validated updates, which cost ~0.5 s per page render at a million tickets.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from miner.queries import ClusterWeek
from miner.vocabulary import Severity

SEVERITY_COLORS: dict[str, str] = {Severity.CRITICAL: "#B91C1C", Severity.HIGH: "#EA580C", Severity.MEDIUM: "#CA8A04",
                   Severity.LOW: "#65A30D"}
PALETTE = ("#4F46E5", "#0EA5E9", "#10B981", "#F59E0B", "#EF4444", "#8B5CF6", "#EC4899", "#14B8A6",
           "#64748B", "#84CC16")
MARGIN = {"l": 10, "r": 10, "t": 30, "b": 10}
LEGEND_BELOW = {"orientation": "h", "y": -0.2}


def _figure(traces: Sequence[Mapping[str, Any]], *, title: str | None, height: int, **layout: Any) -> go.Figure:
    base: dict[str, Any] = {"margin": MARGIN, "legend": LEGEND_BELOW, "height": height, "hovermode": "x unified"}
    if title:
        base["title"] = {"text": title}
    return go.Figure({"data": list(traces), "layout": {**base, **layout}})


def _short(name: str, width: int = 42) -> str:
    return name if len(name) <= width else name[:width - 2] + "…"


def stacked_area(df: pd.DataFrame, title: str) -> go.Figure:
    """One stacked band per cluster; `df` has day, name, tickets (long form)."""
    order = df.groupby("name", sort=False)["tickets"].sum().sort_values(ascending=False).index
    traces = []
    for i, name in enumerate(order):
        part = df[df["name"] == name]
        traces.append({
            "type": "scatter", "mode": "lines", "stackgroup": "clusters", "name": _short(str(name), 60),
            "x": part["day"].tolist(), "y": part["tickets"].tolist(),
            "line": {"width": 0.5, "color": PALETTE[i % len(PALETTE)]},
            "hovertemplate": "%{y}<extra>" + _short(str(name), 40).replace("<", "&lt;") + "</extra>",
        })
    return _figure(traces, title=title, height=380, yaxis={"title": {"text": "Tickets"}})


def daily_bars(df: pd.DataFrame, y: str, title: str, color: str = "#4F46E5") -> go.Figure:
    trace = {"type": "bar", "x": df["day"].tolist(), "y": df[y].tolist(), "marker": {"color": color},
             "name": y.capitalize()}
    yaxis: dict[str, Any] = {"title": {"text": y.capitalize()}, "rangemode": "tozero"}
    if df.empty or df[y].max() <= 5:
        yaxis["dtick"] = 1  # counts of a few tickets: no 0.2-ticket gridlines
    return _figure([trace], title=title, height=280, showlegend=False, yaxis=yaxis)


def line(df: pd.DataFrame, y: str, title: str) -> go.Figure:
    trace = {"type": "scatter", "mode": "lines", "x": df["day"].tolist(), "y": df[y].tolist(),
             "line": {"color": "#4F46E5"}, "name": y.capitalize()}
    return _figure([trace], title=title, height=280, showlegend=False, yaxis={"title": {"text": y.capitalize()}})


def mark_days(fig: go.Figure, marks: Sequence[tuple[date, str]], color: str = "#10B981") -> go.Figure:
    """`fig` with a dashed vertical line and a label on each day of `marks` (e.g. the day a fix was
    resolved). Added as layout shapes in one update: add_vline validates each one separately."""
    if not marks:
        return fig
    shapes = [{"type": "line", "xref": "x", "yref": "paper", "x0": str(day), "x1": str(day), "y0": 0, "y1": 1,
               "line": {"color": color, "width": 2, "dash": "dash"}} for day, _ in marks]
    notes = [{"xref": "x", "yref": "paper", "x": str(day), "y": 1, "text": label.replace("<", "&lt;"),
              "showarrow": False, "xanchor": "left", "yanchor": "top", "font": {"color": color, "size": 11}}
             for day, label in marks]
    fig.update_layout(shapes=[*fig.layout.shapes, *shapes], annotations=[*fig.layout.annotations, *notes])
    return fig


def rising_bars(rising: Sequence[ClusterWeek]) -> go.Figure:
    """Last 7 days against the 7 before, one pair of bars per cluster (`rising` ordered fastest first)."""
    shown = list(reversed(rising))
    names = [_short(c.name) for c in shown]
    full = [[c.name, float(c.change_pct or 0)] for c in shown]
    hover = "%{customdata[0]}<br>%{x} tickets (change %{customdata[1]:+.0f}%)<extra>%{fullData.name}</extra>"
    traces = [
        {"type": "bar", "orientation": "h", "name": "previous 7 days", "y": names,
         "x": [c.count_prev_7d for c in shown], "marker": {"color": "#CBD5E1"}, "customdata": full,
         "hovertemplate": hover},
        {"type": "bar", "orientation": "h", "name": "last 7 days", "y": names,
         "x": [c.count_7d for c in shown], "marker": {"color": "#EA580C"}, "customdata": full,
         "hovertemplate": hover},
    ]
    return _figure(traces, title=None, height=360, barmode="group", hovermode="closest",
                   xaxis={"title": {"text": "Tickets"}})


def severity_by_category(df: pd.DataFrame) -> go.Figure:
    """Stacked horizontal bars; `df` has category, severity, issues."""
    traces = []
    for severity in Severity.values():
        part = df[df["severity"] == severity]
        if part.empty:
            continue
        traces.append({"type": "bar", "orientation": "h", "name": severity, "y": part["category"].tolist(),
                       "x": part["issues"].tolist(), "marker": {"color": SEVERITY_COLORS[severity]}})
    return _figure(traces, title=None, height=340, barmode="stack", hovermode="closest",
                   xaxis={"title": {"text": "Issues"}})


def severity_donut(mix: Mapping[str, int]) -> go.Figure | None:
    severities = [s for s in Severity.values() if mix.get(s)]
    if not severities:
        return None
    trace = {"type": "pie", "hole": 0.5, "sort": False, "direction": "clockwise", "labels": severities,
             "values": [int(mix[s]) for s in severities],
             "marker": {"colors": [SEVERITY_COLORS[s] for s in severities]}}
    return _figure([trace], title="Severity mix", height=280, hovermode="closest")


def warm_up() -> None:
    """Build one tiny figure of each kind so plotly's lazily imported validators load off the request path."""
    days = pd.DataFrame({"day": ["2026-01-01"], "name": ["x"], "tickets": [1]})
    stacked_area(days, "")
    daily_bars(days, "tickets", "")
    rising_bars(pd.DataFrame({"name": ["x"], "count_prev_7d": [1], "count_7d": [2], "change_pct": [100.0]}))
    severity_by_category(pd.DataFrame({"category": ["x"], "severity": ["low"], "issues": [1]}))
    severity_donut({"low": 1})
