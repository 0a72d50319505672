"""Links between clusters and tracker issues: the `cluster_links` table and its functions.

The table is `miner.models.ClusterLink` (migration 0007), used here through SQLAlchemy Core. A link keeps
the issue's last known state; `refresh_all` re-reads every link (the scheduled job), recording an error on
the link that failed and going on with the others.

`resolved_at` is the tracker's resolution time (Jira's resolutiondate, GitHub's closed_at). When a
tracker says an issue is resolved without saying when (a Jira workflow without a resolution), it is the
time we first saw it resolved.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, Table, delete, insert, select, update
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import IntegrityError

from miner import db
from miner.errors import MinerError, describe
from miner.fixes.trackers import LABELS, TrackedIssue, Tracker, TrackerNotFound
from miner.models import ClusterLink

log = logging.getLogger(__name__)

cluster_links: Table = ClusterLink.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class Link:
    id: int
    cluster_id: int
    tracker: str
    key: str
    url: str
    title: str | None
    status: str | None
    resolved: bool
    resolved_at: datetime | None
    last_checked_at: datetime | None
    last_error: str | None
    created_at: datetime
    created_by: str | None

    @property
    def label(self) -> str:
        """"Jira SW-12" / "GitHub acme/app#12"."""
        return f"{LABELS.get(self.tracker, self.tracker)} {self.key}"


@dataclass
class TrackerTally:
    """How one tracker did in a refresh: the health check reads it from the run's result."""

    answered: int = 0  # issues it answered for (an issue it says is gone counts: the tracker works)
    failed: int = 0  # requests it did not answer usefully (unreachable, refused credentials, 5xx, ...)
    last_error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"answered": self.answered, "failed": self.failed, "last_error": self.last_error}


@dataclass
class RefreshResult:
    checked: int = 0  # links re-read successfully
    changed: int = 0  # of those, links whose status, title or resolution changed
    failed: int = 0
    resolved: list[Link] = field(default_factory=list)  # links that became resolved (as they are now)
    reopened: list[Link] = field(default_factory=list)
    errors: dict[int, str] = field(default_factory=dict)  # link id -> message
    trackers: dict[str, TrackerTally] = field(default_factory=dict)  # configured trackers that were asked

    def as_dict(self) -> dict[str, Any]:
        return {"checked": self.checked, "changed": self.changed, "failed": self.failed,
                "resolved": [link.label for link in self.resolved],
                "reopened": [link.label for link in self.reopened], "errors": dict(self.errors),
                "trackers": {name: tally.as_dict() for name, tally in self.trackers.items()}}


# --- writes ------------------------------------------------------------------------------------------


def link(engine: Engine, cluster_id: int, issue: TrackedIssue, *, created_by: str | None = None,
         now: datetime | None = None) -> Link:
    """Link a cluster to an issue; linking the same issue again refreshes the link instead."""
    now = now or datetime.now(UTC)
    for attempt in (1, 2):
        try:
            with db.write_transaction(engine) as conn:
                existing = _row(conn, (cluster_links.c.cluster_id == cluster_id)
                                & (cluster_links.c.tracker == issue.tracker) & (cluster_links.c.key == issue.key))
                if existing is not None:
                    conn.execute(update(cluster_links).where(cluster_links.c.id == existing.id)
                                 .values(**_issue_values(existing, issue, now)))
                    link_id = existing.id
                else:
                    values = _issue_values(None, issue, now)
                    link_id = conn.execute(insert(cluster_links).values(
                        cluster_id=cluster_id, tracker=issue.tracker, key=issue.key, created_at=now,
                        created_by=created_by, **values).returning(cluster_links.c.id)).scalar_one()
                result = _row(conn, cluster_links.c.id == link_id)
                assert result is not None
                return result
        except IntegrityError:  # someone linked the same issue at the same moment: update theirs
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def unlink(engine: Engine, link_id: int) -> Link | None:
    """Remove a link; the link as it was (None if there was none)."""
    with db.write_transaction(engine) as conn:
        existing = _row(conn, cluster_links.c.id == link_id)
        if existing is not None:
            conn.execute(delete(cluster_links).where(cluster_links.c.id == link_id))
        return existing


