"""Purging the content of tickets deleted in Zendesk (run by the monthly cleanup).

A ticket deleted in Zendesk stays here as a tombstone, so its deletion is counted and its issues
leave every figure. MINER_PURGE_DELETED_AFTER_DAYS after the deletion its content goes too: subject,
description, tags and the other ticket fields that are not ids or times, its comments, its issues and
their embeddings. What is left is a tombstone like that of a ticket deleted before we ever saw it:
id, status `deleted`, requester/submitter/organisation ids, timestamps and `purged_at`. The
default, 30 days, matches the time Zendesk keeps deleted tickets restorable.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, delete, func, select, update

from miner import db
from miner.analysis.store import forget_issues
from miner.models import comments_t, embeddings_t, issues_t, tickets_t

log = logging.getLogger(__name__)

CHUNK = 500  # tickets per transaction: a large first purge does not hold the write lock for long


def purge_deleted(engine: Engine, after_days: int, *, now: datetime | None = None) -> dict[str, int]:
    """Erase the content of tickets deleted more than `after_days` ago (0: every deleted ticket)."""
    now = now or datetime.now(UTC)
    cutoff = now - timedelta(days=after_days)
    deleted_at = func.coalesce(tickets_t.c.deleted_at, tickets_t.c.synced_at)
    with engine.connect() as conn:
        ids = list(conn.execute(select(tickets_t.c.id).where(
            tickets_t.c.status == "deleted", tickets_t.c.purged_at.is_(None), deleted_at <= cutoff,
        ).order_by(tickets_t.c.id)).scalars())
    figures = {"tickets_purged": 0, "comments_purged": 0, "issues_purged": 0}
    for start in range(0, len(ids), CHUNK):
        with db.write_transaction(engine) as conn:
            # read again under the write lock: a ticket restored in Zendesk meanwhile is live again
            chunk = list(conn.execute(select(tickets_t.c.id).where(
                tickets_t.c.id.in_(ids[start:start + CHUNK]), tickets_t.c.status == "deleted",
                tickets_t.c.purged_at.is_(None))).scalars())
            if not chunk:
                continue
            issue_ids = select(issues_t.c.id).where(issues_t.c.ticket_id.in_(chunk))
            conn.execute(delete(embeddings_t).where(embeddings_t.c.issue_id.in_(issue_ids)))
            figures["issues_purged"] += forget_issues(conn, chunk)
            figures["comments_purged"] += conn.execute(
                delete(comments_t).where(comments_t.c.ticket_id.in_(chunk))).rowcount
            figures["tickets_purged"] += conn.execute(update(tickets_t).where(tickets_t.c.id.in_(chunk)).values(
                subject=None, description=None, priority=None, type=None, assignee_id=None, tags=[],
                via_channel=None, purged_at=now)).rowcount
    with db.write_transaction(engine) as conn:
        # comments a sync stored for an already purged ticket while it ran beside an earlier cleanup
        purged = select(tickets_t.c.id).where(tickets_t.c.status == "deleted", tickets_t.c.purged_at.is_not(None))
        figures["comments_purged"] += conn.execute(
            delete(comments_t).where(comments_t.c.ticket_id.in_(purged))).rowcount
    if any(figures.values()):
        log.info("purged deleted tickets: %s", figures)
    return figures
