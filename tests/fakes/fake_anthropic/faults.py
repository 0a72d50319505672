"""Faults the fake can be told to inject: queued error answers, refusals, truncated and malformed
replies, and what a malformed reply looks like."""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from .prompts import output_schema


@dataclass
class Fault:
    kind: Literal["error", "refusal", "truncate", "malformed"]
    endpoint: str = "messages"
    status: int = 200
    error_type: str | None = None
    message: str | None = None
    body: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    details: dict[str, Any] | None = None
    text: str | None = None        # refusal text
    mode: str = "json"             # malformed: "json" | "schema"


class FaultQueue:
    """Faults waiting for the requests they apply to, in order (guarded by the server's lock)."""

    def __init__(self, lock: threading.RLock) -> None:
        self._lock = lock
        self._faults: deque[Fault] = deque()

    def __len__(self) -> int:
        with self._lock:
            return len(self._faults)

    def add(self, faults: Iterable[Fault]) -> None:
        with self._lock:
            self._faults.extend(faults)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, endpoint: str, kinds: tuple[str, ...]) -> Fault | None:
        """Pop the first queued fault for this endpoint if it is of one of ``kinds``.

        Error faults apply to any endpoint they name; refusals, truncations and malformed replies only
        to messages. A fault of another kind at the head of the queue blocks the ones behind it.
        """
        with self._lock:
            for i, fault in enumerate(self._faults):
                if fault.endpoint in (endpoint, "any") and (fault.kind == "error" or endpoint == "messages"):
                    if fault.kind in kinds:
                        del self._faults[i]
                        return fault
                    return None
        return None


def malform(text: str, body: dict[str, Any], mode: str) -> str:
    """The reply `text` made invalid: not JSON (``mode="json"``: prose before a JSON object missing its
    closing brace) or JSON that breaks the requested schema (``mode="schema"``)."""
    if mode == "schema":
        try:
            value = json.loads(text)
        except ValueError:
            value = None
        schema = output_schema(body) or {}
        if isinstance(value, dict) and value:
            required = [k for k in schema.get("required", []) if k in value] or list(value)
            value.pop(required[0])
            value["unexpected_field"] = "not in the schema"
            return json.dumps(value)
        return json.dumps({"unexpected_field": "not in the schema"})
    core = text.rstrip()
    if core.endswith("}") or core.endswith("]"):
        core = core[:-1]
    return "Sure! Here is the analysis you asked for:\n" + core