def move_links(conn: Connection, from_cluster_id: int, to_cluster_id: int) -> int:
    """Merging clusters: the merged cluster's links go to the cluster it joins (in the merge's
    transaction). A link the target already has is dropped, not duplicated. Returns links moved."""
    target_keys = {(r.tracker, r.key) for r in conn.execute(
        select(cluster_links.c.tracker, cluster_links.c.key).where(cluster_links.c.cluster_id == to_cluster_id))}
    moved = 0
    for row in conn.execute(select(cluster_links.c.id, cluster_links.c.tracker, cluster_links.c.key)
                            .where(cluster_links.c.cluster_id == from_cluster_id)).all():
        if (row.tracker, row.key) in target_keys:
            conn.execute(delete(cluster_links).where(cluster_links.c.id == row.id))
        else:
            conn.execute(update(cluster_links).where(cluster_links.c.id == row.id).values(cluster_id=to_cluster_id))
            moved += 1
    return moved


def record_issue(engine: Engine, link_id: int, issue: TrackedIssue, *, now: datetime | None = None) -> Link | None:
    """Store what the tracker says about a link's issue now; the link after (None if it was removed)."""
    now = now or datetime.now(UTC)
    with db.write_transaction(engine) as conn:
        existing = _row(conn, cluster_links.c.id == link_id)
        if existing is None:
            return None
        values = _issue_values(existing, issue, now)
        if issue.key != existing.key:  # a Jira issue moved to another project, a GitHub issue transferred
            taken = _row(conn, (cluster_links.c.cluster_id == existing.cluster_id)
                         & (cluster_links.c.tracker == existing.tracker) & (cluster_links.c.key == issue.key))
            if taken is None:
                values["key"] = issue.key
        conn.execute(update(cluster_links).where(cluster_links.c.id == link_id).values(**values))
        return _row(conn, cluster_links.c.id == link_id)


def record_error(engine: Engine, link_id: int, message: str, *, now: datetime | None = None) -> None:
    """A refresh failed: keep the last known state, note the error and when we tried."""
    with db.write_transaction(engine) as conn:
        conn.execute(update(cluster_links).where(cluster_links.c.id == link_id)
                     .values(last_error=message, last_checked_at=now or datetime.now(UTC)))


def refresh_all(engine: Engine, trackers: Mapping[str, Tracker], *, now: datetime | None = None,
                cluster_ids: Iterable[int] | None = None) -> RefreshResult:
    """Re-read every link's issue (or those of `cluster_ids`); an issue linked to several clusters is read
    once. A failure is recorded on its link and the others go on."""
    now = now or datetime.now(UTC)
    result = RefreshResult()
    links = all_links(engine) if cluster_ids is None else [
        lk for group in links_for_clusters(engine, cluster_ids).values() for lk in group]
    answers: dict[tuple[str, str], TrackedIssue | _Failed] = {}
    for lk in links:
        ident = (lk.tracker, lk.key)
        if ident not in answers:
            answers[ident] = answer = _fetch(trackers, lk)
            if lk.tracker in trackers:
                _count(result.trackers.setdefault(lk.tracker, TrackerTally()), answer)
        answer = answers[ident]
        if isinstance(answer, _Failed):
            record_error(engine, lk.id, answer.message, now=now)
            result.failed += 1
            result.errors[lk.id] = answer.message
            continue
        after = record_issue(engine, lk.id, answer, now=now)
        if after is None:  # unlinked meanwhile
            continue
        result.checked += 1
        if (after.status, after.title, after.resolved, after.resolved_at) != (
                lk.status, lk.title, lk.resolved, lk.resolved_at):
            result.changed += 1
        if after.resolved and not lk.resolved:
            result.resolved.append(after)
        elif lk.resolved and not after.resolved:
            result.reopened.append(after)
    log.info("tracker links: %d checked, %d changed, %d failed", result.checked, result.changed, result.failed)
    return result


