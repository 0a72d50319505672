"""Human edits to clusters: rename (and pin the name), merge, move an issue, triage status, notes.

Edits are recorded in `cluster_events` and expressed as flags the clustering respects on every later
run: a pinned name is never replaced, a merged cluster stays merged (its id points at the target),
a moved issue is pinned to its new cluster, and so are the issues a person merged into another.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, func, insert, select, update
from sqlalchemy.engine import Connection

from miner import db
from miner.errors import MinerError
from miner.fixes.store import move_links
from miner.models import clusters_t, events_t, issues_t, notes_t
from miner.vocabulary import TriageStatus

MAX_NAME = 120
MAX_NOTE = 5000


class EditError(MinerError):
    pass


def log_event(conn: Connection, cluster_id: int, action: str, detail: dict[str, Any],
              author: str | None) -> None:
    conn.execute(insert(events_t).values(cluster_id=cluster_id, action=action, detail=detail,
                                         author=author, created_at=datetime.now(UTC)))


# A cluster is a recent incident when an incident scan split it out of older clusters ("split_from") or found
# its own cluster already holding it, as a first full clustering of a new account does ("incident").
INCIDENT_ACTIONS = ("split_from", "incident")


def incident_clusters(conn: Connection, since: datetime) -> set[int]:
    """Clusters recognised as a new incident since `since` (kept apart from older problems meanwhile)."""
    return set(conn.execute(select(events_t.c.cluster_id).where(
        events_t.c.action.in_(INCIDENT_ACTIONS), events_t.c.created_at >= since)).scalars())


def _live(conn: Connection, cluster_id: int) -> Any:
    row = conn.execute(select(clusters_t).where(clusters_t.c.id == cluster_id)).first()
    if row is None:
        raise EditError(f"cluster #{cluster_id} does not exist")
    if row.retired:
        target = f" (merged into #{row.merged_into})" if row.merged_into else ""
        raise EditError(f"cluster #{cluster_id} is retired{target}")
    return row


def rename(engine: Engine, cluster_id: int, name: str, *, summary: str | None = None, pin: bool = True,
           author: str | None = None) -> None:
    name = " ".join((name or "").split())
    if not 3 <= len(name) <= MAX_NAME:
        raise EditError(f"name: must be 3-{MAX_NAME} characters")
    with db.write_transaction(engine) as conn:
        row = _live(conn, cluster_id)
        values: dict[str, Any] = {"name": name, "name_source": "human", "name_pinned": pin,
                                  "updated_at": datetime.now(UTC)}
        if summary is not None:
            values["summary"] = summary.strip()[:2000] or None
        conn.execute(update(clusters_t).where(clusters_t.c.id == cluster_id).values(**values))
        log_event(conn, cluster_id, "rename", {"from": row.name, "to": name, "pinned": pin}, author)


def set_name_pinned(engine: Engine, cluster_id: int, pinned: bool, *, author: str | None = None) -> None:
    with db.write_transaction(engine) as conn:
        _live(conn, cluster_id)
        conn.execute(update(clusters_t).where(clusters_t.c.id == cluster_id)
                     .values(name_pinned=pinned, updated_at=datetime.now(UTC)))
        log_event(conn, cluster_id, "pin" if pinned else "unpin", {}, author)


def set_status(engine: Engine, cluster_id: int, status: str, *, author: str | None = None) -> None:
    if status not in TriageStatus.values():
        raise EditError(f"status: must be one of {', '.join(TriageStatus)}")
    status = TriageStatus(status)
    with db.write_transaction(engine) as conn:
        row = _live(conn, cluster_id)
        if row.triage_status == status:
            return
        conn.execute(update(clusters_t).where(clusters_t.c.id == cluster_id)
                     .values(triage_status=status, updated_at=datetime.now(UTC)))
        log_event(conn, cluster_id, "status", {"from": row.triage_status, "to": status}, author)


def add_note(engine: Engine, cluster_id: int, body: str, *, author: str | None = None) -> None:
    body = (body or "").strip()
    if not body:
        raise EditError("note: write something first")
    if len(body) > MAX_NOTE:
        raise EditError(f"note: at most {MAX_NOTE} characters")
    with db.write_transaction(engine) as conn:
        _live(conn, cluster_id)
        conn.execute(insert(notes_t).values(cluster_id=cluster_id, author=author, body=body,
                                            created_at=datetime.now(UTC)))
        log_event(conn, cluster_id, "note", {"length": len(body)}, author)


def merge(engine: Engine, source_id: int, target_id: int, *, author: str | None = None) -> int:
    """Move every issue of `source` into `target` and retire `source` (pointing at `target`).

    A person's merge pins the moved issues: later runs keep them together in `target`."""
    if source_id == target_id:
        raise EditError("merge: choose two different clusters")
    with db.write_transaction(engine) as conn:
        return merge_in(conn, source_id, target_id, author=author, pin=True)


