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
from sqlalchemy import Engine, func, select, update

from miner.analysis.store import SyncReaction
from miner.config import Settings
from miner.demo.dataset import generate_dataset
from miner.demo.server import MISSING, DemoZendesk
from miner.models import Comment, Issue, Organization, SyncQuarantine, Ticket, TicketAnalysis
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
        return run_sync(engine, client, initial_days=EVERYTHING, on_change=SyncReaction(), **kwargs)


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


def test_a_ticket_is_synced_when_opened_and_again_when_it_changes(engine: Engine, small_dataset) -> None:
    """As Zendesk exports it: first as it was opened, later (further on in the stream) as it ends up."""
    ticket = next(t for t in small_dataset.tickets if not t.deleted and len(t.comments) >= 2
                  and (t.updated_at - t.created_at).total_seconds() > 7200)
    clock = [ticket.created_at.timestamp() + 3600]  # an hour after it was opened, before its last reply
    with DemoZendesk(small_dataset, clock=lambda: clock[0]) as zendesk:
        sync(engine, zendesk, now=datetime.fromtimestamp(clock[0], UTC))
        with engine.connect() as conn:
            early = conn.execute(select(Ticket.status, Ticket.updated_at).where(Ticket.id == ticket.id)).one()
            early_comments = conn.execute(select(func.count()).select_from(Comment)
                                          .where(Comment.ticket_id == ticket.id)).scalar_one()
        clock[0] = ticket.updated_at.timestamp() + 3600
        sync(engine, zendesk, now=datetime.fromtimestamp(clock[0], UTC))
        with engine.connect() as conn:
            late = conn.execute(select(Ticket.status, Ticket.updated_at).where(Ticket.id == ticket.id)).one()
            late_comments = conn.execute(select(func.count()).select_from(Comment)
                                         .where(Comment.ticket_id == ticket.id)).scalar_one()
    assert early.status == "new" and early.updated_at.replace(tzinfo=UTC) == ticket.created_at
    assert early_comments < len(ticket.comments)
    assert late.status == ticket.status and late.updated_at.replace(tzinfo=UTC) == ticket.updated_at
    assert late_comments == len(ticket.comments)


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


# --- data hygiene: hostile text, quarantine, comment edits and redactions (issue 10) -------------------


def quarantined(engine: Engine) -> dict[str, tuple[str, str]]:
    """Quarantine entries: key -> (stream, error)."""
    with engine.connect() as conn:
        return {r.key: (r.stream, r.error) for r in conn.execute(select(SyncQuarantine.__table__))}


def a_second_later(zendesk: DemoZendesk) -> None:
    """Changes made from now on carry a later Zendesk timestamp than those made before (the export's
    clock has one-second steps, and the cursor is already past the current second)."""
    clock = zendesk.clock
    zendesk.clock = lambda: clock() + 1


@pytest.mark.parametrize("char", ["\x00", "\ud800", "\udfff"], ids=["nul", "lone-high-surrogate", "lone-low-surrogate"])
def test_unstorable_characters_are_replaced_and_every_ticket_is_stored(engine: Engine, zendesk: DemoZendesk,
                                                                       char: str) -> None:
    """PostgreSQL refuses NUL in text; no database can encode a lone surrogate (and the JSON parser
    refuses its escape). Both become U+FFFD, wherever they are."""

    def hostile(text: str) -> str:
        return f"{text} {char} and {char}{char} here"

    org = next(iter(zendesk.dataset.organizations))
    zendesk.rename_organization(org, hostile("Acme"))
    bad = zendesk.add_ticket(hostile("Export fails"), hostile("The CSV export"), organization_id=org,
                             tags=("billing", f"bad{char}tag"))
    zendesk.add_comment(bad, hostile("Still broken"))

    result = sync(engine, zendesk)

    replaced = "{} \ufffd and \ufffd\ufffd here"  # U+FFFD, the replacement character (see README "Sync")
    with engine.connect() as conn:
        ticket = conn.execute(select(Ticket.__table__).where(Ticket.id == bad)).one()
        bodies = set(conn.execute(select(Comment.body).where(Comment.ticket_id == bad)).scalars())
        org_name = conn.execute(select(Organization.name).where(Organization.id == org)).scalar_one()
        stored = conn.execute(select(func.count()).select_from(Ticket)).scalar_one()
    assert (ticket.subject, ticket.description) == (replaced.format("Export fails"), replaced.format("The CSV export"))
    assert ticket.tags == ["billing", "bad\ufffdtag"]
    assert bodies == {replaced.format("The CSV export"), replaced.format("Still broken")}
    assert org_name == replaced.format("Acme")
    assert stored == len(zendesk.live_tickets()) and result.caught_up and result.quarantined == 0


