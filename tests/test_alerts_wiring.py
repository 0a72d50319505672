"""Alerts where people and the scheduler reach them: the CLI (`alerts test|send|channels|log`), the REST API,
the health checks, the pipeline's rule step and the app's delivery duty; the regression loop from a linked
fix to a delivered alert. Receivers are the real local doubles of `tests/fakes/alert_receivers.py`; the
tracker is the demo tracker as a configured Jira Cloud."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, insert, select
from starlette.applications import Starlette
from starlette.testclient import TestClient

from miner import api, health
from miner.alerts import outbox
from miner.alerts.settings import AlertSettings
from miner.app import MinerApp
from miner.cli import EXIT_BAD_INPUT, EXIT_OK, main
from miner.config import Settings
from miner.fixes.demo_tracker import DemoTracker
from miner.pipeline import do_alerts
from miner.progress import RunContext, RunControl
from tests.fakes.alert_receivers import Fault, Receivers
from tests.test_alerts import make_cluster

TOKEN = "api-token"


@pytest.fixture
def receivers() -> Iterator[Receivers]:
    with Receivers() as r:
        yield r


def slack_env(receivers: Receivers) -> dict[str, str]:
    return {"MINER_ALERT_SLACK_TYPE": "slack", "MINER_ALERT_SLACK_URL": receivers.slack_url,
            "MINER_ALERT_TIMEOUT": "2"}


@pytest.fixture
def app(sqlite_url: str, receivers: Receivers) -> Iterator[MinerApp]:
    settings = Settings.load(env={"DATABASE_URL": sqlite_url, "MINER_SOURCE": "zendesk",
                                  "ZENDESK_BASE_URL": "http://127.0.0.1:9", "ZENDESK_EMAIL": "a@acme.example",
                                  "ZENDESK_API_TOKEN": "t", "MINER_API_TOKEN": TOKEN,
                                  "MINER_PUBLIC_URL": "https://miner.acme.example"}, secrets_file=False)
    alerts = AlertSettings.load(slack_env(receivers), secrets_file=False, public_url=settings.public_url)
    miner = MinerApp(settings, alerts).start(scheduler=False)
    yield miner
    miner.stop()


def test_the_cli_sends_a_test_alert_and_says_it_arrived(sqlite_url: str, receivers: Receivers,
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(sqlite_url.removeprefix("sqlite:///").rpartition("/")[0])  # no secrets.toml here
    for name, value in {"DATABASE_URL": sqlite_url, **slack_env(receivers)}.items():
        monkeypatch.setenv(name, value)
    assert main(["alerts", "test", "--channel", "slack"]) == EXIT_OK
    assert capsys.readouterr().out == "ok: test alert delivered to slack\n"
    assert receivers.of("slack")[0].body["text"].startswith("Test alert from Product Issue Miner")
    assert main(["alerts", "log"]) == EXIT_OK
    assert "slack        test       cluster -      delivered attempts 1" in capsys.readouterr().out
    assert main(["alerts", "test", "--channel", "nope"]) == EXIT_BAD_INPUT
    assert capsys.readouterr().err == "error: no alert channel 'nope'; channels: slack\n"


def test_the_cli_send_runs_the_rules_and_delivers(sqlite_url: str, receivers: Receivers,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(sqlite_url.removeprefix("sqlite:///").rpartition("/")[0])
    for name, value in {"DATABASE_URL": sqlite_url, **slack_env(receivers)}.items():
        monkeypatch.setenv(name, value)
    assert main(["db", "upgrade"]) == EXIT_OK
    from miner import db

    engine = db.make_engine(sqlite_url)
    make_cluster(engine, 7)
    engine.dispose()
    assert main(["alerts", "send"]) == EXIT_OK
    assert '"delivered": 1' in capsys.readouterr().out
    assert main(["alerts", "send"]) == EXIT_OK  # nothing new: nothing sent again
    assert len(receivers.of("slack")) == 1


def test_a_bad_alert_setting_stops_the_cli_with_one_line(sqlite_url: str, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.setenv("MINER_ALERT_OPS_TYPE", "pager")
    assert main(["alerts", "channels"]) == EXIT_BAD_INPUT
    assert capsys.readouterr().err == ("error: Invalid alert configuration: MINER_ALERT_OPS_TYPE: must be one of "
                                       "slack, teams, email, webhook (got 'pager')\n")


def test_the_rest_api_tests_a_channel_and_lists_deliveries(app: MinerApp, receivers: Receivers) -> None:
    client = TestClient(Starlette(routes=api.routes(lambda: app)), headers={"Authorization": f"Bearer {TOKEN}"})
    [channel] = client.get("/api/alerts/channels").json()
    assert (channel["channel"], channel["destination"]) == ("slack", f"{receivers.url}/••••")
    sent = client.post("/api/alerts/test", json={"channel": "slack"})
    assert (sent.status_code, sent.json()["delivered"]) == (200, True)
    assert client.post("/api/alerts/test", json={"channel": "nope"}).status_code == 404
    receivers.fail_next(Fault(500))
    failed = client.post("/api/alerts/test", json={"channel": "slack"})
    assert (failed.status_code, failed.json()["message"]) == (502, "slack: attempt 1: HTTP 500: injected fault")
    log = client.get("/api/alerts/deliveries?limit=5").json()
    assert [(row["channel"], row["rule"], row["status"]) for row in log] == [
        ("slack", "test", "failed"), ("slack", "test", "delivered")]
    assert TestClient(Starlette(routes=api.routes(lambda: app))).post(
        "/api/alerts/send").status_code == 401  # sending needs the token


def test_health_checks_list_each_alert_channel(app: MinerApp, receivers: Receivers) -> None:
    results = health.run_checks(app.settings, app.engine, alerts=app.alerts)
    assert [h.component for h in results][-1] == "alert:slack"
    assert [h.component for h in health.latest(app.engine, app.alerts)][-1] == "alert:slack"


def test_the_pipelines_rule_step_enqueues_an_emerging_alert_and_the_apps_duty_delivers_it(
        app: MinerApp, receivers: Receivers) -> None:
    make_cluster(app.engine, 7)  # as the trends step leaves it: emerging
    result: dict = {}
    do_alerts(RunContext(app.settings, app.engine, alerts=app.alerts), RunControl(), result)
    assert result["alerts"] == {"fired": {"emerging": 1, "regression": 0}, "cleared": 0}
    assert [row["status"] for row in outbox.recent(app.engine)] == ["pending"]
    app.deliver_alerts()
    assert [row["status"] for row in outbox.recent(app.engine)] == ["delivered"]
    assert receivers.of("slack")[0].body["text"].startswith("Emerging: Export broken")


def test_without_channels_the_rule_step_records_nothing(app: MinerApp) -> None:
    make_cluster(app.engine, 7)
    result: dict = {}
    do_alerts(RunContext(app.settings, app.engine), RunControl(), result)
    assert "alerts" not in result and outbox.recent(app.engine) == []


# --- the regression loop, end to end ----------------------------------------------------------------


def add_tickets(engine: Engine, cluster_id: int, days: list[date]) -> None:
    """One ticket with one issue of the cluster per day given (created at noon UTC that day)."""
    from miner.models import Issue, Ticket

    with engine.begin() as conn:
        first = int(conn.execute(select(func.coalesce(func.max(Ticket.__table__.c.id), 0))).scalar_one()) + 1
        for tid, day in enumerate(days, start=first):
            at = datetime.combine(day, time(12), UTC)
            conn.execute(insert(Ticket.__table__).values(
                id=tid, subject="s", description="d", status="open", tags=[], created_at=at, updated_at=at,
                generated_timestamp=int(at.timestamp()), requester_id=tid, organization_id=tid, synced_at=at))
            conn.execute(insert(Issue.__table__).values(
                ticket_id=tid, category="reports", subcategory="export", issue_type="bug", severity="high",
                summary="s", detail="", representative_quote="the export button does nothing", confidence=0.9,
                ticket_created_at=at, organization_id=tid, requester_id=tid, cluster_id=cluster_id,
                cluster_similarity=0.9, cluster_pinned=False, created_at=at, updated_at=at))


@pytest.fixture
def jira() -> Iterator[DemoTracker]:
    with DemoTracker(jira_credentials=("pm@acme.example", "jira-token")) as tracker:
        yield tracker


@pytest.fixture
def linked_app(sqlite_url: str, receivers: Receivers, jira: DemoTracker) -> Iterator[MinerApp]:
    """An app with a Slack channel and the demo tracker as its configured Jira Cloud."""
    settings = Settings.load(env={"DATABASE_URL": sqlite_url, "MINER_SOURCE": "zendesk",
                                  "ZENDESK_BASE_URL": "http://127.0.0.1:9", "ZENDESK_EMAIL": "a@acme.example",
                                  "ZENDESK_API_TOKEN": "t", "JIRA_BASE_URL": jira.url,
                                  "JIRA_EMAIL": "pm@acme.example", "JIRA_API_TOKEN": "jira-token"},
                             secrets_file=False)
    alerts = AlertSettings.load(slack_env(receivers), secrets_file=False)
    miner = MinerApp(settings, alerts).start(scheduler=False)
    yield miner
    miner.stop()


def test_a_fix_that_does_not_hold_alerts_once_through_the_refresh_and_trends_runs(
        linked_app: MinerApp, jira: DemoTracker, receivers: Receivers) -> None:
    from miner.fixes import service, store
    from miner.vocabulary import RunKind, StartedBy

    today = datetime.now(UTC).date()
    fixed = today - timedelta(days=20)
    make_cluster(linked_app.engine, 7, emerging=False, quotes=())
    add_tickets(linked_app.engine, 7, [fixed - timedelta(days=d) for d in range(1, 15)])  # one a day before the fix
    key = jira.add_jira_issue("Export broken")
    trackers = linked_app.trackers()
    try:
        service.link_existing(linked_app.engine, trackers["jira"], 7, key)  # open: nothing to regress from
    finally:
        service.close_trackers(trackers)
    jira.resolve_jira(key, at=datetime.combine(fixed, time(15), UTC))
    refreshed = linked_app.worker.run_blocking(RunKind.REFRESH_LINKS, started_by=StartedBy.SCHEDULE)
    assert refreshed is not None and [link.resolved for link in store.all_links(linked_app.engine)] == [True]
    add_tickets(linked_app.engine, 7, [today - timedelta(days=d) for d in (2, 3, 5)])  # past the grace week: back

    def trends_run() -> dict[str, Any]:
        outcome = linked_app.worker.run_blocking(RunKind.TRENDS, started_by=StartedBy.SCHEDULE)
        assert outcome is not None and outcome.status == "succeeded", outcome
        return dict(outcome.result["alerts"]["fired"])

    assert trends_run()["regression"] == 1
    assert trends_run()["regression"] == 0  # the same fix, the same comeback: no second alert
    linked_app.deliver_alerts()
    linked_app.deliver_alerts()
    [received] = receivers.of("slack")
    assert received.body["text"].startswith(f"Regression: Export broken: Jira {key} was resolved, but the problem is back")
    assert [(row["rule"], row["status"]) for row in outbox.recent(linked_app.engine)] == [("regression", "delivered")]
