"""Run history (table `task_runs`): create, update, finish, list, and recover stuck runs.

The only module that reads and writes `task_runs`. Who started a run is `started_by` in the code; the
column (and the `trigger` key of the REST API's run objects) keeps its original name `trigger`, as
the README's data model documents it for direct SQL.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Row, delete, desc, insert, select, update

from miner import db
from miner.models import runs_t
from miner.progress import Progress
from miner.runs.lease import RUN_LEASE, force_release, holder_is_dead
from miner.vocabulary import RunKind, RunStatus, StartedBy

log = logging.getLogger(__name__)

STALE_AFTER = 60.0  # seconds without a heartbeat after which a run is taken to have stopped


@dataclass(frozen=True)
class RunView:
    id: int
    kind: RunKind
    started_by: StartedBy
    params: dict[str, Any]
    status: RunStatus
    started_at: datetime
    finished_at: datetime | None
    heartbeat_at: datetime | None
    stage: str | None
    done: int | None
    total: int | None
    message: str | None
    result: dict[str, Any] | None
    error: str | None
    llm_cost_usd: float | None
    holder: str | None
    job_id: str | None
    cancel_requested: bool

    @classmethod
    def from_row(cls, row: Row[Any]) -> RunView:
        values = dict(row._mapping)
        started_by = StartedBy(values.pop("trigger"))
        return cls(**{**values, "kind": RunKind(values["kind"]), "status": RunStatus(values["status"]),
                      "started_by": started_by})

    @property
    def duration_seconds(self) -> float | None:
        end = self.finished_at or (datetime.now(UTC) if self.status is RunStatus.RUNNING else None)
        return (end - self.started_at).total_seconds() if end else None

    @property
    def summary(self) -> str:
        return summarise(self.result)

    def as_dict(self) -> dict[str, Any]:
        """The run as the REST API and `status --json` show it (who started it under `trigger`)."""
        data = {k: getattr(self, k) for k in self.__dataclass_fields__ if k not in ("holder", "started_by")}
        data["trigger"] = self.started_by
        for key in ("started_at", "finished_at", "heartbeat_at"):
            data[key] = data[key].isoformat() if data[key] else None
        data["duration_seconds"] = self.duration_seconds
        return data


def summarise(result: dict[str, Any] | None) -> str:
    """A run's figures in one line ("sync 12+3 tickets, 40 comments; 15 analysed, 9 issues; ..."), for
    the run history, the CLI and the log. Empty when the run recorded no figures."""
    result = result or {}
    parts = []
    sync = result.get("sync") or {}
    if sync:
        parts.append(f"sync {sync.get('tickets_new', 0)}+{sync.get('tickets_updated', 0)} tickets, "
                     f"{sync.get('comments', 0)} comments"
                     + (f", {sync['quarantined']} quarantined" if sync.get("quarantined") else ""))
    analyze = result.get("analyze") or {}
    if analyze:
        parts.append(f"{analyze.get('analyzed', 0)} analysed, {analyze.get('issues', 0)} issues")
    cluster = result.get("cluster") or {}
    if cluster:
        parts.append(f"{cluster.get('clusters', 0)} clusters (+{cluster.get('new_clusters', 0)})")
    trends = result.get("trends") or {}
    if trends:
        parts.append(f"{trends.get('emerging', 0)} emerging")
    report = result.get("report") or {}
    if report.get("report_id"):
        parts.append(f"report #{report['report_id']} written")
    links = result.get("links") or {}
    if links:
        parts.append(f"{links.get('checked', 0)} linked issues checked, {links.get('changed', 0)} changed"
                     + (f", {links['failed']} failed" if links.get("failed") else ""))
    cleanup = result.get("cleanup") or {}
    if cleanup.get("tickets_purged"):
        parts.append(f"content of {cleanup['tickets_purged']} deleted tickets purged")
    return "; ".join(parts)


def start_run(
    engine: Engine,
    kind: RunKind,
    started_by: StartedBy,
    params: dict[str, Any],
    *,
    holder: str,
    job_id: str | None = None,
) -> int:
    now = datetime.now(UTC)
    return _insert_run(engine, kind=kind, trigger=started_by, params=params, status=RunStatus.RUNNING,
                       started_at=now, heartbeat_at=now, holder=holder, job_id=job_id, stage="Starting",
                       done=0)


def _insert_run(engine: Engine, **values: Any) -> int:
    with db.write_transaction(engine) as conn:
        return int(conn.execute(insert(runs_t).values(**values)).inserted_primary_key[0])  # type: ignore[index]


def _progress_values(progress: Progress | None) -> dict[str, Any]:
    if progress is None:
        return {}
    return {"stage": progress.stage[:64], "done": progress.done, "total": progress.total,
            "message": progress.message[:2000]}


def heartbeat(engine: Engine, run_id: int, progress: Progress | None) -> bool:
    """Record liveness and progress; returns True when someone asked to cancel this run."""
    values: dict[str, Any] = {"heartbeat_at": datetime.now(UTC), **_progress_values(progress)}
    with db.write_transaction(engine) as conn:
        conn.execute(update(runs_t).where(runs_t.c.id == run_id).values(**values))
        return bool(
            conn.execute(select(runs_t.c.cancel_requested).where(runs_t.c.id == run_id)).scalar()
        )


def request_cancel(engine: Engine, run_id: int) -> bool:
    """Ask the process running `run_id` (maybe another replica) to stop at its next check."""
    with db.write_transaction(engine) as conn:
        return conn.execute(
            update(runs_t)
            .where(runs_t.c.id == run_id, runs_t.c.status == RunStatus.RUNNING)
            .values(cancel_requested=True)
        ).rowcount == 1


def finish_run(
    engine: Engine,
    run_id: int,
    status: RunStatus,
    *,
    result: dict[str, Any] | None = None,
    error: str | None = None,
    llm_cost_usd: float | None = None,
    progress: Progress | None = None,
) -> None:
    assert status.final, status
    values: dict[str, Any] = {
        "status": status, "finished_at": datetime.now(UTC), "result": result, "error": error,
        "llm_cost_usd": llm_cost_usd, **_progress_values(progress),
    }
    with db.write_transaction(engine) as conn:
        conn.execute(update(runs_t).where(runs_t.c.id == run_id).values(**values))


def record_skipped(
    engine: Engine, kind: RunKind, started_by: StartedBy, params: dict[str, Any], reason: str,
    job_id: str | None = None,
) -> int:
    now = datetime.now(UTC)
    return _insert_run(engine, kind=kind, trigger=started_by, params=params, status=RunStatus.SKIPPED,
                       started_at=now, finished_at=now, error=reason, job_id=job_id)


def recover_stale_runs(engine: Engine, *, stale_after: float = STALE_AFTER) -> list[int]:
    """Mark `running` rows whose process is gone (or silent for `stale_after`) as interrupted.

    Called at start-up, before taking the run lease and whenever the running run is read
    (`running_run`): the seed's "worker stuck in running" cannot outlive the process running it.
    """
    with engine.connect() as conn:
        rows = [RunView.from_row(row)
                for row in conn.execute(select(runs_t).where(runs_t.c.status == RunStatus.RUNNING))]
    recovered = []
    for run in rows:
        reason = _stale_reason(run, stale_after)
        if reason is not None and _interrupt(engine, run, reason):
            recovered.append(run.id)
    return recovered


def _stale_reason(run: RunView, stale_after: float) -> str | None:
    """Why `run` cannot still be running (its process is provably gone on this host, or its
    heartbeat is older than `stale_after` from any host), or None. No database access."""
    host, pid = _host_and_pid(run.holder)
    if holder_is_dead(run.holder):
        return (f"The process running this (pid {pid} on {host}) is gone: it was stopped before it "
                "finished (restart, crash or kill). Work committed before that is kept.")
    if run.heartbeat_at is None or run.heartbeat_at < datetime.now(UTC) - timedelta(seconds=stale_after):
        return (f"No heartbeat from the process running this (on {host}) for over {stale_after:.0f} s: "
                "it is taken to have stopped. Work committed before that is kept.")
    return None


def _interrupt(engine: Engine, run: RunView, reason: str) -> bool:
    """Record `run` as interrupted and free the run lease it held; False if it had already ended."""
    with db.write_transaction(engine) as conn:
        changed = conn.execute(
            update(runs_t)
            .where(runs_t.c.id == run.id, runs_t.c.status == RunStatus.RUNNING)
            .values(status=RunStatus.INTERRUPTED, finished_at=datetime.now(UTC), error=reason)
        ).rowcount
    if run.holder:
        force_release(engine, RUN_LEASE, run.holder)
    if changed:
        log.warning("run %s was interrupted (holder %s): %s", run.id, run.holder, reason)
    return bool(changed)


def _host_and_pid(holder: str | None) -> tuple[str, str]:
    parts = (holder or "").split(":")
    return (parts[0] or "an unknown host", parts[1] if len(parts) > 1 else "?")


def get_run(engine: Engine, run_id: int) -> RunView | None:
    with engine.connect() as conn:
        row = conn.execute(select(runs_t).where(runs_t.c.id == run_id)).first()
    return RunView.from_row(row) if row else None


def recent_runs(
    engine: Engine, *, limit: int = 50, kind: RunKind | None = None, status: RunStatus | None = None,
    job_id: str | None = None, offset: int = 0,
) -> list[RunView]:
    query = select(runs_t).order_by(desc(runs_t.c.id)).limit(limit).offset(offset)
    if kind:
        query = query.where(runs_t.c.kind == kind)
    if job_id:
        query = query.where(runs_t.c.job_id == job_id)
    if status:
        query = query.where(runs_t.c.status == status)
    with engine.connect() as conn:
        return [RunView.from_row(row) for row in conn.execute(query)]


def running_run(engine: Engine, *, stale_after: float = STALE_AFTER) -> RunView | None:
    """The run in progress, if any, after reconciling: a `running` row left by a process that is
    gone (or silent past `stale_after`) is marked interrupted first, so status tells the truth."""
    for run in recent_runs(engine, limit=10, status=RunStatus.RUNNING):  # newest first; rarely more than one
        reason = _stale_reason(run, stale_after)
        if reason is None:
            return run
        _interrupt(engine, run, reason)
    return None


def last_finished(engine: Engine, kind: RunKind | None = None) -> RunView | None:
    """The latest run that started and stopped (not a skipped one)."""
    query = select(runs_t).where(runs_t.c.status.in_([s for s in RunStatus if s.ended]))
    if kind:
        query = query.where(runs_t.c.kind == kind)
    with engine.connect() as conn:
        row = conn.execute(query.order_by(desc(runs_t.c.id)).limit(1)).first()
    return RunView.from_row(row) if row else None


def start_times(engine: Engine, *, started_by: StartedBy, kinds: tuple[RunKind, ...],
                since: datetime) -> list[datetime]:
    """When runs of `kinds` started by `started_by` started since `since` (skipped ones not counted),
    oldest first: what a rate limit counts."""
    with engine.connect() as conn:
        return list(conn.execute(
            select(runs_t.c.started_at)
            .where(runs_t.c.trigger == started_by, runs_t.c.kind.in_(kinds), runs_t.c.started_at >= since,
                   runs_t.c.status != RunStatus.SKIPPED)
            .order_by(runs_t.c.started_at)
        ).scalars())


def prune_runs(engine: Engine, older_than_days: int) -> int:
    cutoff = datetime.now(UTC) - timedelta(days=older_than_days)
    with db.write_transaction(engine) as conn:
        return conn.execute(
            delete(runs_t).where(runs_t.c.started_at < cutoff, runs_t.c.status != RunStatus.RUNNING)
        ).rowcount
