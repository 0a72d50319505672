"""Analysis: Claude through the official SDK against a fake Anthropic server, and the offline analyzer."""

from __future__ import annotations

import re
import threading
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, func, select

from miner.analysis.analyze import AnalyzeResult, analyze_pending
from miner.analysis.claude import CircuitBreaker, ClaudeAnalyzer, ClaudeConfigError, FatalAnalysisError
from miner.analysis.offline import OfflineAnalyzer
from miner.analysis.pricing import load_prices
from miner.analysis.redact import Redactor, redact
from miner.analysis.taxonomy import load_taxonomy
from miner.config import DEFAULT_TAXONOMY, Settings
from miner.demo.dataset import generate_dataset
from miner.demo.server import DemoZendesk
from miner.models import AnalysisBatch, Issue, LLMCall, TicketAnalysis
from miner.pipeline import analyze_task, pipeline_task
from miner.progress import Cancelled, RunContext, RunControl
from miner.runs.runner import Runner
from miner.sync import run_sync
from miner.zendesk import ZendeskClient
from tests.fakes.fake_anthropic import FakeAnthropic

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
PII = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+|\+?\d[\d ()-]{8,}\d|\b4111 1111 1111 1111\b|DE89 3704")


@pytest.fixture(scope="module")
def dataset():
    return generate_dataset(NOW, n_tickets=300, n_orgs=310)


@pytest.fixture
def synced(sqlite_engine: Engine, dataset) -> Engine:
    with DemoZendesk(dataset) as zendesk, ZendeskClient(zendesk.url, rpm=0) as client:
        run_sync(sqlite_engine, client, initial_days=3650)
    return sqlite_engine


@pytest.fixture
def fake():
    with FakeAnthropic(min_cacheable_tokens=1024) as server:
        yield server


def claude_settings(sqlite_url: str, fake: FakeAnthropic, **extra: str) -> Settings:
    env = {"DATABASE_URL": sqlite_url, "ANTHROPIC_API_KEY": "sk-test", "ANTHROPIC_BASE_URL": fake.base_url,
           "MINER_ANALYZE_CONCURRENCY": "4", **extra}
    return Settings.load(env=env, secrets_file=False)


def count(engine: Engine, model, *where) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


# --- redaction ------------------------------------------------------------------------------------


def test_redaction_replaces_pii_with_consistent_placeholders() -> None:
    text = ("Mail jane.doe@example.com (or JANE.DOE@example.com), call +1 415 555 0134 or 020 7946 0958. "
            "Card 4111 1111 1111 1111, IBAN DE89 3704 0044 0532 0130 00, server 192.168.1.20 / 2001:db8::1.")
    out = Redactor().redact(text)
    assert out == ("Mail [EMAIL_1] (or [EMAIL_1]), call [PHONE_1] or [PHONE_2]. Card [CARD_1], IBAN [IBAN_1], "
                   "server [IP_1] / [IP_2].")


def test_redaction_leaves_dates_versions_and_amounts_alone() -> None:
    text = "Since 2026-11-28 on app 7.2.1 at 10:30, invoice INV-2026-0042 for 1,299.00 EUR, 150 staff, 3 taps."
    assert redact(text) == text


def test_no_email_phone_or_card_from_a_ticket_reaches_claude(synced: Engine, dataset, sqlite_url: str, fake) -> None:
    leaked = {m for t in dataset.tickets for c in t.comments for m in PII.findall(c.body)}
    assert leaked, "the demo dataset should contain personal data to test this"
    result = analyze_pending(synced, claude_settings(sqlite_url, fake), batch_size=300)
    assert result.analyzed > 200
    bodies = fake.request_text()
    assert not [value for value in leaked if value in bodies]
    assert "[EMAIL_1]" in bodies or "[PHONE_1]" in bodies


# --- Claude path ----------------------------------------------------------------------------------


