"""Alert receivers for tests and the benchmark, as real servers on 127.0.0.1.

- `Receivers`: one HTTP server standing in for a Slack incoming webhook (`/slack/<token>`), a Teams incoming
  webhook (`/teams/<token>`) and a signed JSON webhook (`/webhook`). Each checks the request the way the real
  receiver would (Block Kit shape, Adaptive Card envelope, the HMAC signature and its timestamp) and answers
  400/401 otherwise. Faults are injected per request: `fail_next(...)` queues answers (429 with Retry-After,
  5xx, a stall longer than the client's timeout), `storm` fails a share of all requests at random.
- `SmtpServer`: aiosmtpd that requires STARTTLS before anything else (or, `implicit_tls=True`, speaks TLS from
  the first byte, as on port 465) and AUTH LOGIN/PLAIN with one user over TLS, with a self-signed
  certificate made by `openssl` for 127.0.0.1 (its file is what the client trusts).
"""

from __future__ import annotations

import json
import random
import ssl
import subprocess
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from miner.alerts.webhook import DELIVERY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, verify

SLACK_TOKEN = "T000/B000/slacksecret"
TEAMS_TOKEN = "teams-workflow-secret"
WEBHOOK_SECRET = "whsec-test"
SLACK_BLOCK_TYPES = {"header", "section", "context", "actions", "divider"}


@dataclass(frozen=True)
class Fault:
    status: int = 500
    headers: tuple[tuple[str, str], ...] = ()
    stall: float = 0.0  # seconds to wait before answering (longer than the client's timeout: a timeout)


@dataclass
class Received:
    kind: str  # slack | teams | webhook
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class Receivers:
    """The HTTP receivers; use as a context manager."""

    storm: float = 0.0  # share of requests answered with a random 429 (Retry-After 0) or 5xx
    seed: int = 0
    received: list[Received] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)  # why malformed requests were refused
    requests: int = 0
    _faults: deque[Fault] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)
        receivers = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                receivers._handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def slack_url(self) -> str:
        return f"{self.url}/slack/{SLACK_TOKEN}"

    @property
    def teams_url(self) -> str:
        return f"{self.url}/teams/{TEAMS_TOKEN}"

    @property
    def webhook_url(self) -> str:
        return f"{self.url}/webhook"

    def __enter__(self) -> Receivers:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def fail_next(self, *faults: Fault) -> None:
        with self._lock:
            self._faults.extend(faults)

    def of(self, kind: str) -> list[Received]:
        return [r for r in self.received if r.kind == kind]

    # --- serving ---------------------------------------------------------------------------------
    def _fault(self) -> Fault | None:
        with self._lock:
            self.requests += 1
            if self._faults:
                return self._faults.popleft()
            if self.storm and self._random.random() < self.storm:
                return self._random.choice([Fault(429, (("Retry-After", "0"),)), Fault(500), Fault(502), Fault(503)])
        return None

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        raw = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        fault = self._fault()
        if fault is not None:
            if fault.stall:
                time.sleep(fault.stall)
            self._answer(handler, fault.status, b"injected fault", dict(fault.headers))
            return
        kind, _, rest = handler.path.strip("/").partition("/")
        headers = {k.lower(): v for k, v in handler.headers.items()}
        problem = self._check(kind, rest, headers, raw)
        if problem:
            with self._lock:
                self.rejected.append(problem)
            self._answer(handler, 401 if "signature" in problem or "token" in problem else 400, problem.encode())
            return
        with self._lock:
            self.received.append(Received(kind, headers, json.loads(raw)))
        self._answer(handler, 200, b"ok" if kind == "slack" else b"1")

    @staticmethod
    def _answer(handler: BaseHTTPRequestHandler, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        try:
            handler.send_response(status)
            for name, value in (headers or {}).items():
                handler.send_header(name, value)
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)
        except OSError:  # the client gave up (a stall longer than its timeout)
            pass

    def _check(self, kind: str, rest: str, headers: dict[str, str], raw: bytes) -> str | None:
        if not headers.get("content-type", "").startswith("application/json"):
            return "content-type is not application/json"
        try:
            body = json.loads(raw)
        except ValueError:
            return "invalid_payload: not JSON"
        if kind == "slack":
            return "invalid_token" if rest != SLACK_TOKEN else check_slack(body)
        if kind == "teams":
            return "invalid token" if rest != TEAMS_TOKEN else check_teams(body)
        if kind == "webhook":
            signature = headers.get(SIGNATURE_HEADER.lower(), "")
            stamp = headers.get(TIMESTAMP_HEADER.lower(), "")
            if not verify(WEBHOOK_SECRET, stamp, raw, signature):
                return "bad signature"
            if not headers.get(DELIVERY_HEADER.lower()):
                return "no delivery id"
            return None
        return f"no such receiver: {kind}"


