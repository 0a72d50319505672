"""Replays recorded Zendesk responses (tests/fixtures/zendesk) from a local HTTP server.

Requests are matched on method, path and the query parameters that select data (cursor,
start_time, page[after]); paging sizes and sideload parameters are ignored so the production client
can ask with its own `per_page`.
"""

from __future__ import annotations

import gzip
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

SELECTING = ("cursor", "start_time", "page[after]")


def _key(method: str, path: str, query: str) -> tuple[str, str, tuple[tuple[str, str], ...]]:
    params = parse_qs(query, keep_blank_values=True)
    picked = tuple(sorted((k, v[-1]) for k, v in params.items() if k in SELECTING))
    return method, path, picked


def load_recording(path: Path) -> Any:
    """A recording as JSON: a list of {request, response} entries (or one); `.gz` files are gunzipped."""
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    return json.loads(raw)


class ReplayZendesk:
    def __init__(self, recording: Path) -> None:
        data = load_recording(recording)
        self.entries = data if isinstance(data, list) else [data]
        self.table: dict[Any, dict[str, Any]] = {}
        for entry in self.entries:
            req = entry["request"]
            self.table.setdefault(_key(req["method"], req["path"], req["query"]), entry)
        self.misses: list[str] = []
        self.seen: list[dict[str, str]] = []  # query parameters of every request, in order
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> ReplayZendesk:
        replay = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                split = urlsplit(self.path)
                replay.seen.append({k: v[-1] for k, v in parse_qs(split.query).items()})
                entry = replay.table.get(_key("GET", split.path, split.query))
                if entry is None:
                    replay.misses.append(self.path)
                    body, status, headers = b'{"error":"not recorded"}', 404, {}
                else:
                    body = json.dumps(entry["body"]).encode()
                    status, headers = entry["status"], entry.get("headers", {})
                self.send_response(status)
                for name, value in headers.items():
                    if name.lower() != "content-length":
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()
