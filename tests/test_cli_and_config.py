"""The command line (exit codes, one-line errors) and configuration validation."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from miner import db
from miner.cli import RUN_COMMANDS, ProgressPrinter, parse
from miner.config import ConfigError, Settings
from miner.progress import Progress
from miner.runs import history, registry
from miner.runs.lease import RUN_LEASE, LeaseLock

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
    rows = {row["setting"]: row["value"] for row in settings.describe()}
    assert rows["ANTHROPIC_API_KEY"] == "••••••••"  # not a single character of it, nor its length
    assert rows["DATABASE_URL"] == "postgresql+psycopg://miner:***@db/miner"


def test_secret_values_are_hidden_in_error_messages() -> None:
    with pytest.raises(ConfigError) as info:
        Settings.load(env={"MINER_SOURCE": "zendesk", "ZENDESK_API_TOKEN": "super-secret-token"}, secrets_file=False)
    assert "super-secret-token" not in str(info.value)


# --- command line ---------------------------------------------------------------------------------


def test_bad_flag_exits_2_with_a_clear_line(tmp_path: Path) -> None:
    out = cli("sync", "--backfill-days", "many", env={"DATABASE_URL": f"sqlite:///{tmp_path}/m.db"})
    assert out.returncode == 2
    assert "expected a whole number, got 'many'" in out.stderr


@pytest.mark.parametrize("command", ["pipeline", "sync", "analyze", "status"])
def test_an_unknown_flag_shows_the_commands_own_usage(command: str, tmp_path: Path) -> None:
    out = cli(command, "--bogus", env={"DATABASE_URL": f"sqlite:///{tmp_path}/m.db"})
    assert out.returncode == 2
    assert out.stderr.startswith(f"usage: python -m miner {command} [-h]")
    assert f"python -m miner {command}: error: unrecognized arguments: --bogus" in out.stderr


@pytest.mark.parametrize("kind", RUN_COMMANDS)
def test_run_commands_take_the_task_registrys_parameters_within_its_bounds(
        kind: str, capsys: pytest.CaptureFixture[str]) -> None:
    for param in registry.spec(kind).params:
        if param.type is bool:
            assert getattr(parse([kind, param.flag]), param.name) is True
            continue
        assert getattr(parse([kind, param.flag, str(param.high)]), param.name) == param.high
        with pytest.raises(SystemExit) as exited:
            parse([kind, param.flag, str(param.high + 1)])
        assert exited.value.code == 2
        assert f"must be between {param.low} and {param.high}" in capsys.readouterr().err


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _progress(stage: str, done: int, total: int | None) -> Progress:
    return Progress(stage=stage, done=done, total=total, message="", stage_started=time.monotonic())


def test_progress_on_a_terminal_is_a_bar_rewritten_in_place_and_log_lines_stay_whole() -> None:
    terminal, clock = _Terminal(), _Clock()
    printer = ProgressPrinter(terminal, clock=clock)
    handler = logging.StreamHandler(terminal)
    logging.getLogger().addHandler(handler)
    try:
        with printer.around_logging():
            printer(_progress("Analyzing tickets", 0, 400))
            clock.now = 1.0
            printer(_progress("Analyzing tickets", 100, 400))
            logging.getLogger("miner.test").warning("Zendesk asked us to wait 30 s")
            clock.now = 2.0
            printer(_progress("Analyzing tickets", 400, 400))
            printer.finish()
    finally:
        logging.getLogger().removeHandler(handler)
    out = terminal.getvalue()
    assert "\r\033[K[Analyzing tickets] █████░░░░░░░░░░░░░░░ 100/400 (25%)" in out
    assert "████████████████████ 400/400 (100%)" in out
    # the warning starts on a cleared line and ends with its own newline: no bar glued to it
    assert "\r\033[KZendesk asked us to wait 30 s\n" in out
    assert out.endswith("\n")


def test_progress_into_a_pipe_is_plain_lines_at_most_every_5_seconds() -> None:
    pipe, clock = io.StringIO(), _Clock()
    printer = ProgressPrinter(pipe, clock=clock)
    for second in range(12):
        clock.now = float(second)
        printer(_progress("Analyzing tickets", second * 10, 120))
    printer(_progress("Clustering", 0, None))
    printer.finish()
    lines = pipe.getvalue().splitlines()
    assert "\r" not in pipe.getvalue() and "█" not in pipe.getvalue()
    assert [line.split("]")[0] for line in lines] == ["[Analyzing tickets"] * 3 + ["[Clustering"]
    assert lines[0].startswith("[Analyzing tickets] 0/120 (0%)")


def test_bad_configuration_exits_2(tmp_path: Path) -> None:
    out = cli("status", env={"ZENDESK_INCREMENTAL_RPM": "lots"})
    assert out.returncode == 2
    assert out.stderr.startswith("error: Invalid configuration: ZENDESK_INCREMENTAL_RPM")


def test_unreachable_database_exits_2(tmp_path: Path) -> None:
    out = cli("status", env={"DATABASE_URL": "postgresql://nobody@127.0.0.1:1/nothing"})
    assert out.returncode == 2 and "DATABASE_URL" in out.stderr


def test_db_upgrade_and_status_json(database_url: str) -> None:
    env = {"DATABASE_URL": database_url}
    upgraded = cli("db", "upgrade", env=env)
    assert upgraded.returncode == 0 and f"revision {db.head_revision()} (head" in upgraded.stdout
    status = cli("status", "--json", env=env)
    assert status.returncode == 0, status.stderr
    body = json.loads(status.stdout)
    assert body["source"] == "demo" and body["data"]["tickets_live"] == 0 and body["running"] is None


def test_demo_pipeline_from_the_command_line(database_url: str) -> None:
    env = {"DATABASE_URL": database_url, "MINER_DEMO_TICKETS": "400"}
    out = cli("pipeline", "--batch-size", "1000", env=env)
    assert out.returncode == 0, out.stderr
    assert "pipeline run #1 succeeded" in out.stdout
    assert "[Syncing tickets]" in out.stderr and "[Analyzing tickets" in out.stderr  # progress lines
    status = json.loads(cli("status", "--json", env=env).stdout)
    engine = db.make_script_engine(database_url)
    with engine.connect() as conn:
        live, deleted = conn.execute(text(
            "SELECT SUM(CASE WHEN status <> 'deleted' THEN 1 ELSE 0 END), "
            "SUM(CASE WHEN status = 'deleted' THEN 1 ELSE 0 END) FROM tickets")).one()
    engine.dispose()
    assert (status["data"]["tickets_live"], status["data"]["tickets_deleted"]) == (live, deleted)
    assert live > 350 and deleted > 0 and status["analysis"]["issues"] > 100
    assert status["recent_runs"][0]["status"] == "succeeded"
    summary = history.summarise(status["recent_runs"][0]["result"])  # the run history's one line
    assert summary and f"pipeline run #1 succeeded: {summary}" in out.stdout


def test_another_run_in_progress_exits_3(database_url: str) -> None:
    engine = db.make_engine(database_url)
    db.upgrade(engine)
    holder = LeaseLock(engine, RUN_LEASE, holder="elsewhere:1:1:abc")  # a live run on another host
    assert holder.acquire()
    out = cli("sync", env={"DATABASE_URL": database_url})
    engine.dispose()
    assert out.returncode == 3
    assert "already running" in out.stderr


def test_rejected_zendesk_credentials_exit_2_with_one_line(sqlite_url: str) -> None:
    from miner.demo.dataset import generate_dataset
    from miner.demo.server import DemoZendesk

    dataset = generate_dataset(datetime(2026, 11, 20, tzinfo=UTC), n_tickets=100, n_orgs=120)
    with DemoZendesk(dataset, credentials=("admin@acme.example", "right")) as zendesk:
        out = cli("sync", env={"DATABASE_URL": sqlite_url, "ZENDESK_BASE_URL": zendesk.url,
                               "ZENDESK_EMAIL": "admin@acme.example", "ZENDESK_API_TOKEN": "wrong"})
    assert out.returncode == 2, out.stderr
    errors = [line for line in out.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Check ZENDESK_EMAIL and ZENDESK_API_TOKEN" in errors[0]
    assert "Traceback" not in out.stderr


def test_analysis_where_every_ticket_fails_exits_1_naming_the_figures(sqlite_url: str) -> None:
    from miner.demo.dataset import generate_dataset
    from miner.demo.server import DemoZendesk
    from miner.sync import run_sync
    from miner.zendesk import ZendeskClient
    from tests.fakes.fake_anthropic import FakeAnthropic

    engine = db.make_engine(sqlite_url)
    db.upgrade(engine)
    dataset = generate_dataset(datetime(2026, 11, 20, tzinfo=UTC), n_tickets=100, n_orgs=120)
    with DemoZendesk(dataset) as zendesk, ZendeskClient(zendesk.url, rpm=0) as client:
        run_sync(engine, client, initial_days=3650)
    engine.dispose()
    with FakeAnthropic() as fake:
        fake.fail_next(10_000, 400, message="This request is malformed")
        out = cli("analyze", "--batch-size", "20",
                  env={"DATABASE_URL": sqlite_url, "ANTHROPIC_API_KEY": "sk-test",
                       "ANTHROPIC_BASE_URL": fake.base_url, "MINER_ANALYZE_CONCURRENCY": "1"})
    assert out.returncode == 1, out.stderr
    error = next(line for line in out.stderr.splitlines() if line.startswith("error:"))
    assert re.search(r"analyze run #1 failed: analysis failed for (\d+) of \1 tickets \(100%\)", error)
    assert "MINER_ANALYZE_MAX_FAILURE_RATE (50%)" in error and "This request is malformed" in error


def test_a_failed_migration_is_one_line_without_sql_that_says_it_is_the_schema(sqlite_url: str) -> None:
    engine = db.make_engine(sqlite_url)
    with engine.begin() as conn:  # a table in the way of the first migration
        conn.execute(text("CREATE TABLE tickets (id INTEGER PRIMARY KEY)"))
    engine.dispose()
    out = cli("status", env={"DATABASE_URL": sqlite_url})
    assert out.returncode == 2
    errors = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and errors[0].startswith("error: cannot bring the database at DATABASE_URL up to date")
    assert "already exists" in errors[0] and "MINER_LOG_LEVEL=DEBUG" in errors[0]
    assert "[SQL" not in out.stderr and "CREATE TABLE" not in out.stderr


def test_the_traceback_of_a_failed_migration_is_there_at_debug_level(sqlite_url: str) -> None:
    engine = db.make_engine(sqlite_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE tickets (id INTEGER PRIMARY KEY)"))
    engine.dispose()
    out = cli("status", env={"DATABASE_URL": sqlite_url, "MINER_LOG_LEVEL": "DEBUG"})
    assert out.returncode == 2 and "Traceback (most recent call last)" in out.stderr


def test_a_database_that_cannot_be_reached_says_so() -> None:
    out = cli("status", env={"DATABASE_URL": "postgresql://nobody@127.0.0.1:9/miner"})  # nothing listens on 9
    assert out.returncode == 2
    assert out.stderr.strip().startswith("error: cannot open the database at DATABASE_URL")


RACER = textwrap.dedent("""
    import sys
    from miner.cli import main  # everything imported before the start line, so both really race
    import alembic.command, miner.db, miner.migrations  # noqa
    print("ready", flush=True)
    sys.stdin.readline()
    sys.exit(main(["status", "--json"]))
