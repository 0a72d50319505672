"""The Settings page's Alerts section, on an app of its own: channels listed with secrets masked, the
"Send a test alert" button reaching a real local Slack double, and the delivery log."""

from __future__ import annotations

from pathlib import Path

from test_pages import installed, make_app, page, texts

from miner.alerts.settings import AlertSettings
from miner.app import MinerApp
from tests.fakes.alert_receivers import SLACK_TOKEN, Receivers


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