def test_claude_analysis_stores_issues_usage_and_cost(synced: Engine, sqlite_url: str, fake) -> None:
    result = analyze_pending(synced, claude_settings(sqlite_url, fake), batch_size=40)
    assert (result.analyzer, result.model, result.analyzed) == ("claude", "claude-haiku-5-5", 40)
    assert result.issues + result.no_issue >= 40 and result.issues > 0
    assert result.cache_read_tokens > 0  # the system prompt is a cached prefix
    assert 0 < result.llm_cost_usd < 0.05
    with synced.connect() as conn:
        calls = conn.execute(select(LLMCall.__table__)).all()
        analyses = conn.execute(select(TicketAnalysis.__table__)).all()
    assert len(calls) == 40 and all(c.outcome == "ok" and c.cost_usd > 0 for c in calls)
    assert {a.prompt_version for a in analyses} == {"2026-11-28.1"} and {a.schema_version for a in analyses} == {1}
    body = fake.message_requests[0]
    assert "temperature" not in body and body["system"][-1]["cache_control"] == {"type": "ephemeral"}
    assert body["output_config"]["format"]["type"] == "json_schema"


def test_rerun_does_not_reanalyse_finished_tickets(synced: Engine, sqlite_url: str, fake) -> None:
    settings = claude_settings(sqlite_url, fake)
    first = analyze_pending(synced, settings, batch_size=25)
    calls_before = fake.stats.messages_ok
    second = analyze_pending(synced, settings, batch_size=25)
    assert first.analyzed == second.analyzed == 25
    analysed_ids = select(TicketAnalysis.ticket_id).where(TicketAnalysis.state == "done")
    assert count(synced, TicketAnalysis, TicketAnalysis.state == "done") == 50
    assert fake.stats.messages_ok - calls_before == 25
    with synced.connect() as conn:
        assert len(set(conn.execute(analysed_ids).scalars())) == 50


def test_429_with_retry_after_is_waited_out(synced: Engine, sqlite_url: str, fake) -> None:
    fake.fail_next(1, 429, retry_after=1)
    started = time.monotonic()
    result = analyze_pending(synced, claude_settings(sqlite_url, fake, MINER_ANALYZE_CONCURRENCY="1"), batch_size=2)
    assert time.monotonic() - started >= 1.0
    assert result.analyzed == 2 and result.failed == 0


def test_overload_burst_trips_the_breaker_and_recovers(synced: Engine, sqlite_url: str, fake) -> None:
    settings = claude_settings(sqlite_url, fake)
    control = RunControl()
    breaker = CircuitBreaker(control, threshold=3, window=10.0, pause=0.3, max_pause=1.0)
    analyzer = ClaudeAnalyzer(api_key="sk-test", base_url=fake.base_url, model=settings.claude_model,
                              taxonomy=load_taxonomy(DEFAULT_TAXONOMY), prices=load_prices(), control=control,
                              breaker=breaker)
    fake.fail_next(6, 529)
    result = analyze_pending(synced, settings, batch_size=8, control=control, analyzer=analyzer)
    assert breaker.trips >= 1  # the breaker opened and paused everyone
    assert result.analyzed == 8 and result.failed == 0  # and everything got through afterwards


@pytest.mark.parametrize("fault", ["malformed_json", "malformed_schema", "refusal", "max_tokens"])
def test_bad_answers_never_produce_issues(synced: Engine, sqlite_url: str, fake, fault: str) -> None:
    {"malformed_json": lambda: fake.malformed_next(1, mode="json"),
     "malformed_schema": lambda: fake.malformed_next(1, mode="schema"),
     "refusal": lambda: fake.refuse_next(1), "max_tokens": lambda: fake.truncate_next(1)}[fault]()
    result = analyze_pending(synced, claude_settings(sqlite_url, fake, MINER_ANALYZE_CONCURRENCY="1"), batch_size=1)
    assert (result.analyzed, result.failed) == (0, 1)
    assert count(synced, Issue) == 0
    with synced.connect() as conn:
        state = conn.execute(select(TicketAnalysis.__table__)).one()
        call = conn.execute(select(LLMCall.__table__)).one()
    assert state.state == "failed" and state.attempts == 1 and state.last_error
    assert call.outcome == {"malformed_json": "invalid", "malformed_schema": "invalid"}.get(fault, fault)
    assert call.input_tokens > 0  # a failed call is still accounted for