""")


def test_two_processes_migrating_an_empty_database_at_once_both_succeed(database_url: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO), "DATABASE_URL": database_url}
    procs = [subprocess.Popen([sys.executable, "-c", RACER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env, cwd=REPO) for _ in range(2)]
    for proc in procs:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    for proc in procs:  # the barrier: both are waiting, now both start
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    outputs = [proc.communicate(timeout=120) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], [err[-1500:] for _, err in outputs]
    assert sum("database migrated from empty" in err for _, err in outputs) == 1  # migrated exactly once
    engine = db.make_script_engine(database_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [
            db.head_revision()]
    engine.dispose()


@pytest.mark.parametrize(("content", "expected"), [(None, False), ("[auth]\nclient_id = 'x'\n", True)])
def test_single_sign_on_is_configured_only_by_an_auth_section(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           content: str | None, expected: bool) -> None:
    assert secrets_from(tmp_path, monkeypatch, content) is expected


def test_a_secrets_file_streamlit_cannot_read_is_a_configuration_error(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="secrets"):  # not a quiet "no sign-in configured"
        secrets_from(tmp_path, monkeypatch, "[auth\nclient_id = 'x'\n")


def secrets_from(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: str | None) -> bool:
    from streamlit import config as st_config
    from streamlit.runtime.secrets import Secrets

    from miner import runtime

    path = tmp_path / "secrets.toml"
    if content is not None:
        path.write_text(content)
    original = st_config.get_option
    monkeypatch.setattr(st_config, "get_option",
                        lambda name: [str(path)] if name == "secrets.files" else original(name))
    monkeypatch.setattr(runtime.st, "secrets", Secrets())
    return runtime.sso_configured()
