"""Running an analysis over the pending tickets: choose the analyzer, fan out, store, account.

- Offline: in-process, stored in chunks.
- Claude, per ticket: a thread pool of MINER_ANALYZE_CONCURRENCY workers; the calling thread is the
  only writer and commits each result as it arrives, so a crash loses no paid-for answer.
- Claude, Message Batches (MINER_USE_BATCH_API and a backlog >= MINER_BATCH_THRESHOLD): submit,
  persist the batch id, poll, collect by custom_id. Batches left open by a stopped process are
  collected by the next run before anything else.

Cancellation, the per-run budget and too many failures stop new work; answers already in flight
are still stored. A run in which more than MINER_ANALYZE_MAX_FAILURE_RATE of the tickets failed
(once at least MIN_ATTEMPTS_FOR_FAILURE_RATE were tried, or all of them) fails (`check_failure_rate`).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, as_completed, wait
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from sqlalchemy import Engine

from miner import db
from miner.analysis import store
from miner.analysis.claude import ClaudeAnalyzer, FatalAnalysisError
from miner.analysis.offline import OfflineAnalyzer
from miner.analysis.pricing import load_prices
from miner.analysis.schema import TicketResult, Usage
from miner.analysis.taxonomy import Taxonomy, load_taxonomy
from miner.analysis.ticket_text import TicketForAnalysis
from miner.config import Settings
from miner.errors import MinerError
from miner.progress import Cancelled, RunControl, StopSignal

log = logging.getLogger(__name__)

OFFLINE_CHUNK = 250
LOAD_CHUNK = 100
BATCH_CHUNK = 10_000
BATCH_POLL_SECONDS = 10.0
STORE_LINGER = 0.02  # seconds to wait for more answers before a write; bounds what a crash can lose
MIN_ATTEMPTS_FOR_FAILURE_RATE = 10  # judge the failure rate only on this many tickets (or all, if fewer)


class AnalysisFailed(MinerError):
    """Too many tickets of a run failed analysis: the run fails instead of reporting success."""


class Analyzer(Protocol):
    name: str
    model: str
    prompt_version: str

    def analyze(self, ticket: TicketForAnalysis) -> TicketResult: ...


@dataclass
class AnalyzeResult:
    analyzer: str = ""
    model: str = ""
    tickets: int = 0
    analyzed: int = 0
    issues: int = 0
    no_issue: int = 0
    failed: int = 0
    needs_review: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    llm_cost_usd: float = 0.0
    cost_unknown: bool = False
    budget_reached: bool = False
    batches_submitted: int = 0
    batches_collected: int = 0
    pending_after: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    most_common_error: str | None = None
    _errors: Counter[str] = field(default_factory=Counter, repr=False)

    def add_counts(self, counts: dict[str, int]) -> None:
        for key in ("analyzed", "issues", "no_issue", "failed", "needs_review"):
            setattr(self, key, getattr(self, key) + counts.get(key, 0))

    def add_errors(self, errors: list[str]) -> None:
        self._errors.update(errors)
        if self._errors:
            message, times = self._errors.most_common(1)[0]
            self.most_common_error = f"{message} ({times}×)"

    @property
    def attempted(self) -> int:
        return self.analyzed + self.failed + self.needs_review

    def too_many_failures(self, max_rate: float) -> bool:
        """More than `max_rate` of the tickets tried failed, judged on enough of them."""
        attempted = self.attempted
        if attempted == 0 or attempted < min(MIN_ATTEMPTS_FOR_FAILURE_RATE, self.tickets):
            return False
        return (self.failed + self.needs_review) / attempted > max_rate

    def add_usage(self, usage: Usage) -> None:
        self.input_tokens += usage.input_tokens
        self.output_tokens += usage.output_tokens
        self.cache_read_tokens += usage.cache_read_tokens
        self.cache_write_tokens += usage.cache_write_tokens
        if usage.cost_usd is None:
            self.cost_unknown = True
        else:
            self.llm_cost_usd = round(self.llm_cost_usd + usage.cost_usd, 6)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("_errors")
        return data


def check_failure_rate(result: AnalyzeResult, max_rate: float) -> None:
    """Raise AnalysisFailed when more than `max_rate` of the tickets tried failed."""
    if not result.too_many_failures(max_rate):
        return
    failed = result.failed + result.needs_review
    raise AnalysisFailed(
        f"analysis failed for {failed} of {result.attempted} tickets ({failed / result.attempted:.0%}), "
        f"above MINER_ANALYZE_MAX_FAILURE_RATE ({max_rate:.0%}); most common error: "
        f"{result.most_common_error}. Failed tickets are tried again by the next run."
    )


def make_analyzer(settings: Settings, taxonomy: Taxonomy, control: RunControl) -> Analyzer:
    if settings.effective_analyzer == "offline":
        return OfflineAnalyzer(taxonomy)
    assert settings.anthropic_api_key is not None
    return ClaudeAnalyzer(
        api_key=settings.anthropic_api_key.get_secret_value(),
        base_url=settings.anthropic_base_url,
        model=settings.claude_model,
        taxonomy=taxonomy,
        prices=load_prices(settings.prices_path),
        control=control,
        token_budget=settings.ticket_token_budget,
    )


def analyze_pending(
    engine: Engine,
    settings: Settings,
    *,
    batch_size: int | None = None,
    control: RunControl | None = None,
    run_id: int | None = None,
    result: AnalyzeResult | None = None,
    analyzer: Analyzer | None = None,
) -> AnalyzeResult:
    """Analyse up to `batch_size` pending tickets, newest first (None: every one waiting; a Claude run
    still stops at MINER_RUN_BUDGET_USD)."""
    control = control or RunControl()
    result = result if result is not None else AnalyzeResult()
    started = time.monotonic()
    taxonomy = load_taxonomy(settings.taxonomy_path)
    analyzer = analyzer or make_analyzer(settings, taxonomy, control)
    result.analyzer, result.model = analyzer.name, analyzer.model
    job = _Job(engine, settings, taxonomy, analyzer, control, run_id, result)
    try:
        if isinstance(analyzer, ClaudeAnalyzer):
            job.collect_open_batches()
        ids = store.pending_ticket_ids(engine, batch_size)
        result.tickets = len(ids)
        control.stage(f"Analyzing tickets ({analyzer.name})", total=len(ids),
                      message=f"{len(ids)} to analyse")
        if not ids:
            return result
        if isinstance(analyzer, ClaudeAnalyzer):
            backlog = store.count_pending(engine)
            if settings.use_batch_api and backlog >= settings.batch_api_threshold:
                job.run_batches(ids)
            else:
                job.run_concurrent(ids, settings.analyze_concurrency)
        else:
            job.run_inline(ids)
    finally:
        result.pending_after = store.count_pending(engine)
        result.seconds = round(time.monotonic() - started, 2)
    log.info("analysis: %d analysed, %d issues, %d failed, $%.4f", result.analyzed, result.issues,
             result.failed + result.needs_review, result.llm_cost_usd)
    return result


class _Job:
    def __init__(self, engine: Engine, settings: Settings, taxonomy: Taxonomy, analyzer: Analyzer,
                 control: RunControl, run_id: int | None, result: AnalyzeResult) -> None:
        self.engine, self.settings, self.taxonomy = engine, settings, taxonomy
        self.analyzer, self.control, self.run_id, self.result = analyzer, control, run_id, result
        self.budget = settings.run_budget_usd
        self.max_failure_rate = settings.analyze_max_failure_rate

    # --- storing ------------------------------------------------------------------------------
    def store(self, pairs: list[tuple[TicketForAnalysis, TicketResult]], *, via_batch: bool = False) -> None:
        if not pairs:
            return
        with db.write_transaction(self.engine) as conn:
            counts = store.store_results(
                conn, pairs, analyzer=self.analyzer.name, model=self.analyzer.model,
                prompt_version=self.analyzer.prompt_version, taxonomy_version=self.taxonomy.version,
                run_id=self.run_id, max_attempts=self.settings.analyze_max_attempts,
                record_calls=self.analyzer.name == "claude", via_batch=via_batch,
            )
        self.result.add_counts(counts)
        self.result.add_errors([r.error for _, r in pairs if r.error])
        for _, r in pairs:
            self.result.add_usage(r.usage)
        self.control.advance(len(pairs), message=self._message())

    def _message(self) -> str:
        r = self.result
        cost = f", ${r.llm_cost_usd:.4f}" if r.analyzer == "claude" else ""
        return f"{r.issues} issues, {r.no_issue} without, {r.failed + r.needs_review} failed{cost}"

    def over_budget(self) -> bool:
        if self.budget is not None and self.result.llm_cost_usd >= self.budget:
            if not self.result.budget_reached:
                self.result.budget_reached = True
                note = f"stopped at the run budget of ${self.budget:.2f} (MINER_RUN_BUDGET_USD)"
                self.result.notes.append(note)
                log.warning("analysis %s", note)
            return True
        return False

    def failing(self) -> bool:
        """Too many failures so far: stop sending tickets (the run then fails, see do_analyze)."""
        if not self.result.too_many_failures(self.max_failure_rate):
            return False
        note = (f"stopped after {self.result.attempted} tickets: more than "
                f"{self.max_failure_rate:.0%} failed (MINER_ANALYZE_MAX_FAILURE_RATE)")
        if note not in self.result.notes:
            self.result.notes.append(note)
            log.warning("analysis %s", note)
        return True

    def tickets(self, ids: list[int]) -> Iterator[TicketForAnalysis]:
        for start in range(0, len(ids), LOAD_CHUNK):
            yield from store.load_tickets(self.engine, ids[start:start + LOAD_CHUNK])

    # --- offline ------------------------------------------------------------------------------
    def run_inline(self, ids: list[int]) -> None:
        chunk: list[tuple[TicketForAnalysis, TicketResult]] = []
        for ticket in self.tickets(ids):
            self.control.check()
            chunk.append((ticket, self.analyzer.analyze(ticket)))
            if len(chunk) >= OFFLINE_CHUNK:
                self.store(chunk)
                chunk = []
                if self.failing():
                    break
        self.store(chunk)

    # --- Claude, one request per ticket -------------------------------------------------------
    def run_concurrent(self, ids: list[int], concurrency: int) -> None:
        queue = self.tickets(ids)
        in_flight: dict[Future[TicketResult], TicketForAnalysis] = {}
        stop_reason: BaseException | None = None
        with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="claude") as pool:
            try:
                while True:
                    while stop_reason is None and len(in_flight) < concurrency * 2:
                        if self.control.cancelled or self.over_budget() or self.failing():
                            break
                        ticket = next(queue, None)
                        if ticket is None:
                            break
                        in_flight[pool.submit(self.analyzer.analyze, ticket)] = ticket
                    if not in_flight:
                        break
                    finished, _ = wait(list(in_flight), timeout=1.0, return_when=FIRST_COMPLETED)
                    if finished and len(finished) < len(in_flight):
                        # answers arrive in bursts: a short linger stores several per transaction
                        more, _ = wait([f for f in in_flight if f not in finished], timeout=STORE_LINGER,
                                       return_when=FIRST_COMPLETED)
                        finished |= more
                    done: list[tuple[TicketForAnalysis, TicketResult]] = []
                    for future in finished:
                        ticket = in_flight.pop(future)
                        try:
                            done.append((ticket, future.result()))
                        except (FatalAnalysisError, Cancelled) as exc:
                            stop_reason = stop_reason or exc  # drain what is in flight, then stop
                            if isinstance(exc, FatalAnalysisError):
                                self.control.cancel()  # wake workers waiting in a retry
                    self.store(done)
            except (StopSignal, KeyboardInterrupt):  # the pool waits for its requests anyway: keep
                self.control.cancel()                # the answers already paid for, then stop
                self.store([(in_flight[f], f.result()) for f in as_completed(in_flight)
                            if f.exception() is None])
                raise
        if stop_reason is not None:
            raise stop_reason
        self.control.check()

    # --- Claude, Message Batches --------------------------------------------------------------
    def run_batches(self, ids: list[int]) -> None:
        assert isinstance(self.analyzer, ClaudeAnalyzer)
        client = self.analyzer.client
        for start in range(0, len(ids), BATCH_CHUNK):
            self.control.check()
            chunk = list(self.tickets(ids[start:start + BATCH_CHUNK]))
            requests: list[Any] = []  # MessageCreateParamsNonStreaming dicts
            for ticket in chunk:
                _, params = self.analyzer.prepare(ticket)
                requests.append({"custom_id": f"ticket-{ticket.id}", "params": params})
            batch = client.messages.batches.create(requests=requests)
            store.record_batch(self.engine, batch.id, run_id=self.run_id, model=self.analyzer.model,
                               prompt_version=self.analyzer.prompt_version,
                               ticket_ids=[t.id for t in chunk])
            self.result.batches_submitted += 1
            log.info("submitted message batch %s with %d tickets", batch.id, len(chunk))
        self.collect_open_batches()

    def collect_open_batches(self) -> None:
        """Wait for and store every batch not yet collected (also those of earlier processes)."""
        assert isinstance(self.analyzer, ClaudeAnalyzer)
        import anthropic

        client = self.analyzer.client
        for batch_row in store.open_batches(self.engine):
            self.control.stage("Waiting for Claude batch", total=batch_row.request_count,
                               message=f"batch {batch_row.id}")
            try:
                while True:
                    batch = client.messages.batches.retrieve(batch_row.id)
                    counts = batch.request_counts
                    finished = counts.succeeded + counts.errored + counts.expired + counts.canceled
                    self.control.update(done=finished, message=f"batch {batch.id}: {batch.processing_status}")
                    if batch.processing_status == "ended":
                        break
                    self.control.sleep(BATCH_POLL_SECONDS)
            except anthropic.NotFoundError:
                with db.write_transaction(self.engine) as conn:
                    store.close_batch(conn, batch_row.id, "failed", "batch not found at Anthropic")
                continue
            self._collect(batch_row, client.messages.batches.results(batch_row.id))

    def _collect(self, batch_row: Any, results: Any) -> None:
        assert isinstance(self.analyzer, ClaudeAnalyzer)
        wanted = {f"ticket-{i}": i for i in batch_row.ticket_ids}
        tickets = {t.id: t for t in self.tickets(list(batch_row.ticket_ids))}
        self.control.stage("Storing batch results", total=len(wanted), message=f"batch {batch_row.id}")
        pairs: list[tuple[TicketForAnalysis, TicketResult]] = []
        for item in results:
            ticket_id = wanted.get(item.custom_id)
            ticket = tickets.get(ticket_id) if ticket_id is not None else None
            if ticket is None:
                continue
            outcome = item.result
            if outcome.type == "succeeded":
                text, _ = self.analyzer.prepare(ticket)
                res = self.analyzer.read_message(ticket.id, text, outcome.message, batch=True)
            elif outcome.type == "errored":
                err = getattr(getattr(outcome, "error", None), "error", None)
                res = TicketResult(ticket.id, error=f"batch request errored: "
                                   f"{getattr(err, 'type', '')} {getattr(err, 'message', '')}".strip(),
                                   outcome="error")
            else:  # expired or canceled: nothing was billed, try again later
                res = TicketResult(ticket.id, error=f"batch request {outcome.type}", outcome="error")
            pairs.append((ticket, res))
            if len(pairs) >= 200:
                self.store(pairs, via_batch=True)
                pairs = []
        self.store(pairs, via_batch=True)
        with db.write_transaction(self.engine) as conn:
            store.close_batch(conn, batch_row.id, "collected")
        self.result.batches_collected += 1
