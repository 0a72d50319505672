"""Database access: engines for SQLite and PostgreSQL, migrations, and the one upsert helper.

SQLite gets WAL (readers never block the writer), a busy timeout (writers queue instead of failing)
and foreign keys. Migrations are Alembic scripts in `miner/migrations`, applied on start and by
`python -m miner db upgrade`.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, overload

from sqlalchemy import Engine, Table, create_engine, event, text
from sqlalchemy.engine import Connection
from sqlalchemy.pool import NullPool

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 30_000


def as_utc(value: datetime | str) -> datetime:
    """A timestamp as an aware UTC datetime: columns read through the models already are; raw SQLite text
    and naive values are UTC by this schema's convention."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def make_engine(url: str, *, pool_size: int = 5) -> Engine:
    """Create an engine; for SQLite, create the file's folder and set the connection pragmas."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else ""
        if path and path != ":memory:":
            Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_size=pool_size, max_overflow=10, pool_pre_ping=True)


def make_script_engine(url: str) -> Engine:
    """An engine without pooling, for short-lived CLI processes and child processes in tests."""
    if url.startswith("sqlite"):
        return make_engine(url)
    return create_engine(url, poolclass=NullPool)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (see make_engine)
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    _switch_to_wal(cur)
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _switch_to_wal(cur: Any) -> None:
    # Turning a new database file to WAL needs an exclusive lock, and SQLite answers "database is
    # locked" at once, without its busy handler, when another process does the same at that moment
    # (two processes starting on an empty database). Once the file is in WAL mode this is a no-op.
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    delay = 0.01
    while True:
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.5)


def _sqlite_begin(conn: Connection) -> None:
    # pysqlite defers BEGIN until the first write; we issue it ourselves. Write transactions take
    # the write lock up front (BEGIN IMMEDIATE) so a concurrent writer makes them wait on the busy
    # timeout instead of failing half-way with "database is locked" when a read upgrades to a write.
    immediate = conn.get_execution_options().get("sqlite_write", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def writer(engine: Engine) -> Engine:
    """The same engine, but its transactions are write transactions (BEGIN IMMEDIATE on SQLite)."""
    return engine.execution_options(sqlite_write=True)


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """One Core write transaction: committed on success, rolled back on any exception."""
    with writer(engine).begin() as conn:
        yield conn


# --- migrations ---------------------------------------------------------------------------------


MIGRATION_LOCK_KEY = int.from_bytes(b"miner-db", "big")  # the PostgreSQL advisory lock of migrations


def _alembic_config(engine: Engine, connection: Connection | None = None) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    cfg.attributes["connection"] = connection  # migrations/env.py runs on it when given
    return cfg


def upgrade(engine: Engine) -> list[str]:
    """Apply pending migrations; returns the revisions applied (empty when up to date).

    Serialised across processes: Alembic runs inside one transaction that first takes a lock
    (PostgreSQL: a transaction-scoped advisory lock; SQLite: the write lock, BEGIN IMMEDIATE), so
    of two processes starting on an empty database one migrates and the other then finds it at head.
    """
    from alembic import command

    if current_revision(engine) == head_revision():
        return []  # the usual start: no lock taken, so a busy database never delays it
    with writer(engine).begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        before = _revision(conn)
        command.upgrade(_alembic_config(engine, conn), "head")
        after = _revision(conn)
    if before != after:
        log.info("database migrated from %s to %s", before or "empty", after)
    return [] if before == after else [after or ""]


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return _revision(conn)


def _revision(conn: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(MIGRATIONS_DIR))
    head = script.get_current_head()
    assert head is not None
    return head


# --- writes -------------------------------------------------------------------------------------


def upsert(
    conn: Connection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    *,
    key: Iterable[str],
    update: Iterable[str] | None = None,
    where: str | None = None,
) -> None:
    """INSERT ... ON CONFLICT (key) DO UPDATE/NOTHING, on SQLite and PostgreSQL alike.

    `update` lists the columns to overwrite (None = do nothing on conflict). `where` is an SQL
    condition on the conflict update, written with `excluded.` and the table name.
    """
    if not rows:
        return
    stmt = _upsert_statement(conn.dialect.name, table, tuple(key),
                             None if update is None else tuple(update), where)
    conn.execute(stmt, list(rows))


@functools.lru_cache(maxsize=256)
def _upsert_statement(dialect: str, table: Table, key: tuple[str, ...], update: tuple[str, ...] | None,
                      where: str | None) -> Any:
    # Statements are immutable: build each shape once (building them is costlier than running them).
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    stmt = insert(table)
    if update is None:
        return stmt.on_conflict_do_nothing(index_elements=list(key))
    return stmt.on_conflict_do_update(
        index_elements=list(key),
        set_={col: stmt.excluded[col] for col in update},
        where=text(where) if where else None,
    )


class BulkUpsert:
    """INSERT ... ON CONFLICT as one prepared statement run with executemany on plain tuples.

    The sync's hot path: it skips SQLAlchemy's per-row parameter processing, so values must already
    be database-ready (see `db_datetime`, `db_json`). The SQL is the same on SQLite and PostgreSQL
    apart from the placeholder style.
    """

    def __init__(self, table: str, columns: Sequence[str], *, key: Sequence[str],
                 update: Sequence[str] | None = None, where: str | None = None) -> None:
        self.table, self.columns, self.key = table, list(columns), list(key)
        self.update, self.where = (list(update) if update is not None else None), where
        self._sql: dict[str, str] = {}

    def sql(self, paramstyle: str) -> str:
        if paramstyle not in self._sql:
            mark = "?" if paramstyle == "qmark" else "%s"
            conflict = f"ON CONFLICT ({', '.join(self.key)}) "
            if self.update is None:
                conflict += "DO NOTHING"
            else:
                sets = ", ".join(f"{c} = excluded.{c}" for c in self.update)
                conflict += f"DO UPDATE SET {sets}" + (f" WHERE {self.where}" if self.where else "")
            self._sql[paramstyle] = (
                f"INSERT INTO {self.table} ({', '.join(self.columns)}) "
                f"VALUES ({', '.join([mark] * len(self.columns))}) {conflict}"
            )
        return self._sql[paramstyle]

    def execute(self, conn: Connection, rows: Sequence[tuple[Any, ...]]) -> int:
        if not rows:
            return 0
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.executemany(self.sql(conn.dialect.paramstyle), list(rows))
            return int(cursor.rowcount)
        finally:
            cursor.close()

    def execute_isolating(self, conn: Connection, rows: Sequence[tuple[Any, ...]]) -> Isolated:
        """`execute`, but a row the database refuses does not fail the others.

        The bulk statement runs in a savepoint (the all-good path stays one executemany); only if it
        fails are the rows retried one by one, each in its own savepoint. Returns the row count and
        the rows refused, as (index, error). Connection-level errors (lost connection, locks) raise.
        """
        if not rows:
            return Isolated(0, [])
        refused = row_errors(conn)
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        sql = self.sql(conn.dialect.paramstyle)
        try:
            try:
                return Isolated(_in_savepoint(cursor, cursor.executemany, sql, list(rows)), [])
            except refused:
                pass
            isolated = Isolated(0, [])
            for index, row in enumerate(rows):
                try:
                    isolated.rowcount += _in_savepoint(cursor, cursor.execute, sql, row)
                except refused as exc:
                    isolated.refused.append((index, exc))
            return isolated
        finally:
            cursor.close()


@dataclass
class Isolated:
    rowcount: int
    refused: list[tuple[int, Exception]]  # (index of the row, the database's error)


def _in_savepoint(cursor: Any, run: Callable[..., Any], *args: Any) -> int:
    # Plain SQL on the DB-API cursor: a savepoint per page costs microseconds this way, which matters
    # on the sync's hot path. On failure the work since the savepoint is undone (PostgreSQL would
    # otherwise refuse everything until the end of the transaction).
    cursor.execute("SAVEPOINT bulk_rows")
    try:
        run(*args)
    except BaseException:
        cursor.execute("ROLLBACK TO SAVEPOINT bulk_rows")
        cursor.execute("RELEASE SAVEPOINT bulk_rows")
        raise
    count = int(cursor.rowcount)
    cursor.execute("RELEASE SAVEPOINT bulk_rows")
    return count


def row_errors(conn: Connection) -> tuple[type[Exception], ...]:
    """Errors that are about the values of a row (bad data, constraint), not about the connection."""
    dbapi = conn.dialect.loaded_dbapi
    return (dbapi.DataError, dbapi.IntegrityError, ValueError, OverflowError)


def db_datetime(conn: Connection, value: datetime | None) -> Any:
    """An aware datetime as the database stores it: naive UTC (text on SQLite, as SQLAlchemy writes it)."""
    if value is None:
        return None
    naive = value.astimezone(UTC).replace(tzinfo=None)
    if conn.dialect.name == "sqlite":
        return f"{naive:%Y-%m-%d %H:%M:%S}.{naive.microsecond:06d}"
    return naive


def db_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


# PostgreSQL refuses NUL in text and \u0000 in JSON; neither database can encode a lone surrogate
# (U+D800-U+DFFF) as UTF-8. Such characters become U+FFFD, the Unicode replacement character.
REPLACEMENT_CHARACTER = "\ufffd"
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


@overload
def storable(text: str) -> str: ...
@overload
def storable(text: None) -> None: ...
def storable(text: str | None) -> str | None:
    """`text` with every character a database would refuse replaced by U+FFFD."""
    if text is None or (text.isascii() and "\x00" not in text):  # the common case, 50x faster than the regex
        return text
    return _UNSTORABLE.sub(REPLACEMENT_CHARACTER, text)


def ping(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


# --- values from people ------------------------------------------------------------------------

MAX_ID = 2**63 - 1  # the largest integer SQLite and PostgreSQL (bigint) hold


def parse_id(text: str | None) -> int | None:
    """An id typed or linked by a person ("10452"): None unless it is a whole number a row can have."""
    text = (text or "").strip()
    if not (text.isascii() and text.isdigit()):
        return None
    number = int(text)
    return number if 1 <= number <= MAX_ID else None


def like_escape(text: str) -> str:
    """Text for LIKE '%...%' ESCAPE '\\' that matches itself: % and _ are not wildcards here."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
