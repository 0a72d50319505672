"""A snapshot of what is in the database and what ran: for `python -m miner status` and the UI."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, func, select

from miner.config import Settings, mask_url_password
from miner.models import Comment, Organization, Ticket
from miner.runs import history
from miner.sync import EVENTS_STREAM, TICKETS_STREAM, read_state


def data_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        # FILTER, not GROUP BY an expression: PostgreSQL rejects a grouped expression whose bound
        # parameter differs between SELECT and GROUP BY (GroupingError).
        live, deleted = conn.execute(
            select(func.count().filter(Ticket.status != "deleted"),
                   func.count().filter(Ticket.status == "deleted"))
        ).one()
        comments = dict(conn.execute(select(Comment.public, func.count()).group_by(Comment.public)).all())
        orgs = conn.execute(select(func.count()).select_from(Organization)).scalar_one()
    return {
        "tickets_live": int(live),
        "tickets_deleted": int(deleted),
        "comments": int(sum(comments.values())),
        "comments_internal": int(comments.get(False, 0)),
        "organizations": int(orgs),
    }


def cluster_count(engine: Engine) -> int:
    from miner.models import Cluster

    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(Cluster).where(Cluster.retired.is_(False))).scalar_one())


def collect_status(settings: Settings, engine: Engine) -> dict[str, Any]:
    sync_state = {}
    for stream in (TICKETS_STREAM, EVENTS_STREAM):
        state = read_state(engine, stream)
        sync_state[stream] = {
            "updated_at": state.updated_at.isoformat() if state and state.updated_at else None,
            "caught_up_at": state.caught_up_at.isoformat() if state and state.caught_up_at else None,
        }
    from miner import quarantine
    from miner.analysis.store import analysis_counts

    running = history.running_run(engine)
    held = quarantine.entries(engine, limit=50)
    return {
        "source": settings.effective_source,
        "database": mask_url_password(settings.database_url),
        "data": data_counts(engine),
        "analysis": analysis_counts(engine),
        "clusters": cluster_count(engine),
        "sync": sync_state,
        "quarantine": {
            "count": quarantine.count(engine) if len(held) == 50 else len(held),
            "objects": [e.as_dict() for e in held],
        },
        "running": running.as_dict() if running else None,
        "recent_runs": [run.as_dict() for run in history.recent_runs(engine, limit=10)],
    }
