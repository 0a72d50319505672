"""What the pages, the REST API, the CLI and the scheduler call: trackers from the settings, create or link
an issue for a cluster, and the effect of a resolved fix on the cluster's tickets."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select

from miner.config import Settings
from miner.fixes import store
from miner.fixes.brief import NoSuchCluster, load_brief
from miner.fixes.effect import WINDOW_DAYS, FixEffect, Regression, fix_effect, regressed
from miner.fixes.github import GitHubClient
from miner.fixes.jira import JiraClient
from miner.fixes.settings import FixSettings
from miner.fixes.store import Link, RefreshResult, TrackerTally
from miner.fixes.trackers import LABELS, RetryPolicy, Tracker, TrackerName, TrackerRejected
from miner.models import cluster_days_t, clusters_t, runs_t
from miner.vocabulary import RunKind, RunStatus

# The demo Jira (miner.fixes.demo_tracker) takes any credentials; these only make the requests well-formed.
DEMO_EMAIL = "demo@shiftwise.example"
DEMO_TOKEN = "demo"


def make_trackers(settings: FixSettings, *, demo_jira_url: str | None = None,
                  sleep: Callable[[float], None] = time.sleep) -> dict[str, Tracker]:
    """The configured trackers by name. Without Jira settings, `demo_jira_url` (the demo Jira of demo
    mode) stands in for Jira, with its seeded project."""
    from miner.fixes.demo_tracker import DEMO_ISSUE_TYPE, DEMO_PROJECT_KEY

    policy = RetryPolicy(max_wait=settings.tracker_max_wait)
    timeout = settings.tracker_timeout
    trackers: dict[str, Tracker] = {}
    if settings.jira_configured:
        assert settings.jira_base_url and settings.jira_email and settings.jira_api_token
        trackers["jira"] = JiraClient(
            settings.jira_base_url, settings.jira_email, settings.jira_api_token.get_secret_value(),
            project_key=settings.jira_project_key, issue_type=settings.jira_issue_type, timeout=timeout,
            policy=policy, sleep=sleep)
    elif demo_jira_url:
        trackers["jira"] = JiraClient(demo_jira_url, DEMO_EMAIL, DEMO_TOKEN, project_key=DEMO_PROJECT_KEY,
                                      issue_type=DEMO_ISSUE_TYPE, timeout=timeout, policy=policy, sleep=sleep)
    if settings.github_configured:
        assert settings.github_repository and settings.github_token
        trackers["github"] = GitHubClient(
            settings.github_token.get_secret_value(), settings.github_repository, api_url=settings.github_api_url,
            timeout=timeout, policy=policy, sleep=sleep)
    return trackers


def close_trackers(trackers: Mapping[str, Tracker]) -> None:
    for tracker in trackers.values():
        tracker.close()


def tracker_for(trackers: Mapping[str, Tracker], name: str) -> Tracker:
    tracker = trackers.get(name)
    if tracker is None:
        hint = {"jira": "JIRA_BASE_URL, JIRA_EMAIL and JIRA_API_TOKEN",
                "github": "GITHUB_REPOSITORY and GITHUB_TOKEN"}.get(name)
        if hint is None:
            raise TrackerRejected(f"Unknown tracker '{name}': use jira or github.")
        raise TrackerRejected(f"{LABELS[name]} is not configured: set {hint}.")
    return tracker


def tracker_of(ref: str) -> TrackerName:
    """Which tracker a typed reference is for: GitHub for "#12", "owner/repo#12" and github links, else Jira."""
    text = ref.strip()
    return "github" if "#" in text or "github" in text.lower() else "jira"


def ticket_link(settings: Settings, demo_url: str | None) -> Callable[[int], str | None]:
    """Links to tickets for an issue's description: the agent view in Zendesk, the demo Zendesk's JSON."""
    base = settings.zendesk_public_url if settings.effective_source == "zendesk" else None

    def url(ticket_id: int) -> str | None:
        if base:
            return f"{base}/agent/tickets/{ticket_id}"
        return f"{demo_url}/api/v2/tickets/{ticket_id}.json" if demo_url else None

    return url


# --- create and link ------------------------------------------------------------------------------


def create_for_cluster(engine: Engine, tracker: Tracker, cluster_id: int, *,
                       ticket_url: Callable[[int], str | None], cluster_url: str | None = None,
                       created_by: str | None = None, now: datetime | None = None) -> Link:
    """Create an issue describing the cluster and link it."""
    brief = load_brief(engine, cluster_id, ticket_url=ticket_url, cluster_url=cluster_url)
    issue = tracker.create(brief)
    return store.link(engine, cluster_id, issue, created_by=created_by, now=now)


def link_existing(engine: Engine, tracker: Tracker, cluster_id: int, ref: str, *, created_by: str | None = None,
                  now: datetime | None = None) -> Link:
    """Link the cluster to an existing issue ("SW-12", "#12", a link), after checking it exists."""
    _require_cluster(engine, cluster_id)
    issue = tracker.fetch(tracker.parse_ref(ref))
    return store.link(engine, cluster_id, issue, created_by=created_by, now=now)


def refresh_links(engine: Engine, trackers: Mapping[str, Tracker], *, cluster_ids: list[int] | None = None,
                  now: datetime | None = None) -> RefreshResult:
    """Re-read linked issues (the scheduled job: all of them; a page's "Refresh": its cluster's)."""
    return store.refresh_all(engine, trackers, now=now, cluster_ids=cluster_ids)


# --- health ------------------------------------------------------------------------------------------

FAILING_AFTER = 3  # refresh runs in a row in which a tracker answered nothing: three hours of the hourly job
RUNS_READ = 48  # how far back "last answered" is looked for: two days of hourly refreshes


def tracker_health(engine: Engine, names: Iterable[str], *,
                   failing_after: int = FAILING_AFTER) -> list[tuple[str, bool, str]]:
    """Per tracker: (name, ok, message), from the results of the latest refresh_links runs. A tracker is
    failing once it answered none of its issues in `failing_after` refreshes in a row (an issue it says is
    gone is an answer: that is the link's problem, shown on the link)."""
    with engine.connect() as conn:
        runs = conn.execute(select(runs_t.c.result, runs_t.c.finished_at)
                            .where(runs_t.c.kind == RunKind.REFRESH_LINKS, runs_t.c.status == RunStatus.SUCCEEDED)
                            .order_by(runs_t.c.id.desc()).limit(RUNS_READ)).all()
    found = []
    for name in names:
        label = LABELS.get(name, name)
        tallies = [(_tally(run.result, name), run.finished_at) for run in runs]
        asked = [(tally, at) for tally, at in tallies if tally is not None]
        if not asked:
            found.append((name, True, f"{label}: no linked issue refreshed yet"))
            continue
        streak = 0
        for tally, _ in asked:
            if tally.answered or not tally.failed:
                break
            streak += 1
        last_ok = next((at for tally, at in asked if tally.answered), None)
        since = f"last answered {last_ok:%Y-%m-%d %H:%M} UTC" if last_ok else "never answered"
        if streak >= failing_after:
            found.append((name, False, f"{label}: {streak} refreshes in a row failed ({since}); last error: "
                                       f"{asked[0][0].last_error}"))
        else:
            latest, at = asked[0]
            asked_for = latest.answered + latest.failed
            found.append((name, True, f"{label}: answered for {latest.answered} of {asked_for} linked issues at "
                                      f"the refresh of {at:%Y-%m-%d %H:%M} UTC"))
    return found


def _tally(result: dict[str, Any] | None, name: str) -> TrackerTally | None:
    """The tracker's figures in a refresh run's result (None: it had no link to read then)."""
    figures = ((result or {}).get("links") or {}).get("trackers", {}).get(name)
    if not isinstance(figures, dict):
        return None
    return TrackerTally(int(figures.get("answered", 0)), int(figures.get("failed", 0)), figures.get("last_error"))


# --- effect ------------------------------------------------------------------------------------------


def daily_tickets(engine: Engine, cluster_id: int) -> dict[date, int]:
    """The cluster's tickets per UTC day (days without any are not listed)."""
    with engine.connect() as conn:
        rows = conn.execute(select(cluster_days_t.c.day, cluster_days_t.c.tickets).where(cluster_days_t.c.cluster_id == cluster_id))
        return {_as_date(day): int(tickets) for day, tickets in rows}


def effect_of(engine: Engine, link: Link, today: date | None = None) -> FixEffect | None:
    """The resolved fix's effect on its cluster's tickets; None while it is not resolved."""
    if not link.resolved or link.resolved_at is None:
        return None
    today = today or datetime.now(UTC).date()
    return fix_effect(daily_tickets(engine, link.cluster_id), link.resolved_at.astimezone(UTC).date(), today)


@dataclass(frozen=True)
class Regressed:
    link: Link
    regression: Regression


def regressions(engine: Engine, today: date | None = None) -> list[Regressed]:
    """Every resolved link whose cluster gets reports again (for the alert rule)."""
    today = today or datetime.now(UTC).date()
    found = []
    counts: dict[int, dict[date, int]] = {}
    for link in store.all_links(engine):
        if not link.resolved or link.resolved_at is None:
            continue
        if link.cluster_id not in counts:
            counts[link.cluster_id] = daily_tickets(engine, link.cluster_id)
        verdict = regressed(counts[link.cluster_id], link.resolved_at.astimezone(UTC).date(), today)
        if verdict.regressed:
            found.append(Regressed(link, verdict))
    return found


def link_as_dict(engine: Engine, link: Link, today: date | None = None) -> dict[str, Any]:
    """A link for the REST API and `--json`: its fields (times in ISO 8601) and, once resolved, the effect."""
    out = {name: value.isoformat() if isinstance(value, datetime) else value for name, value in asdict(link).items()}
    effect = effect_of(engine, link, today)
    out["effect"] = None if effect is None else {
        "verdict": effect.verdict, "sentence": effect.sentence, "rate_before": effect.rate_before,
        "rate_after": effect.rate_after, "p_value": effect.p_value, "days_after": effect.days_after}
    return out


def fix_markers(links: list[Link]) -> list[tuple[date, str]]:
    """Where a chart of the cluster's tickets marks its fixes: (day resolved, "SW-12 resolved")."""
    return sorted((link.resolved_at.astimezone(UTC).date(), f"{link.key} resolved")
                  for link in links if link.resolved and link.resolved_at is not None)


CHART_REACH_DAYS = 120  # a fix resolved longer before the chart's period than this is not drawn into it


def chart_start(markers: list[tuple[date, str]], start: date) -> date:
    """Where a chart of the cluster's tickets from `start` should begin so that the bend shows: WINDOW_DAYS
    before the earliest fix resolved inside or shortly before it (the weeks the effect sentence compares
    with), else `start`. Without this the rate before the fix, the half that makes the point, is cut off."""
    days = [day for day, _ in markers if (start - day).days <= CHART_REACH_DAYS]
    return min(start, min(days) - timedelta(days=WINDOW_DAYS)) if days else start


def _require_cluster(engine: Engine, cluster_id: int) -> None:
    with engine.connect() as conn:
        if conn.execute(select(clusters_t.c.id).where(clusters_t.c.id == cluster_id)).first() is None:
            raise NoSuchCluster(f"There is no cluster {cluster_id}.")


def _as_date(value: object) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])
