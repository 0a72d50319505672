"""The moment the demo dataset is dated from, stored once so every process serves the same dataset."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, select

from miner import db
from miner.models import sync_state_t

DEMO_ANCHOR = "demo_anchor"  # its row in sync_state


def demo_anchor(engine: Engine, *, reset: bool = False) -> datetime:
    """The moment the demo dataset is generated relative to, fixed at first use.

    The demo data is generated from a seed relative to this time, so every process (dashboard, CLI,
    scheduler, replicas) serves the identical dataset and incremental syncs see no phantom changes.
    """
    anchor = datetime.now(UTC).replace(second=0, microsecond=0)
    row = {"stream": DEMO_ANCHOR, "cursor": anchor.isoformat(), "updated_at": anchor}
    with db.write_transaction(engine) as conn:
        # insert-if-absent, then read: two processes starting together agree on one anchor
        db.upsert(conn, sync_state_t, [row], key=["stream"], update=["cursor", "updated_at"] if reset else None)
        stored = conn.execute(select(sync_state_t.c.cursor).where(sync_state_t.c.stream == DEMO_ANCHOR)).scalar()
    assert stored
    return datetime.fromisoformat(stored)
