"""Misbehaviour the demo Zendesk can be told to show: error statuses and 429 storms, malformed JSON,
dropped connections, a stuck cursor, slow answers, and a gate that holds requests until released."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field


@dataclass
class Fault:
    kind: str  # "status" | "malformed" | "reset" | "stuck_cursor"
    status: int = 500
    retry_after: str | None = None
    body_kind: str = "json"
    paths: tuple[str, ...] = ()  # empty = any path


class Gate:
    """Holds matching requests until whoever drives the server lets them through, one at a time or all.

    It makes the in-between states of a run observable: while a request waits here, the run that sent it
    stays exactly where it is, however fast the rest of it would be.
    """

    def __init__(self, paths: tuple[str, ...] = ()) -> None:
        self.paths = paths  # empty = every path
        self.waiting = 0  # requests held right now
        self.passed = 0  # requests let through so far
        self._allowed = 0
        self._open = False
        self._cond = threading.Condition()

    def matches(self, path: str) -> bool:
        return not self.paths or path in self.paths

    def enter(self) -> None:
        with self._cond:
            self.waiting += 1
            self._cond.notify_all()
            self._cond.wait_for(lambda: self._open or self._allowed > 0)
            if not self._open:
                self._allowed -= 1
            self.waiting -= 1
            self.passed += 1
            self._cond.notify_all()

    def release(self, n: int = 1) -> None:
        """Let the next `n` matching requests through (held ones first)."""
        with self._cond:
            self._allowed += n
            self._cond.notify_all()

    def open(self) -> None:
        """Let everything through from now on."""
        with self._cond:
            self._open = True
            self._cond.notify_all()

    def step(self, timeout: float = 60.0) -> bool:
        """Let one held request through; True once the request after it is held (False: none came)."""
        with self._cond:
            passed = self.passed
            self._allowed += 1
            self._cond.notify_all()
            return self._cond.wait_for(lambda: self.passed > passed and self.waiting > 0, timeout)

    def wait_until_held(self, n: int = 1, timeout: float = 60.0) -> bool:
        """Block until `n` requests are waiting at the gate; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: self.waiting >= n, timeout)


@dataclass
class Faults:
    """Switches for misbehaviour; queued faults are consumed one per matching request."""

    latency: float = 0.0
    gate: Gate | None = None
    _queue: deque[Fault] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def hold(self, paths: tuple[str, ...] = ()) -> Gate:
        """From now on, matching requests wait at the returned gate until it lets them through."""
        self.gate = Gate(paths)
        return self.gate

    def rate_limit(
        self, n: int, *, retry_after: str | None = "1", status: int = 429, body: str = "json",
        paths: tuple[str, ...] = (),
    ) -> None:
        """The next `n` requests get 429 (or 503) with this Retry-After (None = no header)."""
        self._push(n, Fault("status", status, retry_after, body, paths))

    def server_error(self, n: int, status: int = 500, paths: tuple[str, ...] = ()) -> None:
        self._push(n, Fault("status", status, paths=paths))

    def malformed(self, n: int, paths: tuple[str, ...] = ()) -> None:
        """The next `n` requests get a 200 whose JSON is cut off half-way."""
        self._push(n, Fault("malformed", paths=paths))

    def reset(self, n: int, paths: tuple[str, ...] = ()) -> None:
        """The next `n` requests have their connection closed without an answer."""
        self._push(n, Fault("reset", paths=paths))

    def stuck_cursor(self, n: int = 1) -> None:
        """The next `n` cursor pages hand back the cursor they were given."""
        self._push(n, Fault("stuck_cursor", paths=("/api/v2/incremental/tickets/cursor.json",)))

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()
        self.latency = 0.0
        gate, self.gate = self.gate, None
        if gate is not None:
            gate.open()

    def _push(self, n: int, fault: Fault) -> None:
        with self._lock:
            self._queue.extend([fault] * n)

    def take(self, path: str) -> Fault | None:
        with self._lock:
            if self._queue and (not self._queue[0].paths or path in self._queue[0].paths):
                return self._queue.popleft()
        return None

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._queue)