@dataclass(frozen=True)
class _Failed:
    message: str
    answered: bool  # the tracker answered, about this issue only (it is gone): not the tracker's failure


def _fetch(trackers: Mapping[str, Tracker], lk: Link) -> TrackedIssue | _Failed:
    tracker = trackers.get(lk.tracker)
    if tracker is None:
        return _Failed(f"{LABELS.get(lk.tracker, lk.tracker)} is not configured, so {lk.key} cannot be checked "
                       f"({_SETTINGS.get(lk.tracker, '')}).", answered=False)
    try:
        return tracker.fetch(lk.key)
    except TrackerNotFound as exc:
        log.warning("refreshing %s failed: %s", lk.label, exc)
        return _Failed(str(exc), answered=True)
    except MinerError as exc:
        log.warning("refreshing %s failed: %s", lk.label, exc)
        return _Failed(str(exc), answered=False)
    except Exception as exc:  # one link's failure, whatever it is, must not stop the others
        log.exception("refreshing %s failed unexpectedly", lk.label)
        return _Failed(describe(exc), answered=False)


def _count(tally: TrackerTally, answer: TrackedIssue | _Failed) -> None:
    if isinstance(answer, _Failed) and not answer.answered:
        tally.failed += 1
        tally.last_error = answer.message
    else:
        tally.answered += 1


_SETTINGS = {"jira": "set JIRA_BASE_URL, JIRA_EMAIL and JIRA_API_TOKEN",
             "github": "set GITHUB_REPOSITORY and GITHUB_TOKEN"}


# --- reads -------------------------------------------------------------------------------------------


def get_link(engine: Engine, link_id: int) -> Link | None:
    with engine.connect() as conn:
        return _row(conn, cluster_links.c.id == link_id)


def links_for_cluster(engine: Engine, cluster_id: int) -> list[Link]:
    return links_for_clusters(engine, [cluster_id]).get(cluster_id, [])


def links_for_clusters(engine: Engine, cluster_ids: Iterable[int]) -> dict[int, list[Link]]:
    """Links per cluster (clusters without links are left out), oldest link first."""
    ids = sorted(set(cluster_ids))
    found: dict[int, list[Link]] = {}
    with engine.connect() as conn:
        for start in range(0, len(ids), 500):
            rows = conn.execute(select(cluster_links).where(cluster_links.c.cluster_id.in_(ids[start:start + 500]))
                                .order_by(cluster_links.c.created_at, cluster_links.c.id)).all()
            for row in rows:
                found.setdefault(row.cluster_id, []).append(_link(row))
    return found


def all_links(engine: Engine) -> list[Link]:
    with engine.connect() as conn:
        rows = conn.execute(select(cluster_links).order_by(cluster_links.c.id)).all()
    return [_link(row) for row in rows]


# --- helpers -----------------------------------------------------------------------------------------


def _row(conn: Connection, where: Any) -> Link | None:
    row = conn.execute(select(cluster_links).where(where)).first()
    return _link(row) if row is not None else None


def _link(row: Row[Any]) -> Link:
    return Link(**{name: getattr(row, name) for name in Link.__dataclass_fields__})


def _issue_values(previous: Link | None, issue: TrackedIssue, now: datetime) -> dict[str, Any]:
    if not issue.resolved:
        resolved_at = None
    elif issue.resolved_at is not None:
        resolved_at = issue.resolved_at
    elif previous is not None and previous.resolved and previous.resolved_at is not None:
        resolved_at = previous.resolved_at  # still resolved; the tracker never said when: keep when we saw it
    else:
        resolved_at = now
    status = issue.status if issue.status is not None else (previous.status if previous else None)
    return {"url": issue.url, "title": issue.title, "status": status, "resolved": issue.resolved,
            "resolved_at": resolved_at, "last_checked_at": now if issue.status is not None else None,
            "last_error": None}
