"""The command line (exit codes, one-line errors) and configuration validation."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from miner.config import ConfigError, Settings
from miner.tasks.lease import LeaseLock
from miner.tasks.runner import RUN_LEASE

REPO = Path(__file__).resolve().parents[1]


def cli(*args: str, env: dict[str, str] | None = None, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    return subprocess.run([sys.executable, "-m", "miner", *args], capture_output=True, text=True, env=full_env,
                          timeout=timeout, cwd=REPO)


# --- configuration --------------------------------------------------------------------------------


def test_defaults_work_with_no_credentials() -> None:
    settings = Settings.load(env={}, secrets_file=False)
    assert settings.database_url == "sqlite:///data/miner.db"
    assert (settings.effective_source, settings.effective_analyzer) == ("demo", "offline")
    assert settings.zendesk_incremental_rpm == 10


@pytest.mark.parametrize(
    ("env", "named"),
    [({"ZENDESK_INCREMENTAL_RPM": "fast"}, "ZENDESK_INCREMENTAL_RPM"),
     ({"ZENDESK_INCREMENTAL_RPM": "-1"}, "ZENDESK_INCREMENTAL_RPM"),
     ({"DATABASE_URL": "mysql://x/y"}, "DATABASE_URL"),
     ({"MINER_SOURCE": "freshdesk"}, "MINER_SOURCE"),
     ({"MINER_SOURCE": "zendesk"}, "ZENDESK_SUBDOMAIN"),
     ({"ZENDESK_SUBDOMAIN": "acme", "ZENDESK_API_TOKEN": "t"}, "ZENDESK_EMAIL"),
     ({"ZENDESK_BASE_URL": "ftp://x"}, "ZENDESK_BASE_URL"),
     ({"MINER_TIMEZONE": "Mars/Olympus"}, "MINER_TIMEZONE"),
     ({"MINER_ANALYZER": "claude"}, "ANTHROPIC_API_KEY"),
     ({"MINER_TAXONOMY": "/nope.toml"}, "MINER_TAXONOMY"),
     ({"MINER_RUN_BUDGET_USD": "0"}, "MINER_RUN_BUDGET_USD")],
)
def test_bad_values_give_one_message_naming_the_setting(env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=named) as info:
        Settings.load(env=env, secrets_file=False)
    assert "\n" not in str(info.value)


def test_secrets_file_is_read_and_environment_wins(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets.toml"
    secrets.write_text('ZENDESK_SUBDOMAIN = "acme"\nZENDESK_EMAIL = "a@acme.example"\n'
                       'ZENDESK_API_TOKEN = "tok-from-file"\nMINER_TIMEZONE = "Europe/Berlin"\n'
                       '[auth]\nclient_id = "ignored"\n')
    settings = Settings.load(env={"MINER_TIMEZONE": "UTC"}, secrets_file=secrets)
    assert settings.effective_source == "zendesk" and settings.zendesk_url == "https://acme.zendesk.com"
    assert settings.timezone == "UTC"
    assert settings.zendesk_api_token.get_secret_value() == "tok-from-file"


def test_secrets_never_appear_in_repr_or_description() -> None:
    settings = Settings.load(env={"ANTHROPIC_API_KEY": "sk-ant-verysecretvalue1234",
                                  "DATABASE_URL": "postgresql://miner:pa55word@db/miner"}, secrets_file=False)
    shown = repr(settings) + json.dumps(settings.describe(), ensure_ascii=False)
    assert "verysecretvalue" not in shown and "pa55word" not in shown
    assert "sk-••••••••34" in shown


def test_secret_values_are_hidden_in_error_messages() -> None:
    with pytest.raises(ConfigError) as info:
        Settings.load(env={"MINER_SOURCE": "zendesk", "ZENDESK_API_TOKEN": "super-secret-token"}, secrets_file=False)
    assert "super-secret-token" not in str(info.value)


# --- command line ---------------------------------------------------------------------------------


def test_bad_flag_exits_2_with_a_clear_line(tmp_path: Path) -> None:
    out = cli("sync", "--backfill-days", "many", env={"DATABASE_URL": f"sqlite:///{tmp_path}/m.db"})
    assert out.returncode == 2
    assert "expected a whole number, got 'many'" in out.stderr


def test_bad_configuration_exits_2(tmp_path: Path) -> None:
    out = cli("status", env={"ZENDESK_INCREMENTAL_RPM": "lots"})
    assert out.returncode == 2
    assert out.stderr.startswith("error: Invalid configuration: ZENDESK_INCREMENTAL_RPM")


def test_unreachable_database_exits_2(tmp_path: Path) -> None:
    out = cli("status", env={"DATABASE_URL": "postgresql://nobody@127.0.0.1:1/nothing"})
    assert out.returncode == 2 and "DATABASE_URL" in out.stderr


def test_db_upgrade_and_status_json(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path}/m.db"}
    upgraded = cli("db", "upgrade", env=env)
    assert upgraded.returncode == 0 and "revision 0004" in upgraded.stdout
    status = cli("status", "--json", env=env)
    assert status.returncode == 0
    body = json.loads(status.stdout)
    assert body["source"] == "demo" and body["data"]["tickets_live"] == 0 and body["running"] is None


def test_demo_pipeline_from_the_command_line(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path}/m.db", "MINER_DEMO_TICKETS": "400"}
    out = cli("pipeline", "--batch-size", "1000", env=env)
    assert out.returncode == 0, out.stderr
    assert "pipeline run #1 succeeded" in out.stdout
    assert "[Syncing tickets]" in out.stderr and "[Analyzing tickets" in out.stderr  # progress lines
    status = json.loads(cli("status", "--json", env=env).stdout)
    assert status["data"]["tickets_live"] > 350 and status["analysis"]["issues"] > 100
    assert status["recent_runs"][0]["status"] == "succeeded"


def test_another_run_in_progress_exits_3(sqlite_url: str, tmp_path: Path) -> None:
    from miner import db

    engine = db.make_engine(sqlite_url)
    db.upgrade(engine)
    holder = LeaseLock(engine, RUN_LEASE, holder="elsewhere:1:1:abc")  # a live run on another host
    assert holder.acquire()
    out = cli("sync", env={"DATABASE_URL": sqlite_url})
    assert out.returncode == 3
    assert "already running" in out.stderr
