"""Alerts where people and the scheduler reach them: the CLI (`alerts test|send|channels|log`), the REST API,
the health checks, the pipeline's rule step and the app's delivery duty. Receivers are the real local
doubles of `tests/fakes/alert_receivers.py`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from miner import api, health
from miner.alerts import outbox
from miner.alerts.settings import AlertSettings
from miner.app import MinerApp
from miner.cli import EXIT_BAD_INPUT, EXIT_OK, main
from miner.config import Settings
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