def test_invalid_ticket_is_quarantined_and_the_rest_of_its_page_is_stored(engine: Engine,
                                                                          zendesk: DemoZendesk) -> None:
    sync(engine, zendesk)
    live = [t for t in zendesk.live_tickets().values() if not t.deleted]
    zendesk.serve_out_of_format(live[0].id, id="abc")
    zendesk.serve_out_of_format(live[1].id, status=MISSING)
    zendesk.update_ticket(live[2].id, subject="Changed after the bad ones")
    new_id = zendesk.add_ticket("Exports time out", "The CSV export never finishes.")

    result = sync(engine, zendesk)

    assert result.caught_up and result.quarantined == 2 and result.tickets_new == 1
    with engine.connect() as conn:
        assert conn.execute(select(Ticket.subject).where(Ticket.id == live[2].id)).scalar_one() \
            == "Changed after the bad ones"
        assert conn.execute(select(Ticket.id).where(Ticket.id == new_id)).scalar_one() == new_id
    held = quarantined(engine)
    assert held[f"ticket:{live[1].id}"] == ("tickets", "not in the documented format: status: Field required")
    assert held["ticket:abc"][1].startswith("not in the documented format: id: Input should be a valid integer")
    again = sync(engine, zendesk)  # the cursor moved past them: the next run neither fails nor re-reads them
    assert again.caught_up and again.tickets_new == again.tickets_updated == 0 and len(quarantined(engine)) == 2


def test_fixing_a_quarantined_ticket_in_zendesk_stores_it_and_clears_the_quarantine(
        engine: Engine, zendesk: DemoZendesk) -> None:
    sync(engine, zendesk)
    ticket = next(t for t in zendesk.live_tickets().values() if not t.deleted)
    zendesk.serve_out_of_format(ticket.id, status=MISSING, subject="Half-saved")
    sync(engine, zendesk)
    assert list(quarantined(engine)) == [f"ticket:{ticket.id}"]

    a_second_later(zendesk)
    zendesk.serve_in_format(ticket.id)
    zendesk.update_ticket(ticket.id, subject="Fixed in Zendesk")
    result = sync(engine, zendesk)

    assert result.quarantine_released == 1 and quarantined(engine) == {}
    with engine.connect() as conn:
        assert conn.execute(select(Ticket.subject).where(Ticket.id == ticket.id)).scalar_one() == "Fixed in Zendesk"


def test_row_the_database_refuses_is_quarantined_and_the_rest_of_its_page_is_stored(
        engine: Engine, zendesk: DemoZendesk) -> None:
    sync(engine, zendesk)
    live = [t for t in zendesk.live_tickets().values() if not t.deleted]
    zendesk.serve_out_of_format(live[0].id, requester_id=2**64)  # valid JSON, too big for BIGINT
    zendesk.update_ticket(live[1].id, subject="Stored beside the refused one")

    result = sync(engine, zendesk)

    assert result.caught_up and result.quarantined == 1 and result.tickets_updated == 1
    (stream, error), = quarantined(engine).values()
    assert stream == "tickets" and error.startswith("refused by the database: ")
    with engine.connect() as conn:
        assert conn.execute(select(Ticket.subject).where(Ticket.id == live[1].id)).scalar_one() \
            == "Stored beside the refused one"