def test_answer_naming_a_category_outside_the_taxonomy_is_rejected(synced: Engine, sqlite_url: str, fake) -> None:
    fake.responder = lambda body: ('{"issues": [{"category": "space.rockets", "issue_type": "bug", '
                                   '"severity": "high", "summary": "Rocket engine does not start", "detail": "", '
                                   '"representative_quote": "x", "confidence": 0.9}], "no_issue_reason": null}')
    result = analyze_pending(synced, claude_settings(sqlite_url, fake, MINER_ANALYZE_CONCURRENCY="1"), batch_size=1)
    assert result.failed == 1 and count(synced, Issue) == 0


def test_after_max_attempts_a_ticket_needs_review_and_is_skipped(synced: Engine, sqlite_url: str, fake) -> None:
    settings = claude_settings(sqlite_url, fake, MINER_ANALYZE_CONCURRENCY="1", MINER_ANALYZE_MAX_ATTEMPTS="2")
    fake.refuse_next(2)
    analyze_pending(synced, settings, batch_size=1)
    second = analyze_pending(synced, settings, batch_size=1)  # the same (newest) ticket again
    assert second.needs_review == 1
    third = analyze_pending(synced, settings, batch_size=1)
    assert third.analyzed == 1  # the next ticket; the given-up one is skipped
    assert count(synced, TicketAnalysis, TicketAnalysis.state == "needs_review") == 1


def test_budget_stops_the_run_cleanly(synced: Engine, sqlite_url: str, fake) -> None:
    settings = claude_settings(sqlite_url, fake, MINER_RUN_BUDGET_USD="0.0005", MINER_ANALYZE_CONCURRENCY="2")
    result = analyze_pending(synced, settings, batch_size=200)
    assert result.budget_reached and 0 < result.analyzed < 200
    assert result.llm_cost_usd >= 0.0005
    assert count(synced, TicketAnalysis) == result.analyzed  # nothing half-written


def test_a_run_where_most_tickets_fail_analysis_fails(synced: Engine, sqlite_url: str, fake) -> None:
    fake.fail_next(10_000, 400, message="This request is malformed")
    settings = claude_settings(sqlite_url, fake, MINER_ANALYZE_CONCURRENCY="1")
    outcome = Runner(synced).execute("analyze", analyze_task(RunContext(settings, synced), batch_size=5),
                                     started_by="cli")
    assert outcome.status == "failed"
    assert outcome.error == (
        "analysis failed for 5 of 5 tickets (100%), above MINER_ANALYZE_MAX_FAILURE_RATE (50%); most common "
        "error: Claude rejected the request (400: This request is malformed) (5×). Failed tickets are tried "
        "again by the next run.")
    assert outcome.result["analyze"]["failed"] == 5  # the figures are kept


def test_failures_within_the_threshold_leave_the_run_succeeded(synced: Engine, sqlite_url: str, fake) -> None:
    fake.fail_next(2, 400)
    settings = claude_settings(sqlite_url, fake, MINER_ANALYZE_CONCURRENCY="1")
    outcome = Runner(synced).execute("analyze", analyze_task(RunContext(settings, synced), batch_size=5),
                                     started_by="cli")
    assert outcome.status == "succeeded" and outcome.result["analyze"]["failed"] == 2


def test_a_failing_analysis_fails_the_pipeline_before_clustering(synced: Engine, sqlite_url: str, fake) -> None:
    fake.fail_next(10_000, 400)
    settings = claude_settings(sqlite_url, fake, MINER_ANALYZE_CONCURRENCY="1", MINER_SOURCE="demo",
                               MINER_DEMO_TICKETS="100")
    outcome = Runner(synced).execute("pipeline", pipeline_task(RunContext(settings, synced), batch_size=5),
                                     started_by="cli")
    assert outcome.status == "failed" and "MINER_ANALYZE_MAX_FAILURE_RATE" in outcome.error
    assert "cluster" not in outcome.result


