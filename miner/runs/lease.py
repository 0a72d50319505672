"""Leases: a row per name in table `leases`, held by one process at a time, kept alive by heartbeats.

Works the same on SQLite and PostgreSQL (a conditional UPDATE is atomic on both), across threads,
processes and hosts. A holder that stops heartbeating loses the lease after `ttl`; a holder on this
host whose process is gone loses it at once, so a SIGKILLed run never blocks the next one for long.
"""

from __future__ import annotations

import os
import socket
import sys
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psutil
from sqlalchemy import Engine, select, update

from miner import db
from miner.models import leases_t

HOST = socket.gethostname()
START_TOLERANCE = 1.0  # seconds; one process's start time, read twice, agrees to 0.01 s
RUN_LEASE = "run"  # one run at a time, across threads, processes and hosts


def process_start_time(pid: int) -> float | None:
    """When process `pid` started, or None when this platform won't say (e.g. no /proc).

    Only ever compared on the same host. On Linux it is seconds since boot: the epoch figure is
    derived from the wall clock and drifts with NTP, which could make a live holder look like
    another process. Elsewhere the kernel keeps an absolute start time, used as it is.
    """
    try:
        started = float(psutil.Process(pid).create_time())
        if sys.platform.startswith("linux"):
            started -= psutil.boot_time()
    except (psutil.Error, OSError):
        return None
    return float(started)


def new_holder() -> str:
    """host:pid:start:random - unique per process and per lease-taking object.

    `start` (process_start_time, two decimals) tells a reused pid apart; "?" when unknown.
    """
    started = process_start_time(os.getpid())
    stamp = f"{started:.2f}" if started is not None else "?"
    return f"{HOST}:{os.getpid()}:{stamp}:{uuid.uuid4().hex[:8]}"


def holder_is_dead(holder: str | None) -> bool:
    """True only when we can prove it: same host, and that process is gone, a zombie, or another
    process now using the pid (a different start time). Whatever cannot be read counts as alive.
    """
    if not holder:
        return True
    parts = holder.split(":")
    if len(parts) < 4 or parts[0] != HOST:
        return False
    try:
        pid = int(parts[1])
    except ValueError:
        return False
    return not process_is_alive(pid, _recorded_start(parts[2]))


def _recorded_start(text: str) -> float | None:
    if "." not in text:  # "?" or an older holder's clock ticks: nothing to compare with
        return None
    try:
        return float(text)
    except ValueError:
        return None


def process_is_alive(pid: int, started: float | None = None) -> bool:
    """Whether process `pid` (that started at `started`, when given) still runs on this host.

    Existence is asked of the operating system itself (signal 0 on POSIX), never read from /proc:
    a platform without /proc, or a hidden one, must never make a live holder look dead.
    """
    if pid <= 0 or not _pid_exists(pid):
        return False
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
    except psutil.ZombieProcess:
        return False
    except (psutil.Error, OSError):  # unreadable: only the OS's own word can make it dead
        return _pid_exists(pid)
    if started is None:
        return True
    actual = process_start_time(pid)
    if actual is None:
        return _pid_exists(pid)
    return abs(actual - started) < START_TOLERANCE


def _pid_exists(pid: int) -> bool:
    if os.name != "posix":  # on Windows os.kill(pid, 0) would end the process
        return bool(psutil.pid_exists(pid))
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: someone else's process, which exists
        return True
    return True


@dataclass(frozen=True)
class LeaseInfo:
    name: str
    holder: str | None
    run_id: int | None
    acquired_at: datetime | None
    heartbeat_at: datetime | None
    expires_at: datetime | None


class LeaseLock:
    """One named lease. `acquire()` never blocks: it says whether this holder now has it."""

    def __init__(self, engine: Engine, name: str, *, ttl: float = 60.0, holder: str | None = None):
        self.engine = engine
        self.name = name
        self.ttl = timedelta(seconds=ttl)
        self.holder = holder or new_holder()

    def acquire(self, run_id: int | None = None) -> bool:
        now = datetime.now(UTC)
        with db.write_transaction(self.engine) as conn:
            db.upsert(conn, leases_t, [{"name": self.name}], key=["name"])
            current = conn.execute(select(leases_t).where(leases_t.c.name == self.name)).one()
            free = (
                current.holder is None
                or current.holder == self.holder
                or current.expires_at is None
                or current.expires_at < now
                or holder_is_dead(current.holder)
            )
            if not free:
                return False
            # Compare-and-set on the holder we saw, so two takers cannot both win.
            cond = leases_t.c.holder.is_(None) if current.holder is None else leases_t.c.holder == current.holder
            taken = conn.execute(
                update(leases_t)
                .where(leases_t.c.name == self.name, cond)
                .values(holder=self.holder, run_id=run_id, acquired_at=now, heartbeat_at=now,
                        expires_at=now + self.ttl)
            ).rowcount
            return taken == 1

    def renew(self, run_id: int | None = None) -> bool:
        """Extend the lease; False means it was lost (expired and taken by someone else)."""
        now = datetime.now(UTC)
        values: dict[str, object] = {"heartbeat_at": now, "expires_at": now + self.ttl}
        if run_id is not None:
            values["run_id"] = run_id
        with db.write_transaction(self.engine) as conn:
            return conn.execute(
                update(leases_t)
                .where(leases_t.c.name == self.name, leases_t.c.holder == self.holder)
                .values(**values)
            ).rowcount == 1

    def release(self) -> None:
        with db.write_transaction(self.engine) as conn:
            conn.execute(
                update(leases_t)
                .where(leases_t.c.name == self.name, leases_t.c.holder == self.holder)
                .values(holder=None, run_id=None, expires_at=None)
            )


def read_lease(engine: Engine, name: str) -> LeaseInfo | None:
    with engine.connect() as conn:
        row = conn.execute(select(leases_t).where(leases_t.c.name == name)).first()
    if row is None:
        return None
    return LeaseInfo(**row._mapping)


def force_release(engine: Engine, name: str, holder: str) -> None:
    """Release a lease held by `holder` (used when that holder is known to be dead)."""
    with db.write_transaction(engine) as conn:
        conn.execute(
            update(leases_t)
            .where(leases_t.c.name == name, leases_t.c.holder == holder)
            .values(holder=None, run_id=None, expires_at=None)
        )
