"""Who gets in (miner.access): the modes, what counts as "straight from this machine", password throttling."""

from __future__ import annotations

import pytest

from miner.access import AccessPolicy, LoginThrottle, Mode, why_not_direct_local
from miner.config import Settings

LOCAL = {"host": "127.0.0.1:8501", "origin": "http://127.0.0.1:8501"}


def policy(bind: str | None = "127.0.0.1", *, sso: bool = False, **env: str) -> AccessPolicy:
    return AccessPolicy.from_settings(Settings.load(env=env, secrets_file=False), sso=sso, bind_address=bind)


@pytest.mark.parametrize(("peer", "headers"), [
    ("127.0.0.1", LOCAL),
    ("127.0.0.1", {"host": "localhost:8501"}),  # no Origin: curl, or the first request of a page
    ("::1", {"host": "[::1]:8501", "origin": "http://[::1]:8501"}),
    ("::ffff:127.0.0.1", {"host": "localhost", "origin": "http://localhost:8501"}),
    ("127.0.0.2", {"host": "127.0.0.2:8501"}),
])
def test_straight_from_this_machine(peer: str, headers: dict[str, str]) -> None:
    assert why_not_direct_local(peer, headers) is None


@pytest.mark.parametrize(("peer", "headers", "reason"), [
    ("10.0.0.7", LOCAL, "comes from 10.0.0.7"),
    (None, LOCAL, "unknown address"),
    ("127.0.0.1", {**LOCAL, "x-forwarded-for": "127.0.0.1"}, "proxy"),  # a claim anyone can make
    ("127.0.0.1", {**LOCAL, "forwarded": "for=127.0.0.1"}, "proxy"),
    ("127.0.0.1", {**LOCAL, "x-real-ip": "10.0.0.7"}, "proxy"),
    ("127.0.0.1", {**LOCAL, "via": "1.1 nginx"}, "proxy"),
    ("127.0.0.1", {"host": "miner.acme.example", "origin": "https://miner.acme.example"}, "addressed to"),  # socat
    ("127.0.0.1", {"host": "192.168.1.20:8501"}, "addressed to"),
    ("127.0.0.1", {}, "addressed to no host"),
    ("127.0.0.1", {"host": "127.0.0.1:8501", "origin": "https://evil.example"}, "sent by a page"),
    ("127.0.0.1", {"host": "localhost.evil.example"}, "addressed to"),  # DNS rebinding lookalike
])
def test_not_straight_from_this_machine(peer: str | None, headers: dict[str, str], reason: str) -> None:
    refusal = why_not_direct_local(peer, headers)
    assert refusal is not None and reason in refusal


def test_demo_with_no_credentials_is_local_on_a_loopback_bind_only() -> None:
    assert policy("127.0.0.1").mode is Mode.LOCAL
    assert policy("localhost").mode is Mode.LOCAL
    for bind in ("0.0.0.0", "", None, "192.168.1.20"):
        closed = policy(bind)
        assert closed.mode is Mode.CLOSED and "not only on this machine" in closed.closed_reason()


def test_any_credential_needs_sign_in_or_an_explicit_local_mode() -> None:
    claude = {"ANTHROPIC_API_KEY": "sk-ant-x"}
    zendesk = {"ZENDESK_SUBDOMAIN": "acme", "ZENDESK_EMAIL": "a@acme.example", "ZENDESK_API_TOKEN": "t"}
    for env in (claude, zendesk):
        closed = policy(**env)
        assert closed.mode is Mode.CLOSED and "Credentials are configured" in closed.closed_reason()
        assert policy(**env, MINER_LOCAL_ACCESS="true").mode is Mode.LOCAL
        explicit_but_open = policy("0.0.0.0", **env, MINER_LOCAL_ACCESS="true")
        assert explicit_but_open.mode is Mode.CLOSED
        assert "only works while the server listens on a loopback address" in explicit_but_open.closed_reason()
    assert policy(MINER_LOCAL_ACCESS="false").mode is Mode.CLOSED


def test_a_sign_in_wins_over_local_access() -> None:
    assert policy(MINER_DASHBOARD_PASSWORD="pw").mode is Mode.PASSWORD
    assert policy(sso=True, MINER_DASHBOARD_PASSWORD="pw").mode is Mode.SSO
    assert policy("0.0.0.0", MINER_DASHBOARD_PASSWORD="pw").mode is Mode.PASSWORD


def test_password_attempts_wait_longer_after_a_few_failures() -> None:
    now = [0.0]
    throttle = LoginThrottle(free_attempts=3, max_wait=60, clock=lambda: now[0])
    for _ in range(3):
        assert throttle.wait_seconds("1.2.3.4") == 0
        throttle.failed("1.2.3.4")
    assert throttle.wait_seconds("1.2.3.4") == 2  # after the free ones: 2 s, then 4, 8, ... up to 60
    assert throttle.wait_seconds("5.6.7.8") == 0  # others are not slowed by one guesser
    now[0] = 2.0
    throttle.failed("1.2.3.4")
    assert throttle.wait_seconds("1.2.3.4") == 4
    for _ in range(10):
        throttle.failed("1.2.3.4")
    assert throttle.wait_seconds("1.2.3.4") == 60
    throttle.succeeded("1.2.3.4")
    assert throttle.wait_seconds("1.2.3.4") == 0


def test_many_guessers_together_slow_everyone() -> None:
    now = [0.0]
    throttle = LoginThrottle(global_limit=20, global_window=600, clock=lambda: now[0])
    for client in range(20):  # one failure each: no client alone is suspicious
        throttle.failed(f"10.0.0.{client}")
    assert throttle.wait_seconds("10.9.9.9") == 600
    now[0] = 601
    assert throttle.wait_seconds("10.9.9.9") == 0
