"""Alerts on the pages, on an app of their own: Settings lists the channels with secrets masked, its "Send a
test alert" button reaches a real local Slack double and the delivery log shows it; Operations shows a
failing channel."""

from __future__ import annotations

from pathlib import Path

from test_pages import installed, make_app, page, texts

from miner import health
from miner.alerts import service
from miner.alerts.settings import AlertSettings
from miner.app import MinerApp
from tests.fakes.alert_receivers import SLACK_TOKEN, Fault, Receivers


def test_settings_lists_alert_channels_and_sends_a_test_alert(tmp_path: Path) -> None:
    with Receivers() as receivers:
        base = make_app(f"sqlite:///{tmp_path / 'alerts.db'}")
        alerts = AlertSettings.load({"MINER_ALERT_OPS_TYPE": "slack", "MINER_ALERT_OPS_URL": receivers.slack_url,
                                     "MINER_ALERT_OPS_QUIET_HOURS": "22:00-07:00"}, secrets_file=False)
        for _ in installed(MinerApp(base.settings, alerts)):
            at = page("settings")
            shown = texts(at) + "\n".join(str(t.value) for t in at.text)
            assert "Alerts" in shown and "quiet hours: 22:00-07:00" in shown
            assert SLACK_TOKEN.split("/")[-1] not in shown and "No alert has been queued yet." in shown
            button = next(b for b in at.button if b.label == "Send a test alert")
            button.click().run()
            assert "test alert delivered to ops" in texts(at)
            assert [r.kind for r in receivers.received] == ["slack"]
            log = at.dataframe[0].value
            assert list(log["channel"]) == ["ops"] and list(log["status"]) == ["delivered"]


def test_operations_shows_a_failing_alert_channel(tmp_path: Path) -> None:
    with Receivers() as receivers:
        base = make_app(f"sqlite:///{tmp_path / 'alerts.db'}")
        alerts = AlertSettings.load({"MINER_ALERT_OPS_TYPE": "slack", "MINER_ALERT_OPS_URL": receivers.slack_url,
                                     "MINER_ALERT_FAILING_AFTER": "1"}, secrets_file=False)
        for miner in installed(MinerApp(base.settings, alerts)):
            receivers.fail_next(Fault(500))
            assert not service.send_test(miner.engine, alerts, "ops").ok
            health.run_checks(miner.settings, miner.engine, alerts=alerts)
            at = page("operations")
            shown = texts(at) + "\n".join(str(t.value) for t in at.text)
            assert "Alert channel" in shown
            assert "1 failed attempt in a row (nothing delivered yet); last error: attempt 1: HTTP 500" in shown
