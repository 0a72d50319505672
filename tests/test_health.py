"""Health checks (miner/health.py): each says plainly what is wrong, and the latest result per component is
kept for Operations and /api/health. Zendesk and Claude are the demo Zendesk and the fake Anthropic API."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine

from miner import db, health
from miner.config import Settings
from miner.demo.dataset import DemoDataset, generate_dataset
from miner.demo.server import DemoZendesk
from tests.fakes.fake_anthropic import FakeAnthropic

EMAIL, TOKEN = "admin@acme.example", "zd-right-token"


@pytest.fixture(scope="module")
def dataset() -> DemoDataset:
    return generate_dataset(datetime(2026, 11, 20, tzinfo=UTC), n_tickets=20, n_orgs=5)


@pytest.fixture(scope="module")
def zendesk(dataset: DemoDataset) -> Iterator[DemoZendesk]:
    with DemoZendesk(dataset, credentials=(EMAIL, TOKEN)) as server:
        yield server


@pytest.fixture(scope="module")
def anthropic_api() -> Iterator[FakeAnthropic]:
    with FakeAnthropic() as fake:
        yield fake


def settings(**env: str) -> Settings:
    return Settings.load(env={"DATABASE_URL": "sqlite:///unused.db", **env}, secrets_file=False)


def zendesk_settings(zendesk: DemoZendesk, token: str) -> Settings:
    return settings(MINER_SOURCE="zendesk", ZENDESK_BASE_URL=zendesk.url, ZENDESK_EMAIL=EMAIL,
                    ZENDESK_API_TOKEN=token)


# --- database -------------------------------------------------------------------------------------------


def test_the_database_check_names_the_database_and_its_schema_version(engine: Engine) -> None:
    result = health.check_database(engine)
    assert result.ok and result.message == f"{engine.dialect.name} reachable, schema at {db.head_revision()}"


def test_an_unreachable_database_is_a_failed_check_not_a_crash() -> None:
    engine = db.make_script_engine("postgresql+psycopg://postgres@127.0.0.1:1/test")  # nothing listens
    result = health.check_database(engine)
    assert not result.ok and "connection failed" in result.message


# --- Zendesk --------------------------------------------------------------------------------------------


def test_zendesk_check_names_the_admin_it_signed_in_as(zendesk: DemoZendesk) -> None:
    result = health.check_zendesk(zendesk_settings(zendesk, TOKEN))
    assert result.ok and result.message == f"signed in to {zendesk.url} as Demo Admin (role: admin)"


def test_zendesk_check_says_when_the_credentials_are_rejected(zendesk: DemoZendesk) -> None:
    result = health.check_zendesk(zendesk_settings(zendesk, "zd-wrong-token"))
    assert not result.ok
    assert "Zendesk rejected the credentials (401" in result.message and "ZENDESK_EMAIL" in result.message
    assert "zd-wrong-token" not in result.message


def test_zendesk_check_in_demo_mode_asks_the_built_in_demo_zendesk(dataset: DemoDataset) -> None:
    with DemoZendesk(dataset) as demo:
        url = demo.url
        result = health.check_zendesk(settings(MINER_SOURCE="demo"), demo_url=url)
        assert result.ok and result.message == f"demo mode: built-in demo Zendesk at {url}"
    assert not health.check_zendesk(settings(MINER_SOURCE="demo"), demo_url=url).ok  # stopped: nobody answers


# --- Claude ---------------------------------------------------------------------------------------------


def test_claude_is_not_needed_with_the_offline_analyzer() -> None:
    result = health.check_claude(settings())
    assert result.ok and result.message.startswith("offline analyzer in use")


def test_claude_check_confirms_a_valid_key_and_model(anthropic_api: FakeAnthropic) -> None:
    result = health.check_claude(settings(ANTHROPIC_API_KEY="sk-ant-good", ANTHROPIC_BASE_URL=anthropic_api.base_url))
    assert result.ok and result.message == "key valid; model claude-haiku-5-5 available"


def test_claude_check_says_when_the_key_is_rejected(anthropic_api: FakeAnthropic) -> None:
    result = health.check_claude(settings(ANTHROPIC_API_KEY="invalid", ANTHROPIC_BASE_URL=anthropic_api.base_url))
    assert not result.ok and result.message == "Anthropic rejected ANTHROPIC_API_KEY (401)"


def test_claude_check_says_when_the_model_is_not_available(anthropic_api: FakeAnthropic) -> None:
    result = health.check_claude(settings(ANTHROPIC_API_KEY="sk-ant-good", ANTHROPIC_BASE_URL=anthropic_api.base_url,
                                          MINER_CLAUDE_MODEL="gpt-nope"))
    assert not result.ok and result.message == "MINER_CLAUDE_MODEL 'gpt-nope' is not available to this key"


# --- stored results -------------------------------------------------------------------------------------


def test_the_latest_result_of_each_component_is_kept(engine: Engine, zendesk: DemoZendesk) -> None:
    good, bad = zendesk_settings(zendesk, TOKEN), zendesk_settings(zendesk, "zd-wrong-token")
    health.run_checks(good, engine)
    assert {h.component: h.ok for h in health.latest(engine)} == {"database": True, "zendesk": True, "claude": True}

    health.run_checks(bad, engine)  # Zendesk now refuses: its stored result follows

    latest = {h.component: h for h in health.latest(engine)}
    assert [h.component for h in health.latest(engine)] == ["database", "zendesk", "claude"]
    assert not latest["zendesk"].ok and "rejected the credentials" in latest["zendesk"].message
    assert latest["database"].ok and latest["claude"].ok