def test_analysis_stops_sending_tickets_once_most_have_failed(synced: Engine, sqlite_url: str, fake) -> None:
    fake.fail_next(10_000, 400)
    result = analyze_pending(synced, claude_settings(sqlite_url, fake, MINER_ANALYZE_CONCURRENCY="2"),
                             batch_size=100)
    assert 10 <= result.failed <= 10 + 2 * 2  # judged after 10; only what was already in flight follows
    assert fake.stats.by_status[400] == result.failed
    assert result.notes and "MINER_ANALYZE_MAX_FAILURE_RATE" in result.notes[0]


def test_a_claude_storm_stops_the_run_after_the_stall_limit(synced: Engine, sqlite_url: str, fake) -> None:
    settings = claude_settings(sqlite_url, fake, MINER_ANALYZE_CONCURRENCY="2")
    control = RunControl()
    analyzer = ClaudeAnalyzer(api_key="sk-test", base_url=fake.base_url, model=settings.claude_model,
                              taxonomy=load_taxonomy(DEFAULT_TAXONOMY), prices=load_prices(), control=control,
                              max_stall=1.0)
    fake.fail_next(10_000, 429, retry_after=0.2)
    started = time.monotonic()
    with pytest.raises(FatalAnalysisError, match=r"Claude kept answering 429 \(rate limited\) for \d+ s"):
        analyze_pending(synced, settings, batch_size=20, control=control, analyzer=analyzer)
    assert time.monotonic() - started < 10  # not 8 retries x 20 tickets


def test_a_rejected_api_key_is_a_configuration_error(synced: Engine, sqlite_url: str, fake) -> None:
    fake.fail_next(1, 401, error_type="authentication_error")
    with pytest.raises(ClaudeConfigError, match="ANTHROPIC_API_KEY"):
        analyze_pending(synced, claude_settings(sqlite_url, fake, MINER_ANALYZE_CONCURRENCY="1"), batch_size=1)


def test_spend_limit_stops_the_run_without_retrying(synced: Engine, sqlite_url: str, fake) -> None:
    fake.fail_next_spend_limit(1)
    with pytest.raises(FatalAnalysisError, match="usage limits"):
        analyze_pending(synced, claude_settings(sqlite_url, fake, MINER_ANALYZE_CONCURRENCY="1"), batch_size=5)
    assert fake.stats.by_status.get(400, 0) + fake.stats.by_status.get(429, 0) == 1


def test_batch_api_submission_survives_a_restart(synced: Engine, sqlite_url: str, fake) -> None:
    settings = claude_settings(sqlite_url, fake, MINER_USE_BATCH_API="true", MINER_BATCH_THRESHOLD="10")
    fake.batch_processing_delay = 60  # the batch is still running when the first process goes away
    control = RunControl()
    threading.Timer(1.0, control.cancel).start()
    with pytest.raises(Cancelled):
        analyze_pending(synced, settings, batch_size=30, control=control)
    with synced.connect() as conn:
        batch = conn.execute(select(AnalysisBatch.__table__)).one()
    assert batch.status == "submitted" and batch.request_count == 30
    assert count(synced, TicketAnalysis, TicketAnalysis.state == "batched") == 30
    fake.error_batch_items(f"ticket-{batch.ticket_ids[0]}")
    fake.end_batches(batch.id)
    # a new process: same database, same batch id at Anthropic; it collects before anything else
    result = analyze_pending(synced, settings, batch_size=0)
    assert result.batches_collected == 1 and result.analyzed == 29 and result.failed == 1
    assert count(synced, TicketAnalysis, TicketAnalysis.state == "done") == 29
    with synced.connect() as conn:
        assert conn.execute(select(AnalysisBatch.status)).scalar_one() == "collected"
        failed = conn.execute(select(TicketAnalysis.__table__).where(TicketAnalysis.state == "failed")).all()
    assert [f.ticket_id for f in failed] == [batch.ticket_ids[0]]
    assert count(synced, LLMCall, LLMCall.via_batch.is_(True)) == 30


# --- offline --------------------------------------------------------------------------------------


