"""Token counting: the fake's token estimate, and its model of prompt caching."""

from __future__ import annotations

import hashlib
import math
import threading
import time

from .prompts import Segment


def estimate_tokens(text: str) -> int:
    """The fake's token estimate: ``ceil(len(text) / 4)``."""
    return math.ceil(len(text) / 4) if text else 0


class PromptCache:
    """Which prompt prefixes are cached, until when; accounts each request's input tokens as cache
    reads, cache writes (5-minute or 1-hour) and uncached tokens."""

    def __init__(self) -> None:
        self._entries: dict[str, float] = {}
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def account(self, model: str, segments: list[Segment], min_tokens: int) -> tuple[int, int, int, int, int]:
        """Returns ``(total, cache_read, cache_creation, creation_5m, creation_1h)`` tokens."""
        tokens = [estimate_tokens(text) for _, text, _ in segments]
        total = sum(tokens)
        prefix, running = [], 0
        for t in tokens:
            running += t
            prefix.append(running)
        hasher = hashlib.sha256(model.encode())
        keys = []
        for key_text, _, _ in segments:
            hasher.update(b"\x00" + key_text.encode("utf-8", "replace"))
            keys.append(hasher.copy().hexdigest())
        breakpoints = [i for i, (_, _, cc) in enumerate(segments) if cc and prefix[i] >= min_tokens]
        if not breakpoints:
            return total, 0, 0, 0, 0
        now = time.monotonic()
        ttl_of = {i: (3600.0 if (segments[i][2] or {}).get("ttl") == "1h" else 300.0) for i in breakpoints}
        # Like the real API, each breakpoint also looks back up to 20 blocks for an earlier entry.
        candidates = sorted({p for b in breakpoints for p in range(max(0, b - 19), b + 1)}, reverse=True)
        with self._lock:
            hit = -1
            for i in candidates:
                expiry = self._entries.get(keys[i])
                if expiry is not None and expiry > now:
                    hit = i
                    break
            last = breakpoints[-1]
            read = prefix[hit] if hit >= 0 else 0
            creation = prefix[last] - read if last > hit else 0
            for i in breakpoints:
                self._entries[keys[i]] = max(self._entries.get(keys[i], 0.0), now + ttl_of[i])
        creation_1h = creation if creation and ttl_of[last] == 3600.0 else 0
        return total, read, creation, creation - creation_1h, creation_1h
