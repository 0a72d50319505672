"""`python -m miner status` (miner/status.py): what is in the database and what runs, told truthfully."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, insert, update

from miner.config import Settings
from miner.models import Cluster, Comment, Organization, TaskRun, Ticket
from miner.runs import history as runs
from miner.runs.lease import new_holder
from miner.status import collect_status
from miner.vocabulary import RunKind, RunStatus, StartedBy

CREATED = datetime(2026, 11, 1, tzinfo=UTC)


def settings_for(url: str = "sqlite:///unused.db") -> Settings:
    return Settings.load(env={"DATABASE_URL": url}, secrets_file=False)


def test_status_counts_live_and_deleted_tickets_and_internal_comments_apart(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(insert(Ticket.__table__), [
            {"id": i, "status": status, "tags": [], "generated_timestamp": 1, "created_at": CREATED,
             "synced_at": CREATED} for i, status in ((1, "open"), (2, "solved"), (3, "new"), (4, "deleted"))])
        conn.execute(insert(Comment.__table__), [
            {"id": i, "ticket_id": 1, "public": public, "body": "b", "created_at": CREATED}
            for i, public in ((10, True), (11, True), (12, False))])
        conn.execute(insert(Organization.__table__), [{"id": 100, "name": "Acme"}, {"id": 101, "name": "Globex"}])

    data = collect_status(settings_for(), engine)["data"]

    assert data == {"tickets_live": 3, "tickets_deleted": 1, "comments": 3, "comments_internal": 1,
                    "organizations": 2}


def test_status_counts_only_the_clusters_still_in_use(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(insert(Cluster.__table__), [
            {"id": i, "name": f"C{i}", "name_source": "offline", "retired": retired}
            for i, retired in ((1, False), (2, False), (3, True))])
    assert collect_status(settings_for(), engine)["clusters"] == 2


def test_status_never_shows_the_database_password(sqlite_engine: Engine) -> None:
    settings = settings_for("postgresql+psycopg://miner:s3cret-pw@db.example.com:5432/miner")
    shown = collect_status(settings, sqlite_engine)["database"]
    assert "s3cret-pw" not in shown and "db.example.com" in shown and "miner:" in shown


def test_status_shows_the_run_in_progress_and_the_recent_runs_newest_first(sqlite_engine: Engine) -> None:
    done = runs.start_run(sqlite_engine, RunKind.SYNC, StartedBy.CLI, {}, holder=new_holder())
    runs.finish_run(sqlite_engine, done, RunStatus.SUCCEEDED)
    going = runs.start_run(sqlite_engine, RunKind.PIPELINE, StartedBy.SCHEDULE, {}, holder=new_holder())

    status = collect_status(settings_for(), sqlite_engine)

    assert status["running"]["id"] == going and status["running"]["kind"] == "pipeline"
    assert [(r["id"], r["status"]) for r in status["recent_runs"]] == [(going, "running"), (done, "succeeded")]


def test_a_run_whose_process_is_gone_is_not_shown_as_running(sqlite_engine: Engine) -> None:
    dead = "ghost-host-that-cannot-answer:1:1.00:abcdef12"  # another host, heartbeat long past
    run_id = runs.start_run(sqlite_engine, RunKind.SYNC, StartedBy.CLI, {}, holder=dead)
    with sqlite_engine.begin() as conn:
        conn.execute(update(TaskRun).values(heartbeat_at=CREATED))

    status = collect_status(settings_for(), sqlite_engine)

    assert status["running"] is None
    assert [(r["id"], r["status"]) for r in status["recent_runs"]] == [(run_id, "interrupted")]
