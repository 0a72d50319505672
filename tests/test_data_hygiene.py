"""Data hygiene (issue 10): storable text, the purge of deleted tickets' content, quarantine on Operations."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, insert, select, update
from streamlit.testing.v1 import AppTest

from miner import db
from miner.analysis.schema import ExtractedIssue, TicketResult
from miner.analysis.store import SyncReaction, store_results
from miner.analysis.ticket_text import TicketForAnalysis
from miner.config import ConfigError, Settings
from miner.demo.dataset import generate_dataset
from miner.demo.server import DemoZendesk
from miner.models import Comment, Issue, IssueEmbedding, SyncQuarantine, Ticket
from miner.pipeline import cleanup_task
from miner.progress import RunContext, RunControl
from miner.reports import cleanup
from miner.sync import run_sync
from miner.zendesk import ZendeskClient

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def dataset():
    return generate_dataset(NOW, n_tickets=300, n_orgs=310)


@pytest.fixture
def zendesk(dataset) -> Iterator[DemoZendesk]:
    with DemoZendesk(dataset) as server:
        yield server


def sync(engine: Engine, zendesk: DemoZendesk, **kwargs: object) -> None:
    with ZendeskClient(zendesk.url, rpm=0) as client:
        run_sync(engine, client, initial_days=3650, on_change=SyncReaction(), **kwargs)  # type: ignore[arg-type]


# --- storable text --------------------------------------------------------------------------------


def test_storable_replaces_nul_and_lone_surrogates_and_keeps_everything_else() -> None:
    assert db.storable("a\x00b\ud800c\udfffd") == "a\ufffdb\ufffdc\ufffdd"
    text = "Grüße, 😀 — plain"
    assert db.storable(text) is text and db.storable(None) is None


def test_issue_text_from_the_analyzer_is_stored_without_unstorable_characters(engine: Engine) -> None:
    created = datetime(2026, 11, 1, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(insert(Ticket.__table__).values(id=1, subject="s", description="d", status="open", tags=[],
                                                     generated_timestamp=1, created_at=created, synced_at=created))
    issue = ExtractedIssue(category="scheduling", subcategory="shifts", issue_type="bug", severity="high",
                           summary="Shifts \x00vanish", detail="Detail \ud800 here", representative_quote="it\x00 breaks",
                           confidence=0.9)
    ticket = TicketForAnalysis(id=1, subject="s", description="d", requester_id=None, organization_id=None,
                               created_at=created, comments=())
    with db.write_transaction(engine) as conn:
        store_results(conn, [(ticket, TicketResult(1, issues=[issue]))], analyzer="claude", model="m",
                      prompt_version="p", taxonomy_version="t", run_id=None, max_attempts=3, record_calls=False)
    with engine.connect() as conn:
        row = conn.execute(select(Issue.summary, Issue.detail, Issue.representative_quote)).one()
    assert tuple(row) == ("Shifts \ufffdvanish", "Detail \ufffd here", "it\ufffd breaks")


# --- purge of deleted tickets ----------------------------------------------------------------------


def deleted_two(engine: Engine, zendesk: DemoZendesk, now: datetime) -> tuple[int, int]:
    """Sync, delete two commented tickets in Zendesk, sync again; one was deleted 40 days ago, the other
    5 days ago (every other deleted ticket too). The old one has an issue with an embedding."""
    sync(engine, zendesk)
    old, recent = [t for t in zendesk.live_tickets().values() if not t.deleted and len(t.comments) > 1][:2]
    zendesk.delete_ticket(old.id)
    zendesk.delete_ticket(recent.id)
    sync(engine, zendesk)
    with engine.begin() as conn:
        conn.execute(update(Ticket.__table__).where(Ticket.status == "deleted").values(deleted_at=now - timedelta(days=5)))
        conn.execute(update(Ticket.__table__).where(Ticket.id == old.id).values(deleted_at=now - timedelta(days=40)))
        # an issue stored for the ticket after it was deleted (a late Message Batch result)
        issue_id = conn.execute(insert(Issue.__table__).values(
            ticket_id=old.id, category="c", subcategory="s", issue_type="bug", severity="low", summary=old.subject,
            detail=old.description, representative_quote=old.description[:40], confidence=0.5,
            ticket_created_at=old.created_at, created_at=now, updated_at=now)).inserted_primary_key[0]
        conn.execute(insert(IssueEmbedding.__table__).values(issue_id=issue_id, model="m", vector=b"\0" * 8))
    return old.id, recent.id


def content(engine: Engine, ticket_id: int) -> dict[str, object]:
    with engine.connect() as conn:
        t = conn.execute(select(Ticket.__table__).where(Ticket.id == ticket_id)).one()
        return {
            "subject": t.subject, "description": t.description, "tags": t.tags, "purged": t.purged_at is not None,
            "comments": conn.execute(select(func.count()).select_from(Comment).where(Comment.ticket_id == ticket_id)).scalar(),
            "issues": conn.execute(select(func.count()).select_from(Issue).where(Issue.ticket_id == ticket_id)).scalar(),
            "embeddings": conn.execute(select(func.count()).select_from(IssueEmbedding).join(
                Issue, Issue.id == IssueEmbedding.issue_id).where(Issue.ticket_id == ticket_id)).scalar(),
            "kept": (t.id, t.status, t.created_at, t.deleted_at, t.requester_id),
        }


def test_cleanup_purges_content_of_tickets_deleted_more_than_n_days_ago(engine: Engine, zendesk: DemoZendesk) -> None:
    now = datetime.now(UTC)
    old, recent = deleted_two(engine, zendesk, now)
    before_old, before_recent = content(engine, old), content(engine, recent)
    assert before_old["subject"] and before_old["comments"] and before_old["issues"] == before_old["embeddings"] == 1

    figures = cleanup(engine, 90, 30, now=now)

    after = content(engine, old)
    assert {k: after[k] for k in ("subject", "description", "tags", "comments", "issues", "embeddings", "purged")} \
        == {"subject": None, "description": None, "tags": [], "comments": 0, "issues": 0, "embeddings": 0,
            "purged": True}
    assert after["kept"] == before_old["kept"]  # ids and times: what the counts need
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(IssueEmbedding)).scalar() == 0  # none left orphaned
    assert content(engine, recent) == before_recent  # deleted 5 days ago: untouched
    assert (figures["tickets_purged"], figures["comments_purged"], figures["issues_purged"]) \
        == (1, before_old["comments"], 1)


def test_purge_after_zero_days_purges_every_deleted_ticket_at_the_next_cleanup(
        engine: Engine, zendesk: DemoZendesk) -> None:
    now = datetime.now(UTC)
    old, recent = deleted_two(engine, zendesk, now)
    cleanup(engine, 90, 0, now=now)
    assert content(engine, old)["purged"] and content(engine, recent)["purged"]
    assert content(engine, recent)["comments"] == 0
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Ticket).where(
            Ticket.status == "deleted", Ticket.purged_at.is_(None))).scalar() == 0


def test_a_backfill_does_not_bring_back_the_comments_of_a_purged_ticket(engine: Engine, zendesk: DemoZendesk) -> None:
    now = datetime.now(UTC)
    old, _ = deleted_two(engine, zendesk, now)
    cleanup(engine, 90, 30, now=now)
    sync(engine, zendesk, backfill_days=3650)  # Zendesk's event export still lists the deleted ticket's comments
    assert content(engine, old)["comments"] == 0 and content(engine, old)["subject"] is None


def test_monthly_cleanup_job_purges_with_the_configured_delay(engine: Engine, zendesk: DemoZendesk,
                                                              database_url: str) -> None:
    now = datetime.now(UTC)
    old, recent = deleted_two(engine, zendesk, now)
    settings = Settings.load(env={"DATABASE_URL": database_url, "MINER_PURGE_DELETED_AFTER_DAYS": "3"},
                             secrets_file=False)
    with engine.connect() as conn:
        deleted = conn.execute(select(func.count()).select_from(Ticket).where(Ticket.status == "deleted")).scalar()
    result: dict = {}
    cleanup_task(RunContext(settings, engine))(RunControl(), result)
    assert result["cleanup"]["tickets_purged"] == deleted  # deleted 40 and 5 days ago: older than 3 days
    assert content(engine, old)["purged"] and content(engine, recent)["purged"]


@pytest.mark.parametrize("value", ["-1", "3651", "soon"])
def test_purge_setting_out_of_range_is_a_clear_error(value: str) -> None:
    with pytest.raises(ConfigError, match="MINER_PURGE_DELETED_AFTER_DAYS"):
        Settings.load(env={"MINER_PURGE_DELETED_AFTER_DAYS": value}, secrets_file=False)
    assert Settings.load(env={}, secrets_file=False).purge_deleted_after_days == 30


# --- quarantine on the Operations page --------------------------------------------------------------


@pytest.fixture
def operations_app(tmp_path: Path) -> Iterator[Engine]:
    from miner import app as app_module
    from miner.app import MinerApp
    from miner.runtime import runtime
    from pages.ui.shared import refresh_data

    settings = Settings.load(env={"DATABASE_URL": f"sqlite:///{tmp_path / 'ops.db'}", "MINER_SCHEDULER": "false",
                                  "MINER_DASHBOARD_PASSWORD": "pw"}, secrets_file=False)
    miner = MinerApp(settings)
    app_module.uninstall()
    app_module.install(miner)
    runtime.clear()
    refresh_data()
    miner.start(scheduler=False)
    yield miner.engine
    app_module.uninstall()
    runtime.clear()
    refresh_data()


def operations_page() -> AppTest:
    at = AppTest.from_file(str(REPO / "dashboard.py"), default_timeout=60)
    at.session_state["authenticated"] = True
    at.run()
    at.switch_page("pages/operations.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_operations_lists_quarantined_objects_only_when_there_are_some(operations_app: Engine) -> None:
    assert "Quarantine" not in [m.value for m in operations_page().markdown]
    seen = datetime(2026, 11, 20, tzinfo=UTC)
    with operations_app.begin() as conn:
        conn.execute(insert(SyncQuarantine.__table__).values(
            key="ticket:42", stream="tickets", object_type="ticket", object_id="42", count=3, first_seen=seen,
            last_seen=seen, error="not in the documented format: status: Field required", excerpt='{"id": 42}'))
    at = operations_page()
    assert "#### Quarantine" in [m.value for m in at.markdown]
    (table,) = [df.value for df in at.dataframe if "error" in df.value.columns]
    assert table.iloc[0][["type", "id", "error", "seen"]].tolist() == [
        "ticket", "42", "not in the documented format: status: Field required", 3]