def merge_in(conn: Connection, source_id: int, target_id: int, *, author: str | None, pin: bool,
             detail: dict[str, Any] | None = None) -> int:
    """`merge` inside an open transaction; the clustering merges with `pin=False` and a reason in
    `detail`. Returns how many issues moved."""
    now = datetime.now(UTC)
    source = _live(conn, source_id)
    target = _live(conn, target_id)
    values: dict[str, Any] = {"cluster_id": target_id, "updated_at": now}
    if pin:
        values["cluster_pinned"] = True
    moved = conn.execute(update(issues_t).where(issues_t.c.cluster_id == source_id).values(**values)).rowcount
    conn.execute(update(clusters_t).where(clusters_t.c.id == source_id)
                 .values(retired=True, merged_into=target_id, size=0, updated_at=now))
    # its notes go with its issues; clusters that were merged into the source follow it to the target
    conn.execute(update(notes_t).where(notes_t.c.cluster_id == source_id).values(cluster_id=target_id))
    move_links(conn, source_id, target_id)  # the fix of the merged problem is the fix of the merged cluster
    conn.execute(update(clusters_t).where(clusters_t.c.merged_into == source_id)
                 .values(merged_into=target_id))
    _refresh_size(conn, target_id, now)
    log_event(conn, target_id, "merge", {"merged": source_id, "merged_name": source.name, "issues": moved,
                                        **(detail or {})}, author)
    log_event(conn, source_id, "merged_into", {"target": target_id, "target_name": target.name,
                                              **(detail or {})}, author)
    return int(moved)


def _refresh_size(conn: Connection, cluster_id: int, now: datetime) -> None:
    # the centroid follows at the next clustering run, which recomputes every centroid from its members
    size = conn.execute(select(func.count()).select_from(issues_t)
                        .where(issues_t.c.cluster_id == cluster_id)).scalar_one()
    conn.execute(update(clusters_t).where(clusters_t.c.id == cluster_id).values(size=size, updated_at=now))


def move_issue(engine: Engine, issue_id: int, target_id: int, *, author: str | None = None) -> None:
    """Put one issue into another cluster and pin it there."""
    now = datetime.now(UTC)
    with db.write_transaction(engine) as conn:
        _live(conn, target_id)
        issue = conn.execute(select(issues_t.c.cluster_id).where(issues_t.c.id == issue_id)).first()
        if issue is None:
            raise EditError(f"issue #{issue_id} does not exist")
        conn.execute(update(issues_t).where(issues_t.c.id == issue_id)
                     .values(cluster_id=target_id, cluster_pinned=True, updated_at=now))
        for cid in {issue.cluster_id, target_id} - {None}:
            size = conn.execute(select(func.count()).select_from(issues_t)
                                .where(issues_t.c.cluster_id == cid)).scalar_one()
            conn.execute(update(clusters_t).where(clusters_t.c.id == cid).values(size=size))
        log_event(conn, target_id, "move_in", {"issue": issue_id, "from": issue.cluster_id}, author)
        if issue.cluster_id is not None:
            log_event(conn, issue.cluster_id, "move_out", {"issue": issue_id, "to": target_id}, author)


def resolve(engine: Engine, cluster_id: int) -> int:
    """Follow merges: the live cluster an old id now lives in."""
    with engine.connect() as conn:
        seen: set[int] = set()
        while cluster_id not in seen:
            seen.add(cluster_id)
            row = conn.execute(select(clusters_t.c.merged_into).where(clusters_t.c.id == cluster_id)).first()
            if row is None or row.merged_into is None:
                return cluster_id
            cluster_id = row.merged_into
    return cluster_id


def describe_event(action: str, detail: dict[str, Any] | None) -> str:
    """One line for the cluster's activity log: what happened, and why when the clustering did it."""
    d = detail or {}

    def n(key: str, word: str) -> str:
        count = int(d.get(key) or 0)
        return f"{count} {word}{'' if count == 1 else 's'}"

    reason = f": {d['reason']}" if d.get("reason") else ""
    texts = {
        "created": f"Formed from {n('size', 'issue')}" + (
            f"; reports like these go back to {str(d['seen_before'])[:10]}, so it is not a new problem"
            if d.get("seen_before") else ""),
        "rename": f"Renamed from “{d.get('from')}” to “{d.get('to')}”" + (" and pinned" if d.get("pinned") else ""),
        "pin": "Name pinned", "unpin": "Name unpinned",
        "status": f"Status: {TriageStatus.label_of(d.get('from'))} → {TriageStatus.label_of(d.get('to'))}",
        "note": "Note added",
        "merge": f"#{d.get('merged')} “{d.get('merged_name')}” merged in ({n('issues', 'issue')}){reason}",
        "merged_into": f"Merged into #{d.get('target')} “{d.get('target_name')}”{reason}",
        "move_in": f"Issue #{d.get('issue')} moved here from #{d.get('from')}",
        "move_out": f"Issue #{d.get('issue')} moved to #{d.get('to')}",
        "split": f"{n('issues', 'recent issue')} split out into #{d.get('into')}{reason}",
        "split_from": f"Split out as a new problem: {n('issues', 'recent issue')} from "
                      f"{', '.join(f'#{c}' for c in d.get('clusters') or []) or 'unclustered issues'}"
                      f" ({n('reported_before', 'similar report')} before this week)",
        "incident": f"Recognised as a new problem: {n('issues', 'report')} in the last {n('days', 'day')}"
                    f" ({n('reported_before', 'similar report')} before)",
        "retired": f"Retired{reason}",
        "kept_apart": f"Kept apart from #{d.get('other')}{reason}",
    }
    return texts.get(action, action.replace("_", " ").capitalize())
