"""A snapshot of what is in the database and what ran: for `python -m miner status` and the UI."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, func, select

from miner.config import Settings, mask_url_password
from miner.models import Comment, Organization, Ticket
from miner.sync import EVENTS_STREAM, TICKETS_STREAM, read_state
from miner.tasks import runs


def data_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        by_status = dict(
            conn.execute(
                select(Ticket.status == "deleted", func.count()).group_by(Ticket.status == "deleted")
            ).all()
        )
        comments = dict(conn.execute(select(Comment.public, func.count()).group_by(Comment.public)).all())
        orgs = conn.execute(select(func.count()).select_from(Organization)).scalar_one()
    return {
        "tickets_live": int(by_status.get(False, 0)),  # SQLite 0/1 keys equal False/True
        "tickets_deleted": int(by_status.get(True, 0)),
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
    from miner.analysis.store import analysis_counts

    running = runs.running_run(engine)
    return {
        "source": settings.effective_source,
        "database": mask_url_password(settings.database_url),
        "data": data_counts(engine),
        "analysis": analysis_counts(engine),
        "clusters": cluster_count(engine),
        "sync": sync_state,
        "running": running.as_dict() if running else None,
        "recent_runs": [run.as_dict() for run in runs.recent_runs(engine, limit=10)],
    }
