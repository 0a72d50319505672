"""Alerts: settings, the four channels against real local receivers, the rules and their deduplication,
the outbox's retries, quiet hours and crash recovery.

Receivers are real servers on 127.0.0.1 (`tests/fakes/alert_receivers.py`): Slack/Teams/webhook doubles that
check request shapes and the HMAC, and an aiosmtpd server that requires STARTTLS and AUTH. Time is a clock
the test moves, never a sleep."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, insert, select

from miner.alerts import outbox, service
from miner.alerts.deliver import Backoff, deliver_due
from miner.alerts.settings import AlertSettings
from miner.config import ConfigError
from miner.models import AlertDelivery, AlertEvent, Cluster, ClusterDailyStat, Issue, Ticket
from miner.vocabulary import AlertRule, DeliveryStatus
from tests.fakes.alert_receivers import (
    SMTP_PASSWORD,
    SMTP_USER,
    WEBHOOK_SECRET,
    Fault,
    Receivers,
    SmtpServer,
    parts,
)

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
QUOTE = "Since the update <@channel> the export & import buttons do <b>nothing</b>, mail me at ann@acme.example"
NO_WAIT = Backoff(base=0.0, cap=0.0)


class Clock:
    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def receivers() -> Iterator[Receivers]:
    with Receivers() as r:
        yield r


def alert_settings(receivers: Receivers | None = None, **channel_env: str) -> AlertSettings:
    env = {"MINER_ALERT_TIMEOUT": "2"}
    if receivers is not None:
        env |= {"MINER_ALERT_SLACK_TYPE": "slack", "MINER_ALERT_SLACK_URL": receivers.slack_url,
                "MINER_ALERT_TEAMS_TYPE": "teams", "MINER_ALERT_TEAMS_URL": receivers.teams_url,
                "MINER_ALERT_HOOK_TYPE": "webhook", "MINER_ALERT_HOOK_URL": receivers.webhook_url,
                "MINER_ALERT_HOOK_SECRET": WEBHOOK_SECRET}
    env |= channel_env
    return AlertSettings.load(env, secrets_file=False, public_url="https://miner.acme.example")


def make_cluster(engine: Engine, cid: int, *, emerging: bool = True, tickets: int = 12, name: str = "Export broken",
                 quotes: tuple[str, ...] = (QUOTE,)) -> None:
    with engine.begin() as conn:
        conn.execute(insert(Cluster.__table__).values(
            id=cid, name=name, summary="s", name_source="offline", name_pinned=False, named_size=0, retired=False,
            size=tickets, triage_status="new", created_at=NOW, updated_at=NOW, issue_count=tickets,
            ticket_count=tickets, customer_count=4, count_7d=9, count_prev_7d=1, active=True, emerging=emerging,
            emerging_reason="9 tickets in 7 days against 1 the week before (p < 0.001)" if emerging else None,
            first_seen=NOW - timedelta(days=10), severity_mix={}))
        for i, quote in enumerate(quotes):
            tid = cid * 1000 + i
            conn.execute(insert(Ticket.__table__).values(
                id=tid, subject="s", description="d", status="open", tags=[], created_at=NOW, updated_at=NOW,
                generated_timestamp=int(NOW.timestamp()), requester_id=tid, organization_id=tid, synced_at=NOW))
            conn.execute(insert(Issue.__table__).values(
                ticket_id=tid, category="reports", subcategory="export", issue_type="bug", severity="high",
                summary="s", detail="", representative_quote=quote, confidence=0.9, ticket_created_at=NOW,
                organization_id=tid, requester_id=tid, cluster_id=cid, cluster_similarity=0.9,
                cluster_pinned=False, created_at=NOW, updated_at=NOW))


def set_emerging(engine: Engine, cid: int, emerging: bool) -> None:
    with engine.begin() as conn:
        conn.execute(Cluster.__table__.update().where(Cluster.__table__.c.id == cid).values(emerging=emerging))


def deliveries(engine: Engine) -> list[dict[str, Any]]:
    return sorted(outbox.recent(engine, limit=1000), key=lambda row: row["id"])


def count(engine: Engine, model: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(model.__table__)).scalar_one())


# --- settings ----------------------------------------------------------------------------------------


def test_channels_come_from_the_environment_and_the_secrets_file_with_the_environment_winning(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets.toml"
    secrets.write_text('[alerts]\nmax_attempts = 5\n[alerts.channels.ops]\ntype = "slack"\n'
                       'url = "https://hooks.slack.com/services/T/B/X"\nrules = ["emerging", "digest"]\nmin_size = 3\n'
                       '[alerts.channels.mail]\ntype = "email"\nsmtp_host = "smtp.acme.example"\n'
                       'from = "miner@acme.example"\nto = ["pm@acme.example"]\n')
    env = {"MINER_ALERT_OPS_MIN_SIZE": "10", "MINER_ALERT_OPS_QUIET_HOURS": "22:00-07:00",
           "MINER_ALERT_MAIL_SMTP_PORT": "2525"}
    settings = AlertSettings.load(env, secrets_file=secrets)
    ops, mail = settings.channel("ops"), settings.channel("mail")
    assert (ops.type, ops.rules, ops.min_size, str(ops.quiet_hours)) == (
        "slack", (AlertRule.EMERGING, AlertRule.DIGEST), 10, "22:00-07:00")
    assert (mail.smtp_host, mail.smtp_port, mail.to, settings.max_attempts) == (
        "smtp.acme.example", 2525, ("pm@acme.example",), 5)


def test_a_bad_alert_setting_is_one_line_naming_the_variable_without_echoing_a_secret() -> None:
    with pytest.raises(ConfigError) as caught:
        AlertSettings.load({"MINER_ALERT_OPS_TYPE": "slack", "MINER_ALERT_OPS_URL": "hooks.slack.com/secret-token"},
                           secrets_file=False)
    assert str(caught.value) == ("Invalid alert configuration: MINER_ALERT_OPS_URL: must be an http:// or https:// "
                                 "URL (got (hidden))")
    with pytest.raises(ConfigError, match="MINER_ALERT_HOOK_SECRET"):
        AlertSettings.load({"MINER_ALERT_HOOK_TYPE": "webhook", "MINER_ALERT_HOOK_URL": "https://x.example/in"},
                           secrets_file=False)
    with pytest.raises(ConfigError, match="MINER_ALERT_OPS_QUIET_HOURS: must be HH:MM-HH:MM"):
        AlertSettings.load({"MINER_ALERT_OPS_TYPE": "slack", "MINER_ALERT_OPS_URL": "https://x.example",
                            "MINER_ALERT_OPS_QUIET_HOURS": "late"}, secrets_file=False)


def test_the_channel_list_shows_where_alerts_go_but_never_a_webhook_path_or_a_secret(receivers: Receivers) -> None:
    shown = [channel.describe() for channel in alert_settings(receivers).channels]
    text = repr(shown)
    assert "slacksecret" not in text and "teams-workflow-secret" not in text and WEBHOOK_SECRET not in text
    assert {row["channel"]: row["destination"] for row in shown}["slack"] == f"{receivers.url}/••••"


# --- channels against real receivers ---------------------------------------------------------------------


def test_an_emerging_cluster_reaches_slack_teams_and_the_webhook_once_each(sqlite_engine: Engine,
                                                                           receivers: Receivers) -> None:
    make_cluster(sqlite_engine, 7)
    settings = alert_settings(receivers)
    service.evaluate(sqlite_engine, settings, now=NOW)
    result = deliver_due(sqlite_engine, settings, now=Clock())
    assert (result.delivered, receivers.rejected) == (3, [])
    assert [r.kind for r in sorted(receivers.received, key=lambda r: r.kind)] == ["slack", "teams", "webhook"]
    hook = receivers.of("webhook")[0].body
    assert (hook["rule"], hook["cluster_id"], hook["link"]) == ("emerging", 7, "https://miner.acme.example/cluster?id=7")
    assert hook["facts"]["Tickets (last 7 days)"] == "9"
    assert {row["status"] for row in deliveries(sqlite_engine)} == {DeliveryStatus.DELIVERED}


def test_ticket_text_is_escaped_for_slack_and_redacted_everywhere(sqlite_engine: Engine, receivers: Receivers) -> None:
    make_cluster(sqlite_engine, 7)
    settings = alert_settings(receivers)
    service.evaluate(sqlite_engine, settings, now=NOW)
    deliver_due(sqlite_engine, settings, now=Clock())
    slack_text = repr(receivers.of("slack")[0].body["blocks"])
    assert "&lt;@channel&gt;" in slack_text and "export &amp; import" in slack_text and "&lt;b&gt;" in slack_text
    assert "<@channel>" not in slack_text
    teams_runs = repr(receivers.of("teams")[0].body)
    assert "<b>nothing</b>" in teams_runs  # a TextRun is shown literally by Teams
    for received in receivers.received:
        assert "ann@acme.example" not in repr(received.body)  # the dashboard never shows it either


def test_a_webhook_signed_with_another_secret_is_refused_and_not_retried(sqlite_engine: Engine,
                                                                        receivers: Receivers) -> None:
    make_cluster(sqlite_engine, 7)
    settings = alert_settings(None, MINER_ALERT_HOOK_TYPE="webhook", MINER_ALERT_HOOK_URL=receivers.webhook_url,
                              MINER_ALERT_HOOK_SECRET="wrong")
    service.evaluate(sqlite_engine, settings, now=NOW)
    result = deliver_due(sqlite_engine, settings, now=Clock())
    assert (result.failed, receivers.rejected) == (1, ["bad signature"])
    row = deliveries(sqlite_engine)[0]
    assert (row["status"], row["attempts"], row["last_error"]) == ("failed", 1, "attempt 1: HTTP 401: bad signature")


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[SmtpServer]:
    if shutil.which("openssl") is None:
        pytest.skip("needs openssl to make the SMTP server's certificate (apt-get install -y openssl)")
    with SmtpServer(tmp_path) as server:
        yield server


@pytest.fixture
def smtps(tmp_path: Path) -> Iterator[SmtpServer]:
    if shutil.which("openssl") is None:
        pytest.skip("needs openssl to make the SMTP server's certificate (apt-get install -y openssl)")
    with SmtpServer(tmp_path, implicit_tls=True) as server:
        yield server


def mail_env(smtp: SmtpServer, password: str = SMTP_PASSWORD) -> dict[str, str]:
    return {"MINER_ALERT_MAIL_TYPE": "email", "MINER_ALERT_MAIL_SMTP_HOST": "127.0.0.1",
            "MINER_ALERT_MAIL_SMTP_PORT": str(smtp.port), "MINER_ALERT_MAIL_SMTP_USER": SMTP_USER,
            "MINER_ALERT_MAIL_SMTP_PASSWORD": password, "MINER_ALERT_MAIL_SMTP_CA_FILE": str(smtp.cert),
            "MINER_ALERT_MAIL_FROM": "miner@acme.example", "MINER_ALERT_MAIL_TO": "pm@acme.example,qa@acme.example"}


def test_an_alert_is_mailed_over_starttls_after_login_as_plain_text_and_escaped_html(sqlite_engine: Engine,
                                                                                    smtp: SmtpServer) -> None:
    make_cluster(sqlite_engine, 7, name="Export <broken> & slow")
    settings = alert_settings(None, **mail_env(smtp))
    service.evaluate(sqlite_engine, settings, now=NOW)
    assert deliver_due(sqlite_engine, settings, now=Clock()).delivered == 1
    [message] = smtp.messages
    assert (message["Subject"], message["To"]) == ("Emerging: Export <broken> & slow", "pm@acme.example, qa@acme.example")
    bodies = dict(parts(message))
    assert "Emerging: Export <broken> & slow" in bodies["text/plain"]
    assert "<h2>Emerging: Export &lt;broken&gt; &amp; slow</h2>" in bodies["text/html"]
    assert "&lt;b&gt;nothing&lt;/b&gt;" in bodies["text/html"] and "<b>nothing" not in bodies["text/html"]


def test_an_alert_is_mailed_over_implicit_tls_when_the_channel_asks_for_it(sqlite_engine: Engine,
                                                                          smtps: SmtpServer) -> None:
    make_cluster(sqlite_engine, 7)
    # the double listens on a free port, not 465: the setting says what port 465 implies
    settings = alert_settings(None, **mail_env(smtps), MINER_ALERT_MAIL_SMTP_IMPLICIT_TLS="true")
    service.evaluate(sqlite_engine, settings, now=NOW)
    assert deliver_due(sqlite_engine, settings, now=Clock()).delivered == 1
    [message] = smtps.messages
    assert message["Subject"] == "Emerging: Export broken"


def test_port_465_means_implicit_tls_unless_said_otherwise() -> None:
    base = {"MINER_ALERT_MAIL_TYPE": "email", "MINER_ALERT_MAIL_SMTP_HOST": "smtp.acme.example",
            "MINER_ALERT_MAIL_FROM": "miner@acme.example", "MINER_ALERT_MAIL_TO": "pm@acme.example"}
    implicit = alert_settings(None, **base, MINER_ALERT_MAIL_SMTP_PORT="465").channel("mail")
    submission = alert_settings(None, **base).channel("mail")
    told = alert_settings(None, **base, MINER_ALERT_MAIL_SMTP_PORT="465",
                          MINER_ALERT_MAIL_SMTP_IMPLICIT_TLS="false").channel("mail")
    assert (implicit.implicit_tls, submission.implicit_tls, told.implicit_tls) == (True, False, False)
    assert implicit.describe()["destination"] == "pm@acme.example via smtp.acme.example:465 (implicit TLS)"


def test_a_refused_smtp_login_fails_the_delivery_at_once(sqlite_engine: Engine, smtp: SmtpServer) -> None:
    make_cluster(sqlite_engine, 7)
    settings = alert_settings(None, **mail_env(smtp, password="wrong"))
    service.evaluate(sqlite_engine, settings, now=NOW)
    assert deliver_due(sqlite_engine, settings, now=Clock()).failed == 1
    assert smtp.messages == []
    assert deliveries(sqlite_engine)[0]["last_error"].startswith("attempt 1: SMTP login refused (535)")


def test_the_test_button_sends_one_alert_to_one_channel_and_logs_it(sqlite_engine: Engine, receivers: Receivers) -> None:
    outcome = service.send_test(sqlite_engine, alert_settings(receivers), "teams", now=NOW)
    assert (outcome.ok, outcome.message) == (True, "test alert delivered to teams")
    assert [r.kind for r in receivers.received] == ["teams"]
    assert [(row["channel"], row["rule"], row["status"]) for row in deliveries(sqlite_engine)] == [
        ("teams", "test", "delivered")]


# --- faults ----------------------------------------------------------------------------------------------


def slack_only(receivers: Receivers, **extra: str) -> AlertSettings:
    return alert_settings(None, MINER_ALERT_SLACK_TYPE="slack", MINER_ALERT_SLACK_URL=receivers.slack_url, **extra)


def test_a_429_is_retried_after_the_time_its_retry_after_asks_for(sqlite_engine: Engine, receivers: Receivers) -> None:
    make_cluster(sqlite_engine, 7)
    settings, clock = slack_only(receivers), Clock()
    service.evaluate(sqlite_engine, settings, now=NOW)
    receivers.fail_next(Fault(429, (("Retry-After", "120"),)))
    assert deliver_due(sqlite_engine, settings, now=clock).retried == 1
    row = deliveries(sqlite_engine)[0]
    assert (row["status"], row["due_at"], row["last_error"]) == (
        "pending", NOW + timedelta(seconds=120), "attempt 1: HTTP 429: injected fault")
    clock.advance(seconds=119)
    assert deliver_due(sqlite_engine, settings, now=clock).delivered == 0  # not due yet
    clock.advance(seconds=1)
    assert deliver_due(sqlite_engine, settings, now=clock).delivered == 1
    assert len(receivers.of("slack")) == 1


def test_a_timeout_is_retried_and_the_alert_delivered_once(sqlite_engine: Engine, receivers: Receivers) -> None:
    make_cluster(sqlite_engine, 7)
    settings, clock = slack_only(receivers, MINER_ALERT_TIMEOUT="0.3"), Clock()
    service.evaluate(sqlite_engine, settings, now=NOW)
    receivers.fail_next(Fault(504, stall=1.0))
    result = deliver_due(sqlite_engine, settings, now=clock, backoff=NO_WAIT)  # no backoff: retried at once
    assert (result.retried, result.delivered) == (1, 1)
    row = deliveries(sqlite_engine)[0]
    assert (row["status"], row["attempts"]) == ("delivered", 2)
    assert len(receivers.of("slack")) == 1


def test_a_channel_that_keeps_failing_gives_up_and_shows_in_health_checks(sqlite_engine: Engine,
                                                                          receivers: Receivers) -> None:
    make_cluster(sqlite_engine, 7)
    settings = slack_only(receivers, MINER_ALERT_MAX_ATTEMPTS="3", MINER_ALERT_FAILING_AFTER="3")
    service.evaluate(sqlite_engine, settings, now=NOW)
    receivers.fail_next(Fault(500), Fault(503), Fault(502))
    assert service.channel_health(sqlite_engine, settings)[0][1] is True
    result = deliver_due(sqlite_engine, settings, now=Clock(), backoff=NO_WAIT)
    assert (result.retried, result.failed, result.delivered) == (2, 1, 0)
    row = deliveries(sqlite_engine)[0]
    assert (row["status"], row["attempts"], row["last_error"]) == ("failed", 3, "attempt 3: HTTP 502: injected fault")
    name, ok, message = service.channel_health(sqlite_engine, settings)[0]
    assert (name, ok) == ("slack", False)
    assert message.startswith("3 failed attempts in a row (nothing delivered yet); last error: attempt 3: HTTP 502")


# --- rules, deduplication, quiet hours, min size, crash -------------------------------------------------


def test_rules_run_twice_fire_one_alert_per_channel(engine: Engine, receivers: Receivers) -> None:
    make_cluster(engine, 7)
    settings = alert_settings(receivers)
    first = service.evaluate(engine, settings, now=NOW)
    second = service.evaluate(engine, settings, now=NOW + timedelta(hours=1))
    assert (first.fired["emerging"], second.fired["emerging"]) == (1, 0)
    assert (count(engine, AlertEvent), count(engine, AlertDelivery)) == (1, 3)


def test_a_cluster_that_stops_and_starts_emerging_again_alerts_again(sqlite_engine: Engine,
                                                                     receivers: Receivers) -> None:
    make_cluster(sqlite_engine, 7)
    settings = slack_only(receivers)
    service.evaluate(sqlite_engine, settings, now=NOW)
    set_emerging(sqlite_engine, 7, False)
    assert service.evaluate(sqlite_engine, settings, now=NOW).cleared == 1
    set_emerging(sqlite_engine, 7, True)
    assert service.evaluate(sqlite_engine, settings, now=NOW).fired["emerging"] == 1
    with sqlite_engine.connect() as conn:
        assert sorted(conn.execute(select(AlertEvent.key)).scalars()) == ["emerging:7:1", "emerging:7:2"]


def test_a_channel_does_not_get_clusters_below_its_minimum_size(sqlite_engine: Engine, receivers: Receivers) -> None:
    make_cluster(sqlite_engine, 7, tickets=4)
    make_cluster(sqlite_engine, 8, tickets=20, name="Login loop")
    settings = alert_settings(None, MINER_ALERT_SLACK_TYPE="slack", MINER_ALERT_SLACK_URL=receivers.slack_url,
                              MINER_ALERT_SLACK_MIN_SIZE="10", MINER_ALERT_TEAMS_TYPE="teams",
                              MINER_ALERT_TEAMS_URL=receivers.teams_url)
    service.evaluate(sqlite_engine, settings, now=NOW)
    assert sorted((row["channel"], row["cluster_id"]) for row in deliveries(sqlite_engine)) == [
        ("slack", 8), ("teams", 7), ("teams", 8)]


def test_quiet_hours_hold_a_delivery_until_the_window_ends(sqlite_engine: Engine, receivers: Receivers) -> None:
    make_cluster(sqlite_engine, 7)
    settings = slack_only(receivers, MINER_ALERT_SLACK_QUIET_HOURS="11:00-13:30")  # NOW is 12:00 UTC
    clock = Clock()
    service.evaluate(sqlite_engine, settings, now=NOW)
    assert deliver_due(sqlite_engine, settings, now=clock).held == 1
    row = deliveries(sqlite_engine)[0]
    assert (row["status"], row["attempts"], row["due_at"]) == ("pending", 0, NOW.replace(hour=13, minute=30))
    clock.advance(minutes=89)
    assert deliver_due(sqlite_engine, settings, now=clock).delivered == 0
    clock.advance(minutes=1)
    assert deliver_due(sqlite_engine, settings, now=clock).delivered == 1
    assert len(receivers.of("slack")) == 1


def test_a_delivery_claimed_by_a_process_that_died_is_delivered_once_after_its_claim_expires(
        engine: Engine, receivers: Receivers) -> None:
    make_cluster(engine, 7)
    settings = slack_only(receivers, MINER_ALERT_CLAIM_SECONDS="60")
    service.evaluate(engine, settings, now=NOW)
    [dead] = outbox.claim(engine, NOW, lease=60)  # the process dies here, before sending
    assert outbox.claim(engine, NOW + timedelta(seconds=59), lease=60) == []  # still claimed
    clock = Clock(NOW + timedelta(seconds=61))
    assert deliver_due(engine, settings, now=clock).delivered == 1
    assert outbox.delivered(engine, dead, clock()) is False  # a late word from the old claim changes nothing
    assert deliver_due(engine, settings, now=clock).delivered == 0
    assert len(receivers.of("slack")) == 1
    row = deliveries(engine)[0]
    assert (row["status"], row["attempts"]) == ("delivered", 2)


def test_a_regressed_fix_alerts_its_cluster_once(sqlite_engine: Engine, receivers: Receivers) -> None:
    from miner.fixes import store
    from miner.fixes.trackers import TrackedIssue

    # cluster_links is one of the models' tables: the engine fixture made it
    make_cluster(sqlite_engine, 7, emerging=False)
    with sqlite_engine.begin() as conn:
        for day, tickets in {date(2026, 11, 12): 1, date(2026, 11, 16): 2, date(2026, 11, 18): 2}.items():
            conn.execute(insert(ClusterDailyStat.__table__).values(cluster_id=7, day=day, issues=tickets,
                                                                   tickets=tickets, customers=tickets))
    fixed = datetime(2026, 11, 3, 10, tzinfo=UTC)
    store.link(sqlite_engine, 7, TrackedIssue(tracker="jira", key="SW-1", url="https://acme.atlassian.net/browse/SW-1",
                                              title="Export", status="Done", resolved=True, resolved_at=fixed), now=NOW)
    settings = slack_only(receivers)
    assert service.evaluate(sqlite_engine, settings, now=NOW).fired["regression"] == 1
    assert service.evaluate(sqlite_engine, settings, now=NOW).fired["regression"] == 0
    deliver_due(sqlite_engine, settings, now=Clock())
    [received] = receivers.of("slack")
    assert received.body["text"].startswith("Regression: Export broken: Jira SW-1 was resolved, but the problem is back")


def test_the_weekly_digest_goes_only_to_channels_that_ask_for_it(sqlite_engine: Engine, receivers: Receivers) -> None:
    from miner.reports import generate_weekly_report

    make_cluster(sqlite_engine, 7)
    generate_weekly_report(sqlite_engine, today=NOW)
    settings = alert_settings(None, MINER_ALERT_SLACK_TYPE="slack", MINER_ALERT_SLACK_URL=receivers.slack_url,
                              MINER_ALERT_SLACK_RULES="digest", MINER_ALERT_TEAMS_TYPE="teams",
                              MINER_ALERT_TEAMS_URL=receivers.teams_url, MINER_ALERT_TEAMS_RULES="emerging")
    service.evaluate(sqlite_engine, settings, rules_to_run=[AlertRule.DIGEST], now=NOW)
    service.evaluate(sqlite_engine, settings, rules_to_run=[AlertRule.DIGEST], now=NOW)
    deliver_due(sqlite_engine, settings, now=Clock())
    assert [r.kind for r in receivers.received] == ["slack"]
    assert receivers.of("slack")[0].body["text"].startswith("Product issues: week of")


def test_the_monthly_cleanup_prunes_old_deliveries_but_keeps_the_alerts_that_deduplicate(
        sqlite_engine: Engine, receivers: Receivers) -> None:
    from miner.reports import cleanup

    make_cluster(sqlite_engine, 7)
    settings = slack_only(receivers)
    service.evaluate(sqlite_engine, settings, now=NOW)
    deliver_due(sqlite_engine, settings, now=Clock())
    removed = cleanup(sqlite_engine, 90, now=NOW + timedelta(days=91))
    assert removed["alert_deliveries"] == 1
    assert (count(sqlite_engine, AlertEvent), count(sqlite_engine, AlertDelivery)) == (1, 0)
    assert service.evaluate(sqlite_engine, settings, now=NOW + timedelta(days=91)).fired["emerging"] == 0


def test_several_deliverers_at_once_deliver_each_alert_exactly_once(engine: Engine, receivers: Receivers) -> None:
    import threading

    from miner.alerts.message import Alert, Candidate

    settings = slack_only(receivers)
    candidates = [Candidate(f"many:{i}", Alert(AlertRule.EMERGING, f"Alert {i}", "x", cluster_id=i), size=1)
                  for i in range(30)]
    outbox.fire(engine, candidates, settings.channels, NOW)
    threads = [threading.Thread(target=deliver_due, args=(engine, settings), kwargs={"now": Clock(), "limit": 3})
               for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    titles = sorted(r.body["text"].split(":")[0] for r in receivers.of("slack"))
    assert titles == sorted(f"Alert {i}" for i in range(30))
    assert {row["status"] for row in deliveries(engine)} == {"delivered"}


def test_replicas_evaluating_at_the_same_moment_fire_one_alert(engine: Engine, receivers: Receivers) -> None:
    import threading

    make_cluster(engine, 7)
    settings = alert_settings(receivers)
    gate = threading.Barrier(4)

    def replica() -> None:
        gate.wait()
        service.evaluate(engine, settings, rules_to_run=[AlertRule.EMERGING], now=NOW)

    threads = [threading.Thread(target=replica) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert (count(engine, AlertEvent), count(engine, AlertDelivery)) == (1, 3)


def test_a_delivery_to_a_channel_removed_from_the_settings_fails_with_the_reason(sqlite_engine: Engine,
                                                                                 receivers: Receivers) -> None:
    make_cluster(sqlite_engine, 7)
    service.evaluate(sqlite_engine, slack_only(receivers), now=NOW)
    teams_only = alert_settings(None, MINER_ALERT_TEAMS_TYPE="teams", MINER_ALERT_TEAMS_URL=receivers.teams_url)
    assert deliver_due(sqlite_engine, teams_only, now=Clock()).failed == 1
    row = deliveries(sqlite_engine)[0]
    assert (row["status"], row["last_error"]) == ("failed", "channel 'slack' is no longer configured")
    assert receivers.received == []
