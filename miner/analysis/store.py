"""Database side of analysis: which tickets are pending, loading them, storing results atomically."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, and_, delete, func, insert, or_, select, update
from sqlalchemy.engine import Connection

from miner import db
from miner.analysis.schema import SCHEMA_VERSION, TicketResult, Usage, dedupe_issues
from miner.analysis.ticket_text import TicketForAnalysis, TicketMessage
from miner.models import (
    AnalysisBatch,
    analyses_t,
    batches_t,
    calls_t,
    comments_t,
    dirty_t,
    issues_t,
    tickets_t,
)


def _pending_condition() -> Any:
    """Live tickets with content that have no finished analysis (and are not in a batch)."""
    return and_(
        tickets_t.c.status != "deleted",
        or_(tickets_t.c.subject.is_not(None), tickets_t.c.description.is_not(None)),
        or_(analyses_t.c.ticket_id.is_(None), analyses_t.c.state == "failed"),
    )


def pending_ticket_ids(engine: Engine, limit: int | None) -> list[int]:
    """Newest first, so a partial run gives the freshest trends."""
    query = (
        select(tickets_t.c.id)
        .select_from(tickets_t.outerjoin(analyses_t, analyses_t.c.ticket_id == tickets_t.c.id))
        .where(_pending_condition())
        .order_by(tickets_t.c.created_at.desc(), tickets_t.c.id.desc())
        .limit(limit)
    )
    with engine.connect() as conn:
        return list(conn.execute(query).scalars())


def count_pending(bind: Engine | Connection) -> int:
    """Tickets waiting for analysis (on an engine, or inside a caller's transaction)."""
    query = (
        select(func.count())
        .select_from(tickets_t.outerjoin(analyses_t, analyses_t.c.ticket_id == tickets_t.c.id))
        .where(_pending_condition())
    )
    if isinstance(bind, Connection):
        return int(bind.execute(query).scalar_one())
    with bind.connect() as conn:
        return int(conn.execute(query).scalar_one())


def load_tickets(engine: Engine, ids: Sequence[int]) -> list[TicketForAnalysis]:
    if not ids:
        return []
    with engine.connect() as conn:
        rows = conn.execute(select(tickets_t).where(tickets_t.c.id.in_(list(ids)))).all()
        comments: dict[int, list[TicketMessage]] = defaultdict(list)
        for c in conn.execute(
            select(comments_t.c.ticket_id, comments_t.c.author_id, comments_t.c.public,
                   comments_t.c.body, comments_t.c.created_at)
            .where(comments_t.c.ticket_id.in_(list(ids)))
            .order_by(comments_t.c.created_at, comments_t.c.id)
        ):
            comments[c.ticket_id].append(TicketMessage(c.author_id, c.public, c.body, c.created_at))
    by_id = {
        r.id: TicketForAnalysis(
            id=r.id, subject=r.subject or "", description=r.description or "",
            requester_id=r.requester_id, organization_id=r.organization_id,
            created_at=r.created_at or r.updated_at or datetime.now(UTC),
            comments=tuple(comments.get(r.id, ())),
        )
        for r in rows
    }
    return [by_id[i] for i in ids if i in by_id]


def store_results(
    conn: Connection,
    pairs: Sequence[tuple[TicketForAnalysis, TicketResult]],
    *,
    analyzer: str,
    model: str,
    prompt_version: str,
    taxonomy_version: str,
    run_id: int | None,
    max_attempts: int,
    record_calls: bool,
    via_batch: bool = False,
) -> dict[str, int]:
    """Write results in the caller's transaction: issues replace any earlier ones for the ticket;
    failures only bump the attempt count (and give up after `max_attempts`)."""
    now = datetime.now(UTC)
    ids = [t.id for t, _ in pairs]
    previous = {
        r.ticket_id: r for r in conn.execute(
            select(analyses_t.c.ticket_id, analyses_t.c.attempts, analyses_t.c.input_tokens,
                   analyses_t.c.output_tokens, analyses_t.c.cache_read_tokens,
                   analyses_t.c.cache_write_tokens, analyses_t.c.cost_usd)
            .where(analyses_t.c.ticket_id.in_(ids))
        )
    }
    counts = {"analyzed": 0, "issues": 0, "no_issue": 0, "failed": 0, "needs_review": 0}
    done_ids = [t.id for t, r in pairs if r.ok]
    if done_ids:
        forget_issues(conn, done_ids)
    issue_rows: list[dict[str, Any]] = []
    analysis_rows: list[dict[str, Any]] = []
    call_rows: list[dict[str, Any]] = []
    for ticket, result in pairs:
        prev = previous.get(ticket.id)
        attempts = (prev.attempts if prev else 0) + 1
        u = result.usage
        row = {
            "ticket_id": ticket.id, "analyzer": analyzer, "model": model,
            "prompt_version": prompt_version, "schema_version": SCHEMA_VERSION,
            "taxonomy_version": taxonomy_version, "attempts": attempts, "run_id": run_id,
            "batch_id": None, "updated_at": now,
            "input_tokens": (prev.input_tokens if prev else 0) + u.input_tokens,
            "output_tokens": (prev.output_tokens if prev else 0) + u.output_tokens,
            "cache_read_tokens": (prev.cache_read_tokens if prev else 0) + u.cache_read_tokens,
            "cache_write_tokens": (prev.cache_write_tokens if prev else 0) + u.cache_write_tokens,
            "cost_usd": (prev.cost_usd if prev else 0.0) + (u.cost_usd or 0.0),
        }
        if result.ok:
            result.issues = dedupe_issues(result.issues)
            row.update(state="done", issue_count=len(result.issues),
                       no_issue_reason=db.storable(result.no_issue_reason), last_error=None, analyzed_at=now)
            counts["analyzed"] += 1
            counts["issues"] += len(result.issues)
            counts["no_issue"] += 0 if result.issues else 1
            text = db.storable  # Claude's words and quotes copied from ticket text: no NUL, no lone surrogate
            for issue in result.issues:
                issue_rows.append({
                    "ticket_id": ticket.id, "category": text(issue.category),
                    "subcategory": text(issue.subcategory), "issue_type": text(issue.issue_type),
                    "severity": text(issue.severity), "summary": text(issue.summary),
                    "detail": text(issue.detail), "representative_quote": text(issue.representative_quote),
                    "confidence": issue.confidence, "evidence": issue.evidence,
                    "ticket_created_at": ticket.created_at,
                    "organization_id": ticket.organization_id, "requester_id": ticket.requester_id,
                    "created_at": now, "updated_at": now,
                })
        else:
            gave_up = attempts >= max_attempts
            row.update(state="needs_review" if gave_up else "failed", issue_count=0,
                       no_issue_reason=None, last_error=db.storable((result.error or "")[:2000]), analyzed_at=None)
            counts["needs_review" if gave_up else "failed"] += 1
        analysis_rows.append(row)
        if record_calls:
            call_rows.append(call_row(run_id=run_id, ticket_id=ticket.id, purpose="analyze", model=model, usage=u,
                                      cost_usd=u.cost_usd, stop_reason=result.stop_reason, outcome=result.outcome,
                                      via_batch=via_batch, created_at=now))
    if issue_rows:
        conn.execute(insert(issues_t), issue_rows)
    db.upsert(conn, analyses_t, analysis_rows, key=["ticket_id"],
              update=[k for k in analysis_rows[0] if k != "ticket_id"] if analysis_rows else [])
    if call_rows:
        conn.execute(insert(calls_t), call_rows)
    return counts


def call_row(*, run_id: int | None, ticket_id: int | None, purpose: str, model: str, usage: Usage,
             cost_usd: float | None, stop_reason: str | None, outcome: str, via_batch: bool = False,
             created_at: datetime | None = None) -> dict[str, Any]:
    """The `llm_calls` row that records one Claude call (every call is recorded, with its cost)."""
    return {"run_id": run_id, "ticket_id": ticket_id, "purpose": purpose, "model": model, "via_batch": via_batch,
            "input_tokens": usage.input_tokens, "output_tokens": usage.output_tokens,
            "cache_read_tokens": usage.cache_read_tokens, "cache_write_tokens": usage.cache_write_tokens,
            "cost_usd": cost_usd, "stop_reason": stop_reason, "outcome": outcome,
            "created_at": created_at or datetime.now(UTC)}


def forget_issues(conn: Connection, ticket_ids: Sequence[int]) -> int:
    """Delete the issues of these tickets (re-analysed or deleted), marking their days for the
    trends step, which cannot see rows that are gone."""
    days = {
        d.date() if isinstance(d, datetime) else d
        for d in conn.execute(select(issues_t.c.ticket_created_at)
                              .where(issues_t.c.ticket_id.in_(list(ticket_ids)))
                              .where(issues_t.c.cluster_id.is_not(None))).scalars()
    }
    if days:
        db.upsert(conn, dirty_t, [{"day": d} for d in days], key=["day"])
    return conn.execute(delete(issues_t).where(issues_t.c.ticket_id.in_(list(ticket_ids)))).rowcount


class SyncReaction:
    """What the analysis does about the changes a sync stores (a `miner.sync.SyncListener`), inside the
    sync's transaction: a deleted ticket's issues go; a ticket whose text changed is analysed again."""

    def tickets_deleted(self, conn: Connection, ticket_ids: Sequence[int]) -> None:
        forget_issues(conn, ticket_ids)

    def text_changed(self, conn: Connection, ticket_ids: Sequence[int]) -> int:
        return requeue_for_analysis(conn, ticket_ids)


def requeue_for_analysis(conn: Connection, ticket_ids: Sequence[int]) -> int:
    """What the analyzer reads of these tickets changed in Zendesk (a redaction, an edit, a comment made
    private): their issues go, since they may quote or paraphrase text that is no longer there, and the
    tickets are analysed again. Returns how many analysed tickets went back to the queue.

    A ticket in an open Message Batch keeps its state: the batch result is checked against the current
    text when it is collected (quotes must still be verbatim).
    """
    if not ticket_ids:
        return 0
    forget_issues(conn, ticket_ids)
    return int(conn.execute(delete(analyses_t).where(analyses_t.c.ticket_id.in_(list(ticket_ids)),
                                                     analyses_t.c.state != "batched")).rowcount)


# --- batches ------------------------------------------------------------------------------------


def record_batch(engine: Engine, batch_id: str, *, run_id: int | None, model: str,
                 prompt_version: str, ticket_ids: list[int]) -> None:
    """Persist a submitted batch and mark its tickets, so no other run submits them again."""
    now = datetime.now(UTC)
    with db.write_transaction(engine) as conn:
        conn.execute(insert(batches_t).values(
            id=batch_id, run_id=run_id, status="submitted", model=model, prompt_version=prompt_version,
            ticket_ids=ticket_ids, request_count=len(ticket_ids), created_at=now))
        rows = [{"ticket_id": i, "state": "batched", "batch_id": batch_id, "issue_count": 0,
                 "attempts": 0, "input_tokens": 0, "output_tokens": 0, "cache_read_tokens": 0,
                 "cache_write_tokens": 0, "cost_usd": 0.0, "updated_at": now} for i in ticket_ids]
        db.upsert(conn, analyses_t, rows, key=["ticket_id"], update=["state", "batch_id", "updated_at"])


def open_batches(engine: Engine) -> list[AnalysisBatch]:
    with engine.connect() as conn:
        rows = conn.execute(select(batches_t).where(batches_t.c.status == "submitted")
                            .order_by(batches_t.c.created_at)).all()
    return [AnalysisBatch(**r._mapping) for r in rows]


def close_batch(conn: Connection, batch_id: str, status: str, error: str | None = None) -> None:
    conn.execute(update(batches_t).where(batches_t.c.id == batch_id)
                 .values(status=status, collected_at=datetime.now(UTC), error=error))
    # tickets of the batch that got no result go back to the queue
    conn.execute(update(analyses_t)
                 .where(analyses_t.c.batch_id == batch_id, analyses_t.c.state == "batched")
                 .values(state="failed", batch_id=None, last_error=error or "no result in batch"))


def analysis_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        states: dict[str, int] = dict(conn.execute(select(analyses_t.c.state, func.count()).group_by(analyses_t.c.state)).all())
        issues = conn.execute(select(func.count()).select_from(issues_t)).scalar_one()
    return {
        "analyzed": int(states.get("done", 0)),
        "failed": int(states.get("failed", 0)),
        "needs_review": int(states.get("needs_review", 0)),
        "in_batches": int(states.get("batched", 0)),
        "issues": int(issues),
        "pending": count_pending(engine),
    }