def offline_output(engine: Engine, sqlite_url: str) -> tuple[list[tuple], list[tuple]]:
    """Analyse every ticket offline; return what was stored, without ids, run ids and clock times."""
    analyze_pending(engine, Settings.load(env={"DATABASE_URL": sqlite_url}, secrets_file=False), batch_size=1000)
    skip = {"id", "run_id", "created_at", "updated_at", "analyzed_at", "cluster_id", "cluster_similarity"}
    with engine.connect() as conn:
        issues = [tuple(v for k, v in row._mapping.items() if k not in skip)
                  for row in conn.execute(select(Issue.__table__).order_by(Issue.ticket_id, Issue.summary))]
        analyses = [tuple(v for k, v in row._mapping.items() if k not in skip)
                    for row in conn.execute(select(TicketAnalysis.__table__).order_by(TicketAnalysis.ticket_id))]
    return issues, analyses


def test_offline_analysis_gives_the_same_output_on_a_second_fresh_database(
        synced: Engine, sqlite_url: str, dataset, tmp_path) -> None:
    from miner import db

    other_url = f"sqlite:///{tmp_path / 'second.db'}"
    other = db.make_engine(other_url)
    db.upgrade(other)
    with DemoZendesk(dataset) as zendesk, ZendeskClient(zendesk.url, rpm=0) as client:
        run_sync(other, client, initial_days=3650)
    first, second = offline_output(synced, sqlite_url), offline_output(other, other_url)
    other.dispose()
    assert len(first[0]) > 100 and len(first[1]) > 250
    assert first == second


def test_offline_analyzer_fills_the_schema(synced: Engine, sqlite_url: str) -> None:
    settings = Settings.load(env={"DATABASE_URL": sqlite_url}, secrets_file=False)
    result = analyze_pending(synced, settings, batch_size=1000)
    assert result.analyzer == "offline" and result.analyzed == result.tickets > 250
    taxonomy = load_taxonomy(DEFAULT_TAXONOMY)
    with synced.connect() as conn:
        issues = conn.execute(select(Issue.__table__)).all()
        reasons = conn.execute(select(TicketAnalysis.no_issue_reason)
                               .where(TicketAnalysis.issue_count == 0)).scalars().all()
    assert issues and all(taxonomy.is_valid(i.category, i.subcategory) for i in issues)
    assert all(0 <= i.confidence <= 1 and 8 <= len(i.summary) <= 200 for i in issues)
    assert set(reasons) <= set(taxonomy.non_issue) and reasons


def test_offline_quotes_are_verbatim(dataset) -> None:
    from miner.analysis.ticket_text import TicketForAnalysis, TicketMessage

    analyzer = OfflineAnalyzer(load_taxonomy(DEFAULT_TAXONOMY))
    for t in dataset.tickets[:150]:
        ticket = TicketForAnalysis(t.id, t.subject, t.description, t.requester_id, t.organization_id, t.created_at,
                                   tuple(TicketMessage(c.author_id, c.public, c.body, c.created_at) for c in t.comments))
        first, again = analyzer.analyze(ticket), analyzer.analyze(ticket)
        assert first == again
        text = redact(" ".join([t.subject, *[c.body for c in t.comments]]))
        for issue in first.issues:
            assert " ".join(issue.representative_quote.split()) in " ".join(text.split())


def test_a_deleted_ticket_is_never_analysed(synced: Engine, dataset, sqlite_url: str) -> None:
    deleted = [t.id for t in dataset.tickets if t.deleted]
    analyze_pending(synced, Settings.load(env={"DATABASE_URL": sqlite_url}, secrets_file=False), batch_size=1000)
    assert deleted and count(synced, TicketAnalysis, TicketAnalysis.ticket_id.in_(deleted)) == 0


def test_result_figures_survive_a_failure(synced: Engine, sqlite_url: str, fake) -> None:
    figures = AnalyzeResult()
    fake.fail_next(1, 401, error_type="authentication_error")
    with pytest.raises(FatalAnalysisError, match="ANTHROPIC_API_KEY"):
        analyze_pending(synced, claude_settings(sqlite_url, fake, MINER_ANALYZE_CONCURRENCY="1"), batch_size=3,
                        result=figures)
    assert figures.analyzer == "claude" and figures.tickets == 3