def test_invalid_comment_is_quarantined_and_the_other_comments_are_stored(engine: Engine,
                                                                          zendesk: DemoZendesk) -> None:
    sync(engine, zendesk)
    ticket = next(t for t in zendesk.live_tickets().values() if not t.deleted)
    before = zendesk.add_comment(ticket.id, "First reply")
    zendesk.serve_comment_out_of_format(before, created_at="yesterday")
    after = zendesk.add_comment(ticket.id, "Second reply")

    result = sync(engine, zendesk)

    assert result.caught_up and result.comments == 1 and result.quarantined == 1
    assert list(quarantined(engine)) == [f"comment:{before}"]
    with engine.connect() as conn:
        assert conn.execute(select(Comment.body).where(Comment.id == after)).scalar_one() == "Second reply"


def test_quarantine_is_listed_by_status(engine: Engine, zendesk: DemoZendesk, settings) -> None:
    from miner.cli import render_status
    from miner.status import collect_status

    sync(engine, zendesk)
    ticket = next(t for t in zendesk.live_tickets().values() if not t.deleted)
    zendesk.serve_out_of_format(ticket.id, status=MISSING)
    sync(engine, zendesk)

    status = collect_status(settings, engine)

    assert status["quarantine"]["count"] == 1
    (entry,) = status["quarantine"]["objects"]
    assert (entry["object_type"], entry["object_id"], entry["count"]) == ("ticket", str(ticket.id), 1)
    assert f'"id":{ticket.id}' in entry["excerpt"].replace(" ", "")
    assert f"ticket {ticket.id} (tickets, seen 1x): not in the documented format: status: Field required" \
        in render_status(status)


def analysed(engine: Engine, tmp_db_settings) -> None:
    from miner.analysis.analyze import analyze_pending

    analyze_pending(engine, tmp_db_settings, batch_size=5000)


def ticket_with_quoted_issue(engine: Engine, zendesk: DemoZendesk) -> tuple[int, int, str]:
    """A ticket whose issue quotes its opening message: (ticket id, first comment id, a quoted word)."""
    with engine.connect() as conn:
        rows = conn.execute(select(Issue.ticket_id, Issue.representative_quote)).all()
    for ticket_id, quote in rows:
        ticket = zendesk.live_tickets()[ticket_id]
        everything = " ".join([ticket.subject, *(c.body for c in ticket.comments)])
        words = [w for w in quote.split() if len(w) >= 6 and w.isalpha() and everything.count(w) == 1]
        if words and quote in ticket.comments[0].body:
            return ticket_id, ticket.comments[0].id, words[0]
    raise AssertionError("no issue quotes an opening message")


def test_comment_redaction_reaches_the_comments_and_the_issues(engine: Engine, zendesk: DemoZendesk,
                                                               database_url: str) -> None:
    settings = Settings.load(env={"DATABASE_URL": database_url}, secrets_file=False)
    sync(engine, zendesk)
    analysed(engine, settings)
    ticket_id, comment_id, secret = ticket_with_quoted_issue(engine, zendesk)

    zendesk.redact_comment(ticket_id, comment_id, secret)
    result = sync(engine, zendesk)

    redacted = zendesk.live_tickets()[ticket_id].comments[0].body
    assert "▇" * len(secret) in redacted
    with engine.connect() as conn:
        body = conn.execute(select(Comment.body).where(Comment.id == comment_id)).scalar_one()
        description = conn.execute(select(Ticket.description).where(Ticket.id == ticket_id)).scalar_one()
        issues = conn.execute(select(Issue.summary, Issue.detail, Issue.representative_quote)
                              .where(Issue.ticket_id == ticket_id)).all()
        pending = conn.execute(select(func.count()).select_from(TicketAnalysis)
                               .where(TicketAnalysis.ticket_id == ticket_id)).scalar_one()
    assert body == description == redacted
    assert issues == [] and pending == 0  # the issues quoting the old text are gone; analysed again next
    assert result.comments_updated == 1 and result.reanalysis_queued == 1
    analysed(engine, settings)
    with engine.connect() as conn:
        texts = " ".join(" ".join(r) for r in conn.execute(
            select(Issue.summary, Issue.detail, Issue.representative_quote).where(Issue.ticket_id == ticket_id)))
    assert secret not in texts