def check_slack(body: Any) -> str | None:
    """Slack's rules for an incoming webhook's Block Kit message (the parts we use)."""
    if not isinstance(body, dict) or not isinstance(body.get("text"), str) or not body["text"]:
        return "no_text"
    blocks = body.get("blocks")
    if not isinstance(blocks, list) or not 0 < len(blocks) <= 50:
        return "invalid_blocks: 1-50 blocks"
    for block in blocks:
        if block.get("type") not in SLACK_BLOCK_TYPES:
            return f"invalid_blocks: unknown type {block.get('type')!r}"
        text = block.get("text")
        if block["type"] == "header" and (text or {}).get("type") != "plain_text":
            return "invalid_blocks: a header's text is plain_text"
        if text is not None and (text.get("type") not in ("plain_text", "mrkdwn") or len(text.get("text", "")) > 3000):
            return "invalid_blocks: text object"
        if "fields" in block and len(block["fields"]) > 10:
            return "invalid_blocks: more than 10 fields"
    return None


def check_teams(body: Any) -> str | None:
    """A Teams webhook's envelope: a message with one Adaptive Card attachment."""
    if not isinstance(body, dict) or body.get("type") != "message":
        return "type must be 'message'"
    attachments = body.get("attachments")
    if not isinstance(attachments, list) or len(attachments) != 1:
        return "one attachment expected"
    attachment = attachments[0]
    if attachment.get("contentType") != "application/vnd.microsoft.card.adaptive":
        return "not an Adaptive Card"
    card = attachment.get("content") or {}
    if card.get("type") != "AdaptiveCard" or not card.get("version") or not isinstance(card.get("body"), list):
        return "malformed Adaptive Card"
    return None


# --- SMTP ------------------------------------------------------------------------------------------------

SMTP_USER = "alerts@acme.example"
SMTP_PASSWORD = "smtp-password"


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, and its key (openssl, one day)."""
    cert, key = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True)
    return cert, key


class _Mailbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.envelopes: list[tuple[str, list[str]]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.messages.append(message_from_bytes(envelope.original_content or envelope.content))
        return "250 Message accepted for delivery"


def _authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login.decode(), auth_data.password.decode()) == (
        SMTP_USER, SMTP_PASSWORD)
    return AuthResult(success=ok, handled=False)  # not handled: aiosmtpd answers 235 or 535 itself


def _authenticator_over_tls(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    # aiosmtpd's auth_require_tls only knows STARTTLS; on an implicit-TLS port the transport itself is TLS
    if server.transport.get_extra_info("ssl_object") is None:
        return AuthResult(success=False, handled=False)
    return _authenticator(server, session, envelope, mechanism, auth_data)


class SmtpServer:
    """aiosmtpd on a free port: STARTTLS required, then AUTH; or with `implicit_tls`, TLS from the start
    (SMTPS, no STARTTLS offered), then AUTH."""

    def __init__(self, folder: Path, *, implicit_tls: bool = False) -> None:
        self.cert, key = self_signed(folder)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, key)
        self.mailbox = _Mailbox()
        from tests.servers import free_port

        self.port = free_port()
        if implicit_tls:
            self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port, ssl_context=context,
                                         auth_required=True, auth_require_tls=False,
                                         authenticator=_authenticator_over_tls)
        else:
            self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port, tls_context=context,
                                         require_starttls=True, auth_required=True, auth_require_tls=True,
                                         authenticator=_authenticator)

    @property
    def messages(self) -> list[Message]:
        return self.mailbox.messages

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


def parts(message: Message) -> Iterator[tuple[str, str]]:
    """(content type, decoded text) of each leaf part."""
    for part in message.walk():
        if not part.is_multipart():
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            yield part.get_content_type(), payload.decode(part.get_content_charset() or "utf-8")
