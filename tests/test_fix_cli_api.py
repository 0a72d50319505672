"""Fix links from the command line (`python -m miner link`) and the REST API, and the tracker's health
check, against the demo Jira as a configured Jira Cloud (JIRA_* settings, credentials checked)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert
from starlette.applications import Starlette
from starlette.testclient import TestClient

from miner import api, health
from miner.app import MinerApp
from miner.config import Settings
from miner.fixes import store
from miner.fixes.demo_tracker import DemoTracker
from miner.models import Cluster
from miner.runs import history
from miner.vocabulary import RunKind, StartedBy

REPO = Path(__file__).resolve().parents[1]
EMAIL, JIRA_TOKEN = "pm@acme.example", "jira-token"
API_TOKEN = "api-token-for-link-tests"
AUTH = {"Authorization": f"Bearer {API_TOKEN}"}


@pytest.fixture
def jira() -> Iterator[DemoTracker]:
    with DemoTracker(jira_credentials=(EMAIL, JIRA_TOKEN), seed=True) as tracker:
        yield tracker


def jira_env(tracker: DemoTracker) -> dict[str, str]:
    return {"JIRA_BASE_URL": tracker.url, "JIRA_EMAIL": EMAIL, "JIRA_API_TOKEN": JIRA_TOKEN,
            "JIRA_PROJECT_KEY": "SW", "MINER_LOG_LEVEL": "WARNING"}


def add_cluster(engine: Engine, name: str = "Calendar sync duplicates shifts") -> int:
    now = datetime.now(UTC)
    with engine.begin() as conn:
        return int(conn.execute(insert(Cluster.__table__).values(
            name=name, name_source="offline", created_at=now, updated_at=now)).inserted_primary_key[0])


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "PYTHONPATH": str(REPO), "MINER_SECRETS_FILE": "", **env}
    return subprocess.run([sys.executable, "-m", "miner", "link", *args], capture_output=True, text=True,
                          env=full, timeout=120, cwd=REPO)


# --- the command line ------------------------------------------------------------------------------


def test_link_an_existing_jira_issue_and_list_it(jira: DemoTracker, sqlite_url: str, sqlite_engine: Engine) -> None:
    cid = add_cluster(sqlite_engine)
    env = {"DATABASE_URL": sqlite_url, **jira_env(jira)}
    out = cli(str(cid), "SW-101", env=env)
    assert out.returncode == 0, out.stderr
    assert f"cluster #{cid} linked to Jira SW-101 (Done)" in out.stdout
    listing = cli(str(cid), env=env)
    assert listing.returncode == 0 and "SW-101" in listing.stdout and "Done, resolved" in listing.stdout
    assert "nothing to compare with" in listing.stdout  # a cluster without tickets: the effect says why


def test_an_unknown_key_exits_2_with_one_line(jira: DemoTracker, sqlite_url: str, sqlite_engine: Engine) -> None:
    cid = add_cluster(sqlite_engine)
    out = cli(str(cid), "SW-9999", env={"DATABASE_URL": sqlite_url, **jira_env(jira)})
    assert out.returncode == 2
    assert out.stderr.strip().splitlines()[-1].startswith("error: Jira has no issue SW-9999")
    assert store.all_links(sqlite_engine) == []


def test_create_a_jira_issue_from_a_cluster(jira: DemoTracker, sqlite_url: str, sqlite_engine: Engine) -> None:
    cid = add_cluster(sqlite_engine)
    out = cli(str(cid), "--create", "jira", env={"DATABASE_URL": sqlite_url, **jira_env(jira)})
    assert out.returncode == 0, out.stderr
    [link] = store.links_for_cluster(sqlite_engine, cid)
    assert f"created Jira {link.key}" in out.stdout
    assert jira.jira_issue(link.key).summary.startswith("Calendar sync duplicates shifts")


def test_refresh_every_link_is_a_run_that_records_the_resolution(jira: DemoTracker, sqlite_url: str,
                                                                  sqlite_engine: Engine) -> None:
    cid = add_cluster(sqlite_engine)
    env = {"DATABASE_URL": sqlite_url, **jira_env(jira)}
    assert cli(str(cid), "SW-102", env=env).returncode == 0
    jira.resolve_jira("SW-102")
    out = cli("--refresh", env=env)
    assert out.returncode == 0, out.stderr
    assert "refresh_links run #1 succeeded: 1 linked issues checked, 1 changed" in out.stdout
    [link] = store.links_for_cluster(sqlite_engine, cid)
    assert link.resolved and link.resolved_at is not None and link.status == "Done"
    [run] = history.recent_runs(sqlite_engine, kind=RunKind.REFRESH_LINKS)
    assert run.status == "succeeded"


def test_a_key_and_create_together_exit_2(sqlite_url: str) -> None:
    out = cli("1", "SW-1", "--create", "jira", env={"DATABASE_URL": sqlite_url})
    assert out.returncode == 2 and "either KEY" in out.stderr


def test_half_entered_jira_settings_exit_2_naming_them(sqlite_url: str) -> None:
    out = cli(env={"DATABASE_URL": sqlite_url, "JIRA_EMAIL": EMAIL})
    assert out.returncode == 2
    assert "Jira is partly configured: it needs JIRA_BASE_URL and JIRA_API_TOKEN" in out.stderr


# --- the REST API ----------------------------------------------------------------------------------


@pytest.fixture
def served(jira: DemoTracker, sqlite_url: str) -> Iterator[tuple[TestClient, MinerApp]]:
    settings = Settings.load(env={"DATABASE_URL": sqlite_url, "MINER_SCHEDULER": "false", "MINER_DEMO_TICKETS": "100",
                                  "MINER_API_TOKEN": API_TOKEN, **jira_env(jira)}, secrets_file=False)
    miner = MinerApp(settings).start(scheduler=False)
    yield TestClient(Starlette(routes=api.routes(lambda: miner)), headers=AUTH), miner
    miner.worker.shutdown()
    miner.stop()


def test_post_links_an_existing_issue_and_get_lists_it(served: tuple[TestClient, MinerApp]) -> None:
    client, miner = served
    cid = add_cluster(miner.engine)
    answer = client.post(f"/api/clusters/{cid}/links", json={"key": "SW-101"})
    assert answer.status_code == 201, answer.text
    assert answer.json()["key"] == "SW-101" and answer.json()["resolved"] is True
    listed = client.get(f"/api/clusters/{cid}/links").json()
    assert [(link["key"], link["status"]) for link in listed] == [("SW-101", "Done")]
    assert listed[0]["effect"]["verdict"] == "not_enough_data"
    assert [link["cluster_id"] for link in client.get("/api/links").json()] == [cid]


def test_post_creates_an_issue_from_the_cluster(served: tuple[TestClient, MinerApp], jira: DemoTracker) -> None:
    client, miner = served
    cid = add_cluster(miner.engine)
    answer = client.post(f"/api/clusters/{cid}/links", json={"create": "jira"})
    assert answer.status_code == 201, answer.text
    assert jira.jira_issue(answer.json()["key"]).status == "To Do"


@pytest.mark.parametrize(("body", "field", "says"), [
    ({}, None, "give either key"),
    ({"key": "SW-1", "create": "jira"}, None, "give either key"),
    ({"create": "gitlab"}, "create", "create: Input should be 'jira' or 'github'"),
    ({"key": "SW-1", "tracker": "jira"}, "tracker", "Extra inputs are not permitted"),
    ({"key": "SW-9999"}, "key", "Jira has no issue SW-9999"),
    ({"key": "not a key"}, "key", "is not a Jira issue key"),
    ({"create": "github"}, "create", "GitHub is not configured: set GITHUB_REPOSITORY and GITHUB_TOKEN"),
])
def test_bad_link_requests_are_422_naming_the_field(served: tuple[TestClient, MinerApp], body: dict,
                                                    field: str | None, says: str) -> None:
    client, miner = served
    cid = add_cluster(miner.engine)
    answer = client.post(f"/api/clusters/{cid}/links", json=body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == field and says in answer.json()["detail"]


def test_linking_needs_the_token_and_an_existing_cluster(served: tuple[TestClient, MinerApp]) -> None:
    client, _ = served
    assert client.post("/api/clusters/1/links", json={"key": "SW-101"}, headers={"Authorization": ""}
                       ).status_code == 401
    assert client.post("/api/clusters/4242/links", json={"key": "SW-101"}).status_code == 404
    assert client.post("/api/clusters/abc/links", json={"key": "SW-101"}).status_code == 422


def test_an_unreachable_tracker_is_502_with_the_reason(served: tuple[TestClient, MinerApp],
                                                       jira: DemoTracker) -> None:
    client, miner = served
    cid = add_cluster(miner.engine)
    jira.stop()
    answer = client.post(f"/api/clusters/{cid}/links", json={"key": "SW-101"})
    assert answer.status_code == 502
    assert "Jira did not answer" in answer.json()["detail"]


def test_refresh_links_starts_a_run(served: tuple[TestClient, MinerApp]) -> None:
    client, miner = served
    cid = add_cluster(miner.engine)
    assert client.post(f"/api/clusters/{cid}/links", json={"key": "SW-102"}).status_code == 201
    answer = client.post("/api/tasks/refresh_links", json={})
    assert answer.status_code == 202, answer.text
    deadline = time.monotonic() + 30
    while (run := client.get(answer.json()["run_url"]).json())["status"] == "running":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert run["status"] == "succeeded" and run["result"]["links"]["checked"] == 1


# --- the tracker's health -------------------------------------------------------------------------------

REFUSED = {"errorMessages": ["Client must be authenticated to access this resource."]}


def refresh(miner: MinerApp) -> None:
    outcome = miner.worker.run_blocking(RunKind.REFRESH_LINKS, started_by=StartedBy.SCHEDULE)
    assert outcome is not None and outcome.status == "succeeded", outcome


def test_a_tracker_that_failed_three_refreshes_in_a_row_shows_as_failing_in_the_health_checks(
        served: tuple[TestClient, MinerApp], jira: DemoTracker) -> None:
    client, miner = served
    assert client.post(f"/api/clusters/{add_cluster(miner.engine)}/links", json={"key": "SW-102"}).status_code == 201
    refresh(miner)  # answered
    jira.faults.respond(3, 401, REFUSED)
    for _ in range(2):
        refresh(miner)
    health.run_checks(miner.settings, miner.engine)
    assert client.get("/api/health").json()["checks"]["tracker:jira"]["ok"] is True  # two failures: not yet
    refresh(miner)
    health.run_checks(miner.settings, miner.engine)
    check = client.get("/api/health").json()["checks"]["tracker:jira"]
    assert check["ok"] is False
    assert check["message"].startswith("Jira: 3 refreshes in a row failed (last answered ")
    assert "last error: Jira rejected the credentials (401" in check["message"]


def test_a_refresh_the_tracker_answers_ends_its_failing_streak(served: tuple[TestClient, MinerApp],
                                                                jira: DemoTracker) -> None:
    client, miner = served
    assert client.post(f"/api/clusters/{add_cluster(miner.engine)}/links", json={"key": "SW-102"}).status_code == 201
    jira.faults.respond(3, 401, REFUSED)
    for _ in range(4):
        refresh(miner)
    [check] = health.check_trackers(miner.engine, miner.settings.fixes)
    assert (check.component, check.ok) == ("tracker:jira", True)
    assert check.message.startswith("Jira: answered for 1 of 1 linked issues at the refresh of ")


def test_an_issue_the_tracker_says_is_gone_is_not_the_trackers_failure(served: tuple[TestClient, MinerApp],
                                                                       jira: DemoTracker) -> None:
    client, miner = served
    assert client.post(f"/api/clusters/{add_cluster(miner.engine)}/links", json={"key": "SW-102"}).status_code == 201
    jira.delete_jira("SW-102")
    for _ in range(3):
        refresh(miner)
    [link] = store.all_links(miner.engine)
    assert link.last_error is not None and link.last_error.startswith("Jira has no issue SW-102")  # on the link
    [check] = health.check_trackers(miner.engine, miner.settings.fixes)
    assert check.ok and check.message.startswith("Jira: answered for 1 of 1 linked issues")
