"""Zendesk sync against the demo Zendesk (a real HTTP server on 127.0.0.1), on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, func, select

from miner.demo.dataset import generate_dataset
from miner.demo.server import DemoZendesk
from miner.models import Comment, Organization, Ticket
from miner.progress import RunControl
from miner.sync import SyncResult, read_state, run_sync
from miner.zendesk import ZendeskClient, ZendeskConfigError, ZendeskProtocolError, ZendeskUnavailable

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
EVERYTHING = 3650  # initial_days that reaches back before the dataset starts


@pytest.fixture(scope="module")
def small_dataset():
    return generate_dataset(NOW, n_tickets=400, n_orgs=320)


@pytest.fixture
def zendesk(small_dataset):
    with DemoZendesk(small_dataset) as server:
        yield server


def client_for(server: DemoZendesk, **kwargs) -> ZendeskClient:
    kwargs.setdefault("rpm", 0)
    kwargs.setdefault("backoff_base", 0.05)
    return ZendeskClient(server.url, **kwargs)


def sync(engine: Engine, server: DemoZendesk, **kwargs) -> SyncResult:
    with client_for(server, **kwargs.pop("client", {})) as client:
        return run_sync(engine, client, initial_days=EVERYTHING, **kwargs)


def assert_db_matches(engine: Engine, server: DemoZendesk) -> None:
    """Every ticket, comment and organisation in the database is exactly what Zendesk serves."""
    source = server.live_tickets()
    with engine.connect() as conn:
        stored = {t.id: t for t in conn.execute(select(Ticket.__table__))}
        comments = {c.id: c for c in conn.execute(select(Comment.__table__))}
        orgs = dict(conn.execute(select(Organization.id, Organization.name)).all())
    assert set(stored) == set(source)
    for tid, ticket in source.items():
        row = stored[tid]
        served = server.ticket_json(ticket)
        assert row.generated_timestamp == served["generated_timestamp"], tid
        if ticket.deleted:
            assert row.status == "deleted"
            continue
        assert (row.subject, row.description, row.status, row.priority, row.type) == (
            ticket.subject, ticket.description, ticket.status, ticket.priority, ticket.type), tid
        assert (row.requester_id, row.organization_id, row.assignee_id) == (
            ticket.requester_id, ticket.organization_id, ticket.assignee_id)
        assert row.tags == list(ticket.tags)
        assert row.created_at == ticket.created_at and row.updated_at == ticket.updated_at
    expected_comments = {c.id: (tid, c) for tid, t in source.items() for c in t.comments}
    assert set(comments) == set(expected_comments)
    for cid, (tid, c) in expected_comments.items():
        row = comments[cid]
        assert (row.ticket_id, row.body, row.public, row.author_id, row.created_at) == (
            tid, c.body, c.public, c.author_id, c.created_at)
    used_orgs = {t.organization_id for t in source.values() if t.organization_id and not t.deleted}
    assert used_orgs <= set(orgs)
    assert all(orgs[o] == server.dataset.organizations[o] for o in used_orgs)


def test_full_sync_stores_exactly_what_zendesk_serves(engine: Engine, zendesk: DemoZendesk) -> None:
    result = sync(engine, zendesk)
    assert_db_matches(engine, zendesk)
    source = zendesk.live_tickets()
    assert result.tickets_new == sum(not t.deleted for t in source.values())
    assert result.tickets_deleted == sum(t.deleted for t in source.values())
    assert result.comments == sum(len(t.comments) for t in source.values())
    assert result.caught_up and result.pages >= 2 and result.requests == result.pages
    # the cursor is kept for next time, and the first request was the only one with start_time
    assert read_state(engine, "tickets").cursor
    cursor_requests = [r for r in zendesk.requests if r.path.endswith("/tickets/cursor.json")]
    assert "start_time" in cursor_requests[0].query
    assert all("cursor" in r.query and "start_time" not in r.query for r in cursor_requests[1:])
    assert all(r.query.get("per_page") == "1000" for r in cursor_requests)
    events = [r for r in zendesk.requests if r.path.endswith("/ticket_events.json")]
    assert events and all(r.query.get("include") == "comment_events" for r in events)


def test_incremental_sync_takes_only_changes(engine: Engine, zendesk: DemoZendesk) -> None:
    sync(engine, zendesk)
    live = [t for t in zendesk.live_tickets().values() if not t.deleted]
    commented, updated, deleted = live[0], live[1], live[2]
    zendesk.add_comment(commented.id, "Still happening after the update, see screenshot.")
    zendesk.update_ticket(updated.id, status="solved")
    zendesk.delete_ticket(deleted.id)
    new_id = zendesk.add_ticket("Exports time out", "The CSV export of last month never finishes.")
    zendesk.requests.clear()

    result = sync(engine, zendesk)

    assert (result.tickets_new, result.tickets_updated, result.tickets_deleted) == (1, 2, 1)
    assert result.comments == 2  # the new comment and the new ticket's first message
    assert_db_matches(engine, zendesk)
    first = next(r for r in zendesk.requests if r.path.endswith("/tickets/cursor.json"))
    assert "cursor" in first.query and "start_time" not in first.query
    with engine.connect() as conn:
        assert conn.execute(select(Ticket.subject).where(Ticket.id == new_id)).scalar() == "Exports time out"


def test_deleted_ticket_keeps_its_content_as_a_tombstone(engine: Engine, zendesk: DemoZendesk) -> None:
    sync(engine, zendesk)
    victim = next(t for t in zendesk.live_tickets().values() if not t.deleted)
    zendesk.delete_ticket(victim.id)
    sync(engine, zendesk)
    with engine.connect() as conn:
        row = conn.execute(select(Ticket.__table__).where(Ticket.id == victim.id)).one()
    assert row.status == "deleted" and row.deleted_at is not None
    assert (row.subject, row.description) == (victim.subject, victim.description)  # not "SCRUBBED"


def test_ticket_deleted_before_we_saw_it_has_no_content(engine: Engine, zendesk: DemoZendesk) -> None:
    sync(engine, zendesk)
    gone = [t for t in zendesk.live_tickets().values() if t.deleted]
    assert gone, "the demo dataset has deleted tickets"
    with engine.connect() as conn:
        rows = conn.execute(select(Ticket.subject, Ticket.description, Ticket.status)
                            .where(Ticket.id.in_([t.id for t in gone]))).all()
    assert {(r.subject, r.description, r.status) for r in rows} == {(None, None, "deleted")}


def test_backfill_rereads_without_changing_anything(engine: Engine, zendesk: DemoZendesk) -> None:
    sync(engine, zendesk)
    result = sync(engine, zendesk, backfill_days=30)
    assert (result.tickets_new, result.tickets_updated, result.tickets_deleted, result.comments) == (0, 0, 0, 0)
    assert result.tickets_unchanged > 0
    assert_db_matches(engine, zendesk)
    first = next(r for r in zendesk.requests[::-1] if "start_time" in r.query and r.path.endswith("cursor.json"))
    assert int(first.query["start_time"]) <= int(time.time()) - 29 * 86400


@pytest.mark.parametrize("body", ["json", "text"])
def test_429_storm_waits_as_told_and_finishes(sqlite_engine: Engine, zendesk: DemoZendesk, body: str) -> None:
    zendesk.faults.rate_limit(4, retry_after="1", body=body)
    started = time.monotonic()
    result = sync(sqlite_engine, zendesk)
    assert time.monotonic() - started >= 4.0
    assert result.rate_limited == 4 and result.seconds_waited >= 4.0
    assert_db_matches(sqlite_engine, zendesk)


def test_missing_retry_after_uses_a_capped_default(sqlite_engine: Engine, zendesk: DemoZendesk) -> None:
    zendesk.faults.rate_limit(2, retry_after=None, status=503)
    result = sync(sqlite_engine, zendesk, client={"max_wait": 0.5})
    assert result.seconds_waited == pytest.approx(1.0, abs=0.2)  # 2 waits of 60 s, capped at 0.5 s
    assert_db_matches(sqlite_engine, zendesk)


def test_server_errors_resets_and_bad_json_are_retried(sqlite_engine: Engine, zendesk: DemoZendesk) -> None:
    zendesk.faults.server_error(2, status=502)
    zendesk.faults.reset(1)
    zendesk.faults.malformed(1)
    sync(sqlite_engine, zendesk)
    assert_db_matches(sqlite_engine, zendesk)


def test_outage_stops_cleanly_and_the_next_run_resumes(engine: Engine, small_dataset) -> None:
    with DemoZendesk(generate_dataset(NOW, n_tickets=2500, n_orgs=320)) as zendesk:
        zendesk.faults.server_error(1000, paths=("/api/v2/incremental/ticket_events.json",))
        with pytest.raises(ZendeskUnavailable, match="failed 3 times"):
            sync(engine, zendesk, client={"max_attempts": 3})
        assert read_state(engine, "tickets").caught_up_at is not None  # tickets finished first
        zendesk.faults.clear()
        sync(engine, zendesk)
        assert_db_matches(engine, zendesk)


@pytest.mark.parametrize(
    ("setup", "message"),
    [("credentials", "ZENDESK_EMAIL and ZENDESK_API_TOKEN"), ("forbidden", "admin"),
     ("path", "ZENDESK_SUBDOMAIN")],
)
def test_auth_and_address_errors_name_the_setting(sqlite_engine: Engine, small_dataset, setup: str,
                                                  message: str) -> None:
    with DemoZendesk(small_dataset, credentials=("admin@example.com", "right")) as zendesk:
        zendesk.forbidden = setup == "forbidden"
        token = "wrong" if setup == "credentials" else "right"
        base = zendesk.url + ("/nothing-here" if setup == "path" else "")
        with ZendeskClient(base, email="admin@example.com", api_token=token, rpm=0) as client:
            with pytest.raises(ZendeskConfigError, match=message):
                run_sync(sqlite_engine, client, initial_days=EVERYTHING)
        assert len(zendesk.requests) == 1  # no retries on 401/403/404


def test_cursor_that_does_not_advance_is_not_looped_on(sqlite_engine: Engine) -> None:
    with DemoZendesk(generate_dataset(NOW, n_tickets=2500, n_orgs=320)) as zendesk:
        zendesk.faults.stuck_cursor(5)
        with pytest.raises(ZendeskProtocolError, match="did not advance"):
            sync(sqlite_engine, zendesk)
        assert len(zendesk.requests) <= 3


def test_requests_are_paced_to_the_configured_rate(sqlite_engine: Engine) -> None:
    with DemoZendesk(generate_dataset(NOW, n_tickets=2500, n_orgs=320)) as zendesk:
        started = time.monotonic()
        result = sync(sqlite_engine, zendesk, client={"rpm": 120})  # one request every 0.5 s
        elapsed = time.monotonic() - started
    assert result.requests >= 5
    assert elapsed >= 0.5 * (result.requests - 1) - 0.05


def test_zendesk_rate_limit_answers_are_honoured(sqlite_engine: Engine) -> None:
    """Zendesk's own limit: more than N incremental requests a minute get 429 + Retry-After."""
    clock = [NOW.timestamp() + 3600]
    dataset = generate_dataset(NOW, n_tickets=2500, n_orgs=320)
    with DemoZendesk(dataset, incremental_rpm_limit=3, clock=lambda: clock[0]) as zendesk:
        def advance(seconds: float) -> None:
            clock[0] += seconds

        control = RunControl()
        control.sleep = lambda seconds: advance(seconds)  # type: ignore[method-assign]
        with client_for(zendesk, control=control) as client:
            result = run_sync(sqlite_engine, client, initial_days=EVERYTHING, now=datetime.fromtimestamp(clock[0], UTC))
        assert result.rate_limited >= 1
        assert result.seconds_waited >= 50  # waited for the minute window to reopen
        assert_db_matches(sqlite_engine, zendesk)


KILLABLE_SYNC = textwrap.dedent("""
    import sys
    from miner import db
    from miner.sync import run_sync
    from miner.zendesk import ZendeskClient
    engine = db.make_script_engine(sys.argv[1])
    db.upgrade(engine)
    with ZendeskClient(sys.argv[2], rpm=0) as client:
        run_sync(engine, client, initial_days=3650)
""")


def test_sigkill_between_pages_then_resume_loses_and_duplicates_nothing(engine: Engine, database_url: str) -> None:
    with DemoZendesk(generate_dataset(NOW, n_tickets=4000, n_orgs=320)) as zendesk:
        zendesk.faults.latency = 0.15
        env = {**os.environ, "PYTHONPATH": os.getcwd()}
        proc = subprocess.Popen([sys.executable, "-c", KILLABLE_SYNC, database_url, zendesk.url], env=env)
        deadline = time.monotonic() + 60
        while len(zendesk.requests) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        zendesk.faults.latency = 0
        with engine.connect() as conn:
            partial = conn.execute(select(func.count()).select_from(Ticket)).scalar_one()
        assert 0 < partial < len(zendesk.live_tickets())  # it really stopped half-way
        sync(engine, zendesk)
        assert_db_matches(engine, zendesk)
