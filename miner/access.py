"""Who may use the dashboard and the REST API, decided in one place (README "Access").

Browsers sign in with single sign-on (`[auth]`), a shared password, or - only where the operator allows
it and the server listens on a loopback address - nothing at all, as "local access". Local access is
judged conservatively: a request is local only when it reached the server directly from this machine
(loopback TCP peer, a loopback `Host`, a loopback `Origin` when the browser sends one, and no
forwarding header). The TCP peer alone proves nothing: a same-host forwarder (ssh -L, socat, stunnel, a
reverse proxy) makes every remote browser look like 127.0.0.1.

This module is pure logic; the Streamlit gate (`pages/ui/access.py`) and the REST API (`miner/api.py`)
feed it what they know about a request.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import urlsplit

from miner.config import Settings

# Headers a proxy or forwarder adds. Any of them means "not straight from this machine", whatever the
# address it names: a client can put `X-Forwarded-For: 127.0.0.1` in its own request.
FORWARDING_HEADERS = (
    "forwarded", "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "x-forwarded-port",
    "x-forwarded-server", "x-real-ip", "via", "true-client-ip", "cf-connecting-ip", "x-client-ip",
    "x-cluster-client-ip", "fastly-client-ip", "x-original-forwarded-for",
)  # fmt: skip
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})


class Mode(StrEnum):
    """How browsers get in."""

    SSO = "sso"  # Streamlit's OIDC login ([auth] in secrets.toml)
    PASSWORD = "password"  # MINER_DASHBOARD_PASSWORD
    LOCAL = "local"  # no sign-in, browsers on this machine only
    CLOSED = "closed"  # nothing configured that lets anyone in


def is_loopback_address(value: str | None) -> bool:
    if not value:
        return False
    try:
        address = ipaddress.ip_address(value.strip("[]").split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def is_loopback_host(value: str | None) -> bool:
    """A Host header or URL netloc naming this machine: `localhost:8501`, `127.0.0.1`, `[::1]:8501`."""
    if not value:
        return False
    host = urlsplit(f"//{value.strip()}").hostname
    if host is None:
        return False
    return host.lower().rstrip(".") in LOOPBACK_NAMES or is_loopback_address(host)


def why_not_direct_local(peer: str | None, headers: Mapping[str, str]) -> str | None:
    """None when the request came straight from this machine, else the reason it did not.

    `headers` must have lower-case names. `peer` is the TCP peer address.
    """
    if not is_loopback_address(peer):
        return f"the connection comes from {peer or 'an unknown address'}, not from this machine"
    forwarded = [name for name in FORWARDING_HEADERS if name in headers]
    if forwarded:
        return f"it came through a proxy ({forwarded[0]} header)"
    if not is_loopback_host(headers.get("host")):
        return f"it was addressed to {headers.get('host') or 'no host'}, not to this machine's loopback address"
    origin = headers.get("origin")
    if origin and origin != "null" and not is_loopback_host(urlsplit(origin).netloc):
        return f"it was sent by a page from {origin}"
    return None


@dataclass(frozen=True)
class AccessPolicy:
    """What this server allows; built once from the settings and what Streamlit was started with."""

    sso: bool
    password: bool
    local_setting: bool | None  # MINER_LOCAL_ACCESS; None = automatic
    nothing_to_protect: bool  # demo data and no credential of any kind
    bind_address: str | None  # Streamlit's server.address ("" or None = every interface)

    @classmethod
    def from_settings(cls, settings: Settings, *, sso: bool, bind_address: str | None) -> AccessPolicy:
        return cls(
            sso=sso,
            password=settings.dashboard_password is not None,
            local_setting=settings.local_access,
            nothing_to_protect=settings.effective_source == "demo" and settings.anthropic_api_key is None,
            bind_address=bind_address,
        )

    @property
    def loopback_bind(self) -> bool:
        return bool(self.bind_address) and (
            is_loopback_address(self.bind_address) or (self.bind_address or "").lower() in LOOPBACK_NAMES
        )

    @property
    def local_allowed(self) -> bool:
        """Explicitly (MINER_LOCAL_ACCESS=true) or automatically (demo data, no credentials)."""
        wanted = self.nothing_to_protect if self.local_setting is None else self.local_setting
        return wanted and self.loopback_bind

    @property
    def mode(self) -> Mode:
        if self.sso:
            return Mode.SSO
        if self.password:
            return Mode.PASSWORD
        return Mode.LOCAL if self.local_allowed else Mode.CLOSED

    def closed_reason(self) -> str:
        """Why nobody can get in (Mode.CLOSED), in words an operator can act on."""
        if self.local_setting is True and not self.loopback_bind:
            return (f"MINER_LOCAL_ACCESS=true only works while the server listens on a loopback address, "
                    f"but server.address is {self.bind_address or 'unset (every interface)'}.")
        if self.local_setting is False:
            return "MINER_LOCAL_ACCESS=false and no sign-in is configured."
        if not self.nothing_to_protect:
            return "Credentials are configured (Zendesk or Claude) but no sign-in is."
        return (f"No sign-in is configured and the server listens on "
                f"{self.bind_address or 'every interface'}, not only on this machine.")

    def local_request_refusal(self, peer: str | None, headers: Mapping[str, str]) -> str | None:
        """In Mode.LOCAL: None when this request may come in, else why not."""
        return why_not_direct_local(peer, headers)


# --- password attempts ----------------------------------------------------------------------------


@dataclass
class LoginThrottle:
    """Slows password guessing: per client, free attempts then a doubling wait; and a global cap.

    Lives on the process-wide app, so it holds across browser sessions (a new session is cheap).
    """

    free_attempts: int = 5
    max_wait: float = 900.0
    global_limit: int = 50  # failures from everyone within `global_window` before all attempts wait
    global_window: float = 600.0
    clock: Callable[[], float] = time.monotonic
    _failures: dict[str, tuple[int, float]] = field(default_factory=dict)  # key -> (count, last failure)
    _recent: deque[float] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_seconds(self, key: str) -> float:
        """How long `key` must wait before its next attempt (0 = may try now)."""
        now = self.clock()
        with self._lock:
            while self._recent and self._recent[0] < now - self.global_window:
                self._recent.popleft()
            waits = [0.0]
            if len(self._recent) >= self.global_limit:
                waits.append(self._recent[0] + self.global_window - now)
            count, last = self._failures.get(key, (0, 0.0))
            if count >= self.free_attempts:
                delay = min(self.max_wait, 2.0 ** (count - self.free_attempts + 1))
                waits.append(last + delay - now)
            return max(waits)

    def failed(self, key: str) -> None:
        now = self.clock()
        with self._lock:
            count, _ = self._failures.get(key, (0, 0.0))
            self._failures[key] = (count + 1, now)
            self._recent.append(now)
            if len(self._failures) > 10_000:  # a flood of distinct clients: forget the oldest
                oldest = min(self._failures, key=lambda k: self._failures[k][1])
                del self._failures[oldest]

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)
