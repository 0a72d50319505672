"""The sync quarantine: Zendesk objects the sync could not store, kept aside instead of failing a page.

An object lands here when it does not fit the documented format (e.g. `"id": "abc"`, no `status`)
or when the database refuses its row. The rest of its page is stored and the cursor advances; the
entry records the error and an excerpt, and counts how often the object was seen. A later sync that
stores the object removes its entry. Entries not seen for MINER_RETENTION_DAYS are pruned.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, Select, delete, func, insert, select, update
from sqlalchemy.engine import Connection

from miner import db
from miner.errors import describe
from miner.models import quarantine_t

log = logging.getLogger(__name__)

ERROR_CHARS = 300


def quarantine_key(object_type: str, object_id: object | None, excerpt: str) -> str:
    """One entry per object: by id when it has one, else by the content seen."""
    if object_id is None or str(object_id) == "":
        return f"{object_type}:#{hashlib.sha1(excerpt.encode('utf-8', 'replace')).hexdigest()[:16]}"
    return f"{object_type}:{str(object_id)[:64]}"


def _message(error: BaseException | str) -> str:
    """One line about the error, short enough for a table cell."""
    lines = str(error).strip().splitlines()
    text = describe(error) if isinstance(error, BaseException) else (lines[0] if lines else "")
    return text if len(text) <= ERROR_CHARS else text[: ERROR_CHARS - 3] + "..."


@dataclass
class Quarantine:
    """A sync run's handle on the quarantine.

    The keys held are read once per run, so releasing objects costs nothing on pages that hold no
    quarantined object (the common case).
    """

    held: set[str] = field(default_factory=set)
    added: int = 0
    released: int = 0

    @classmethod
    def load(cls, engine: Engine) -> Quarantine:
        with engine.connect() as conn:
            return cls(set(conn.execute(select(quarantine_t.c.key)).scalars()))

    def hold(self, conn: Connection, *, stream: str, object_type: str, object_id: object | None,
             error: BaseException | str, excerpt: str, now: datetime | None = None) -> None:
        """Record (or count again) an object that could not be stored, in the page's transaction."""
        now = now or datetime.now(UTC)
        excerpt = db.storable(excerpt)
        key = quarantine_key(object_type, object_id, excerpt)
        message = db.storable(_message(error))
        values: dict[str, Any] = {"error": message, "excerpt": excerpt, "last_seen": now, "stream": stream}
        changed = conn.execute(update(quarantine_t).where(quarantine_t.c.key == key)
                               .values(count=quarantine_t.c.count + 1, **values)).rowcount
        if not changed:
            conn.execute(insert(quarantine_t).values(
                key=key, object_type=object_type, first_seen=now, count=1,
                object_id=None if object_id is None else db.storable(str(object_id)[:64]), **values))
        self.held.add(key)
        self.added += 1
        log.warning("quarantined %s %s from the %s stream: %s", object_type, object_id, stream, message)

    def release(self, conn: Connection, object_type: str, ids: Iterable[object]) -> None:
        """Drop the entries of objects that were just stored."""
        if not self.held:
            return
        keys = {f"{object_type}:{i}" for i in ids} & self.held
        if keys:
            conn.execute(delete(quarantine_t).where(quarantine_t.c.key.in_(sorted(keys))))
            self.held -= keys
            self.released += len(keys)


@dataclass(frozen=True)
class Entry:
    """An object set aside."""

    stream: str
    object_type: str
    object_id: str | None
    error: str
    excerpt: str
    first_seen: datetime
    last_seen: datetime
    count: int  # times seen

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "first_seen": self.first_seen.isoformat(), "last_seen": self.last_seen.isoformat()}


def _select_entries() -> Select[Any]:
    return select(*(quarantine_t.c[f.name] for f in fields(Entry)))


def entries(engine: Engine, limit: int = 200) -> list[Entry]:
    """What is in quarantine, most recently seen first."""
    with engine.connect() as conn:
        rows = conn.execute(_select_entries().order_by(quarantine_t.c.last_seen.desc(), quarantine_t.c.id.desc())
                            .limit(limit)).all()
    return [Entry(**r._mapping) for r in rows]


def count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(quarantine_t)).scalar_one())


def pending(conn: Connection, object_type: str) -> list[Entry]:
    """Entries of one type, oldest first, for steps that retry them (e.g. a redaction whose re-read failed)."""
    rows = conn.execute(_select_entries().where(quarantine_t.c.object_type == object_type)
                        .order_by(quarantine_t.c.id)).all()
    return [Entry(**r._mapping) for r in rows]


def prune(conn: Connection, older_than: datetime) -> int:
    """Entries last seen before `older_than` (objects Zendesk no longer sends, e.g. with a bad id)."""
    return int(conn.execute(delete(quarantine_t).where(quarantine_t.c.last_seen < older_than)).rowcount)