def test_comment_made_private_in_zendesk_becomes_an_internal_note(engine: Engine, zendesk: DemoZendesk) -> None:
    sync(engine, zendesk)
    ticket = next(t for t in zendesk.live_tickets().values() if not t.deleted and len(t.comments) > 1)
    comment = next(c for c in ticket.comments[1:] if c.public)

    zendesk.make_comment_private(ticket.id, comment.id)
    result = sync(engine, zendesk)

    with engine.connect() as conn:
        assert conn.execute(select(Comment.public).where(Comment.id == comment.id)).scalar_one() is False
    assert_db_matches(engine, zendesk)
    assert result.comments_updated == 1


def test_backfill_rereading_a_changed_comment_updates_its_body(engine: Engine, zendesk: DemoZendesk) -> None:
    sync(engine, zendesk)
    ticket = next(t for t in zendesk.live_tickets().values() if not t.deleted)
    with engine.begin() as conn:  # what we stored differs from what Zendesk holds now
        conn.execute(update(Comment.__table__).where(Comment.id == ticket.comments[0].id)
                     .values(body="text that was edited away"))

    result = sync(engine, zendesk, backfill_days=EVERYTHING)

    assert_db_matches(engine, zendesk)
    assert result.comments == 0 and result.comments_updated == 1


def test_comment_row_the_database_refuses_is_quarantined_and_the_other_comments_are_stored(
        engine: Engine, zendesk: DemoZendesk) -> None:
    sync(engine, zendesk)
    ticket = next(t for t in zendesk.live_tickets().values() if not t.deleted)
    refused = zendesk.add_comment(ticket.id, "Written by an author id too big for BIGINT")
    zendesk.serve_comment_out_of_format(refused, author_id=2**64)
    stored = zendesk.add_comment(ticket.id, "Stored beside it")

    result = sync(engine, zendesk)

    assert result.caught_up and result.comments == 1 and result.quarantined == 1
    (key, (stream, error)), = quarantined(engine).items()
    assert (key, stream) == (f"comment:{refused}", "ticket_events") and error.startswith("refused by the database")
    with engine.connect() as conn:
        assert conn.execute(select(Comment.body).where(Comment.id == stored)).scalar_one() == "Stored beside it"


def test_redaction_whose_reread_fails_is_quarantined_and_applied_by_the_next_sync(
        engine: Engine, zendesk: DemoZendesk) -> None:
    sync(engine, zendesk)
    ticket = next(t for t in zendesk.live_tickets().values() if not t.deleted)
    secret = ticket.comments[0].body.split()[0]
    zendesk.redact_comment(ticket.id, ticket.comments[0].id, secret)
    comments_path = f"/api/v2/tickets/{ticket.id}/comments.json"
    zendesk.faults.server_error(3, paths=(comments_path,))

    first = sync(engine, zendesk, client={"max_attempts": 3})  # the re-read gives up; the sync goes on

    assert first.caught_up and first.quarantined == 1
    (key, (stream, error)), = quarantined(engine).items()
    assert (key, stream) == (f"comment_redaction:{ticket.id}", "ticket_events") and "failed 3 times" in error
    second = sync(engine, zendesk)
    assert second.quarantine_released == 1 and quarantined(engine) == {}
    with engine.connect() as conn:
        body = conn.execute(select(Comment.body).where(Comment.id == ticket.comments[0].id)).scalar_one()
    assert body == zendesk.live_tickets()[ticket.id].comments[0].body and "▇" in body
