"""The demo tracker: a local HTTP server speaking the Jira Cloud REST API v3 and the GitHub REST API.

Demo mode uses it as the Jira a new user sees without credentials: seeded with a few issues about the
demo dataset's problems (the fix of the fading one resolved on the day the dataset's fix went out), it
takes any credentials. It is also the test double: it checks credentials when given some, checks every
request's shape (required fields, an Atlassian Document Format description, GitHub's body fields), keeps
issues in memory, lets a test resolve, reopen, move or delete one, and injects faults (429/503 with
Retry-After, 5xx, malformed JSON, a held request that times the client out, a dropped connection).

Jira: POST /rest/api/3/issue, GET /rest/api/3/issue/{key}, GET /rest/api/3/myself, GET /browse/{key}.
GitHub (at the same address, as its API URL): POST /repos/{owner}/{repo}/issues,
GET /repos/{owner}/{repo}/issues/{number}, GET /repos/{owner}/{repo}, GET /{owner}/{repo}/issues/{number}.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import logging
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

log = logging.getLogger(__name__)

DEMO_PROJECT_KEY = "SW"
DEMO_ISSUE_TYPE = "Bug"
DEMO_REPOSITORY = "shiftwise/shiftwise-app"
DEMO_FIXED_KEY = f"{DEMO_PROJECT_KEY}-101"  # the seeded issue whose fix went out mid-period (the fading one)
GITHUB_API_VERSIONS = frozenset({"2022-11-28", "2026-03-10"})
GITHUB_DOCS = "https://docs.github.com/rest"
ADF_ERROR = "Operation value must be an Atlassian Document (see the Atlassian Document Format)"
# status name -> (statusCategory key, category name, colour, category id, status id)
JIRA_STATUSES: dict[str, tuple[str, str, str, int, str]] = {
    "To Do": ("new", "To Do", "blue-gray", 2, "10000"),
    "In Progress": ("indeterminate", "In Progress", "yellow", 4, "3"),
    "In Review": ("indeterminate", "In Progress", "yellow", 4, "10001"),
    "Done": ("done", "Done", "green", 3, "10002"),
    "Won't Do": ("done", "Done", "green", 3, "10003"),
}
JIRA_CREATE_FIELDS = frozenset({"project", "issuetype", "summary", "description", "labels"})
GITHUB_CREATE_FIELDS = frozenset({"title", "body", "assignee", "milestone", "labels", "assignees", "type"})


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # names in lower case
    body: Any  # parsed JSON, the text if it is not JSON, None without a body
    at: float


@dataclass
class JiraIssue:
    id: int
    key: str
    project: str
    issue_type: str
    summary: str
    description: dict[str, Any] | None
    status: str
    created: datetime
    updated: datetime
    resolutiondate: datetime | None = None
    labels: list[str] = field(default_factory=list)


@dataclass
class GitHubIssue:
    id: int
    repository: str
    number: int
    title: str
    body: str | None
    state: str  # open | closed
    state_reason: str | None
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None = None
    labels: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.repository}#{self.number}"


# --- faults ----------------------------------------------------------------------------------------


@dataclass
class _Fault:
    kind: str  # status | respond | malformed | stall | reset
    status: int = 500
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    paths: tuple[str, ...] = ()  # path prefixes; empty = any
    methods: tuple[str, ...] = ()  # empty = any

    def matches(self, method: str, path: str) -> bool:
        return ((not self.methods or method in self.methods)
                and (not self.paths or any(path.startswith(p) for p in self.paths)))


class TrackerFaults:
    """Queued misbehaviour: each fault answers one matching request, in order."""

    def __init__(self) -> None:
        self._queue: deque[_Fault] = deque()
        self._lock = threading.Lock()
        self._released = threading.Event()
        self.held = 0  # requests held by stall() right now

    def rate_limit(self, n: int = 1, *, retry_after: str | None = "1", status: int = 429,
                   headers: dict[str, str] | None = None, paths: tuple[str, ...] = (),
                   methods: tuple[str, ...] = ()) -> None:
        """The next `n` requests get 429 (or 503) with this Retry-After (None: no header)."""
        extra = dict(headers or {})
        if retry_after is not None:
            extra["Retry-After"] = retry_after
        self._push(n, _Fault("status", status, extra, paths=paths, methods=methods))

    def server_error(self, n: int = 1, status: int = 500, *, paths: tuple[str, ...] = (),
                     methods: tuple[str, ...] = ()) -> None:
        self._push(n, _Fault("status", status, paths=paths, methods=methods))

    def respond(self, n: int, status: int, body: Any, *, headers: dict[str, str] | None = None,
                paths: tuple[str, ...] = (), methods: tuple[str, ...] = ()) -> None:
        """The next `n` requests get exactly this answer (JSON-encoded unless `body` is bytes or str)."""
        self._push(n, _Fault("respond", status, dict(headers or {}), body, paths, methods))

    def malformed(self, n: int = 1, *, paths: tuple[str, ...] = (), methods: tuple[str, ...] = ()) -> None:
        """The next `n` requests get a 200 whose JSON is cut off half-way."""
        self._push(n, _Fault("malformed", 200, paths=paths, methods=methods))

    def stall(self, n: int = 1, *, paths: tuple[str, ...] = (), methods: tuple[str, ...] = ()) -> None:
        """The next `n` requests are held without an answer until `release()` (or the server stops), so the
        client times out; they are then dropped unprocessed."""
        if self._released.is_set():
            self._released = threading.Event()
        self._push(n, _Fault("stall", paths=paths, methods=methods))

    def reset(self, n: int = 1, *, paths: tuple[str, ...] = (), methods: tuple[str, ...] = ()) -> None:
        """The next `n` requests have their connection closed without an answer."""
        self._push(n, _Fault("reset", paths=paths, methods=methods))

    def release(self) -> None:
        self._released.set()

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()
        self.release()

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    def take(self, method: str, path: str) -> _Fault | None:
        with self._lock:
            if self._queue and self._queue[0].matches(method, path):
                return self._queue.popleft()
        return None

    def hold(self) -> None:
        self.held += 1
        try:
            self._released.wait(300)
        finally:
            self.held -= 1

    def _push(self, n: int, fault: _Fault) -> None:
        with self._lock:
            self._queue.extend([fault] * n)


Answer = tuple[int, dict[str, str], bytes]


class DemoTracker:
    """Jira Cloud and GitHub on 127.0.0.1 in a background thread.

    `jira_credentials` (e-mail, API token) and `github_token`: None accepts any credentials or none (the
    demo). `projects` maps a Jira project key to its issue types; `repositories` lists GitHub repositories.
    `seed=True` adds the demo's issues (relative to `now`).

    >>> with DemoTracker(seed=True) as tracker:
    ...     httpx.get(tracker.url + "/rest/api/3/issue/SW-101")
    """

    def __init__(self, *, jira_credentials: tuple[str, str] | None = None, github_token: str | None = None,
                 projects: dict[str, tuple[str, ...]] | None = None, repositories: tuple[str, ...] | None = None,
                 seed: bool = False, now: datetime | None = None, clock: Any = time.time,
                 host: str = "127.0.0.1", port: int = 0) -> None:
        self.jira_credentials = jira_credentials
        self.github_token = github_token
        self.projects = dict(projects or {DEMO_PROJECT_KEY: (DEMO_ISSUE_TYPE, "Task", "Story")})
        self.repositories: dict[str, bool] = {r: True for r in (repositories or (DEMO_REPOSITORY,))}  # -> has issues
        self.clock = clock
        self.lock = threading.RLock()
        self.faults = TrackerFaults()
        self.requests: list[RecordedRequest] = []
        self.rejections: list[str] = []  # why requests were refused (400/415/422): what a test looks at
        self.jira_forbidden = False  # 403 to creating Jira issues (no "Create issues" permission)
        self.github_read_only = False  # 403 to creating GitHub issues (a token that may only read)
        self.jira_issues: dict[str, JiraIssue] = {}
        self.jira_moved: dict[str, str] = {}  # old key -> new key (Jira still answers to the old one)
        self.github_issues: dict[tuple[str, int], GitHubIssue] = {}
        self._next_jira_id = 10_000
        self._next_number: dict[str, int] = {}
        self._host, self._port = host, port
        self._server: ThreadingHTTPServer | None = None
        if seed:
            self.seed(now or self.now())

    # --- lifecycle ----------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the demo tracker is not running; call start() first")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> DemoTracker:
        handler = type("Handler", (_Handler,), {"tracker": self})
        self._server = ThreadingHTTPServer((self._host, self._port), handler)
        self._server.daemon_threads = True
        # a short poll: stop() returns within 50 ms (tests start and stop one per test)
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="demo-tracker",
                         daemon=True).start()
        log.info("demo tracker (Jira, GitHub) at %s", self.url)
        return self

    def stop(self) -> None:
        self.faults.release()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> DemoTracker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def now(self) -> datetime:
        return datetime.fromtimestamp(int(self.clock()), UTC)

    # --- content ------------------------------------------------------------------------------------
    def seed(self, now: datetime) -> None:
        """The demo's issues: the demo dataset's fixed problem (resolved when its fix went out), the
        emerging one being worked on, and two more in the backlog."""
        from miner.demo import catalogue
        from miner.demo.dataset import FADING_FIX_DAYS

        by_pattern = {spec.pattern: spec for spec in catalogue.ISSUES if spec.pattern != "steady"}
        steady = [spec for spec in catalogue.ISSUES if spec.pattern == "steady"]
        self._next_number.setdefault(DEMO_PROJECT_KEY, 100)
        if "fading" in by_pattern:
            fixed_at = (now - timedelta(days=FADING_FIX_DAYS)).replace(hour=15, minute=30, second=0, microsecond=0)
            key = self.add_jira_issue(by_pattern["fading"].title, created=fixed_at - timedelta(days=12),
                                      status="Done", resolutiondate=fixed_at)
            assert key == DEMO_FIXED_KEY, key  # demo mode links the fading cluster to this key
        if "emerging" in by_pattern:
            self.add_jira_issue(by_pattern["emerging"].title, created=now - timedelta(days=4), status="In Progress")
        for spec in steady[:2]:
            self.add_jira_issue(spec.title, created=now - timedelta(days=30), status="To Do")

    def add_jira_issue(self, summary: str, *, project: str = DEMO_PROJECT_KEY, issue_type: str = DEMO_ISSUE_TYPE,
                       description: dict[str, Any] | None = None, status: str = "To Do",
                       created: datetime | None = None, resolutiondate: datetime | None = None) -> str:
        with self.lock:
            number = self._next_number.get(project, 0) + 1
            self._next_number[project] = number
            self._next_jira_id += 1
            created = created or self.now()
            issue = JiraIssue(self._next_jira_id, f"{project}-{number}", project, issue_type, summary, description,
                              status, created, resolutiondate or created, resolutiondate)
            self.jira_issues[issue.key] = issue
            return issue.key

    def add_github_issue(self, title: str, *, repository: str = DEMO_REPOSITORY, body: str | None = None,
                         created: datetime | None = None) -> str:
        with self.lock:
            number = self._next_number.get(repository, 0) + 1
            self._next_number[repository] = number
            created = created or self.now()
            issue = GitHubIssue(2_000_000_000 + len(self.github_issues), repository, number, title, body, "open",
                                None, created, created)
            self.github_issues[(repository, number)] = issue
            return issue.key

    def jira_issue(self, key: str) -> JiraIssue:
        with self.lock:
            return self.jira_issues[self.jira_moved.get(key, key)]

    def github_issue(self, key: str) -> GitHubIssue:
        repository, _, number = key.partition("#")
        with self.lock:
            return self.github_issues[(repository, int(number))]

    # --- what happens in the tracker (for tests and the demo) ----------------------------------------
    def resolve_jira(self, key: str, *, at: datetime | None = None, status: str = "Done",
                     with_resolution: bool = True) -> None:
        """Move the issue to a done status; `with_resolution=False`: a workflow that sets no resolution."""
        with self.lock:
            issue = self.jira_issue(key)
            at = at or self.now()
            issue.status, issue.updated = status, at
            issue.resolutiondate = at if with_resolution else None

    def set_jira_status(self, key: str, status: str) -> None:
        with self.lock:
            issue = self.jira_issue(key)
            issue.status, issue.updated = status, self.now()
            if JIRA_STATUSES[status][0] != "done":
                issue.resolutiondate = None

    def reopen_jira(self, key: str) -> None:
        self.set_jira_status(key, "To Do")

    def move_jira(self, key: str, project: str) -> str:
        """Move the issue to another project: a new key; the old one still finds it."""
        with self.lock:
            issue = self.jira_issues.pop(key)
            number = self._next_number.get(project, 0) + 1
            self._next_number[project] = number
            issue.key, issue.project = f"{project}-{number}", project
            self.jira_issues[issue.key] = issue
            self.jira_moved[key] = issue.key
            return issue.key

    def delete_jira(self, key: str) -> None:
        with self.lock:
            self.jira_issues.pop(key)

    def close_github(self, key: str, *, reason: str = "completed", at: datetime | None = None) -> None:
        with self.lock:
            issue = self.github_issue(key)
            at = at or self.now()
            issue.state, issue.state_reason, issue.closed_at, issue.updated_at = "closed", reason, at, at

    def reopen_github(self, key: str) -> None:
        with self.lock:
            issue = self.github_issue(key)
            issue.state, issue.state_reason, issue.closed_at, issue.updated_at = "open", "reopened", None, self.now()

    def delete_github(self, key: str) -> None:
        repository, _, number = key.partition("#")
        with self.lock:
            self.github_issues.pop((repository, int(number)))

    # --- request handling ---------------------------------------------------------------------------
    def handle(self, method: str, path: str, query: dict[str, str], headers: dict[str, str],
               raw: bytes, body: Any) -> Answer:
        parts = [unquote(p) for p in path.strip("/").split("/")]
        if path.startswith("/rest/api/3/"):
            return self._jira(method, parts[3:], query, headers, raw, body)
        if parts[0] == "browse" and len(parts) == 2 and method == "GET":
            return self._jira_page(parts[1])
        if parts[0] == "repos":
            return self._github(method, parts[1:], headers, raw, body)
        if len(parts) == 4 and parts[2] == "issues" and method == "GET":
            return self._github_page(f"{parts[0]}/{parts[1]}", parts[3])
        return _json(404, {"message": "Not Found"})

    # Jira ---------------------------------------------------------------------------------------------
    def _jira(self, method: str, parts: list[str], query: dict[str, str], headers: dict[str, str], raw: bytes,
              body: Any) -> Answer:
        if not self._jira_authorised(headers.get("authorization", "")):
            return 401, {"Content-Type": "text/plain;charset=UTF-8"}, b"Client must be authenticated to access this resource."
        if parts == ["myself"] and method == "GET":
            email = self.jira_credentials[0] if self.jira_credentials else "demo@shiftwise.example"
            return _json(200, {"self": f"{self.url}/rest/api/3/user?accountId=demo", "accountId": "712020:demo",
                               "accountType": "atlassian", "emailAddress": email, "displayName": "Demo Admin",
                               "active": True, "timeZone": "UTC", "locale": "en_US"})
        if parts == ["issue"] and method == "POST":
            return self._jira_create(headers, raw, body)
        if len(parts) == 2 and parts[0] == "issue" and method == "GET":
            with self.lock:
                key = parts[1].upper()
                key = self.jira_moved.get(key, key)
                issue = self.jira_issues.get(key) or next(
                    (i for i in self.jira_issues.values() if str(i.id) == parts[1]), None)
                if issue is None:
                    return _json(404, {"errorMessages": ["Issue does not exist or you do not have permission to see it."],
                                       "errors": {}})
                return _json(200, self._jira_json(issue, query.get("fields")))
        return _json(404, {"errorMessages": ["null for uri: " + "/".join(parts)], "errors": {}})

    def _jira_authorised(self, header: str) -> bool:
        if self.jira_credentials is None:
            return True
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            given = base64.b64decode(value.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return False
        return given == f"{self.jira_credentials[0]}:{self.jira_credentials[1]}"

    def _jira_create(self, headers: dict[str, str], raw: bytes, body: Any) -> Answer:
        if not headers.get("content-type", "").startswith("application/json"):
            self.rejections.append("Content-Type is not application/json")
            return 415, {"Content-Type": "text/plain"}, b"Unsupported Media Type"
        if not isinstance(body, dict) or not isinstance(body.get("fields"), dict):
            reason = "the body is not JSON" if body is None and raw else "the body has no \"fields\" object"
            self.rejections.append(reason)
            return _json(400, {"errorMessages": ["Can not deserialize the request body: " + reason], "errors": {}})
        fields: dict[str, Any] = body["fields"]
        errors: dict[str, str] = {}
        project = _ref(fields.get("project"), "key")
        with self.lock:
            project_key = next((k for k in self.projects if project in (k, str(_project_id(k)))), None)
        if project_key is None:
            errors["project"] = "Specify a valid project ID or key"
        issue_type = _ref(fields.get("issuetype"), "name")
        if "issuetype" not in fields:
            errors["issuetype"] = "Specify an issue type"
        elif project_key is not None and issue_type not in self.projects[project_key]:
            errors["issuetype"] = "Specify a valid issue type"
        summary = fields.get("summary")
        if not isinstance(summary, str) or not summary.strip():
            errors["summary"] = "You must specify a summary of the issue."
        elif "\n" in summary or "\r" in summary:
            errors["summary"] = "The summary is invalid because it contains newline characters."
        elif len(summary) > 255:
            errors["summary"] = "Summary must be less than 255 characters."
        description = fields.get("description")
        if description is not None:
            problem = adf_problem(description)
            if problem is not None:
                errors["description"] = ADF_ERROR
                self.rejections.append(f"description: {problem}")
        labels = fields.get("labels", [])
        if not isinstance(labels, list) or not all(isinstance(x, str) and x and " " not in x for x in labels):
            errors["labels"] = "The label must not contain spaces."
        for name in fields:
            if name not in JIRA_CREATE_FIELDS:
                errors[name] = f"Field '{name}' cannot be set. It is not on the appropriate screen, or unknown."
        if errors:
            self.rejections.extend(f"{k}: {v}" for k, v in errors.items() if k != "description")
            return _json(400, {"errorMessages": [], "errors": errors})
        if self.jira_forbidden:
            return _json(403, {"errorMessages": ["You do not have permission to create issues in this project."],
                               "errors": {}})
        assert project_key is not None and isinstance(summary, str)
        key = self.add_jira_issue(summary, project=project_key, issue_type=str(issue_type), description=description)
        issue = self.jira_issue(key)
        return _json(201, {"id": str(issue.id), "key": key, "self": f"{self.url}/rest/api/3/issue/{issue.id}"})

    def _jira_json(self, issue: JiraIssue, wanted: str | None) -> dict[str, Any]:
        category, category_name, colour, category_id, status_id = JIRA_STATUSES[issue.status]
        done = category == "done"
        every: dict[str, Any] = {
            "summary": issue.summary,
            "status": {"self": f"{self.url}/rest/api/3/status/{status_id}", "description": "",
                       "iconUrl": f"{self.url}/images/icons/statuses/generic.png", "name": issue.status,
                       "id": status_id,
                       "statusCategory": {"self": f"{self.url}/rest/api/3/statuscategory/{category_id}",
                                          "id": category_id, "key": category, "colorName": colour,
                                          "name": category_name}},
            "resolutiondate": _jira_time(issue.resolutiondate),
            "resolution": ({"self": f"{self.url}/rest/api/3/resolution/10000", "id": "10000",
                            "description": "Work has been completed on this issue.", "name": "Done"}
                           if done and issue.resolutiondate else None),
            "created": _jira_time(issue.created),
            "updated": _jira_time(issue.updated),
            "issuetype": {"self": f"{self.url}/rest/api/3/issuetype/10004", "id": "10004", "name": issue.issue_type,
                          "subtask": False},
            "project": {"self": f"{self.url}/rest/api/3/project/{_project_id(issue.project)}",
                        "id": str(_project_id(issue.project)), "key": issue.project, "name": issue.project},
            "description": issue.description,
            "labels": list(issue.labels),
        }
        names = [n.strip() for n in (wanted or "*all").split(",") if n.strip()]
        fields = every if any(n in ("*all", "*navigable") for n in names) else {
            n: every[n] for n in names if n in every}
        return {"expand": "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
                "id": str(issue.id), "self": f"{self.url}/rest/api/3/issue/{issue.id}", "key": issue.key,
                "fields": fields}

    def _jira_page(self, key: str) -> Answer:
        with self.lock:
            issue = self.jira_issues.get(self.jira_moved.get(key.upper(), key.upper()))
            if issue is None:
                return _page(404, "Issue not found", "<p>This issue does not exist.</p>")
            text = adf_text(issue.description) if issue.description else ""
            return _page(200, f"{issue.key}: {issue.summary}",
                         f"<p>Status: <strong>{html.escape(issue.status)}</strong></p>"
                         f"<pre>{html.escape(text)}</pre>")

    # GitHub -------------------------------------------------------------------------------------------
    def _github(self, method: str, parts: list[str], headers: dict[str, str], raw: bytes, body: Any) -> Answer:
        version = headers.get("x-github-api-version")
        if version is not None and version not in GITHUB_API_VERSIONS:
            self.rejections.append(f"X-GitHub-Api-Version {version}")
            return _gh_error(400, f"Unsupported 'X-GitHub-Api-Version' header value: {version}")
        if not self._github_authorised(headers.get("authorization", "")):
            return _gh_error(401, "Bad credentials")
        if len(parts) < 2:
            return _gh_error(404, "Not Found")
        repository = f"{parts[0]}/{parts[1]}"
        with self.lock:
            has_issues = self.repositories.get(repository)
        if has_issues is None:
            return _gh_error(404, "Not Found")
        rest = parts[2:]
        if not rest and method == "GET":
            owner, name = repository.split("/")
            return _json(200, {"id": _project_id(repository), "name": name, "full_name": repository,
                               "owner": {"login": owner}, "private": True, "html_url": f"{self.url}/{repository}",
                               "has_issues": has_issues,
                               "permissions": {"admin": False, "push": not self.github_read_only, "pull": True}})
        if rest == ["issues"] and method == "POST":
            if not has_issues:
                return _gh_error(410, "Issues are disabled for this repo")
            return self._github_create(repository, raw, body)
        if len(rest) == 2 and rest[0] == "issues" and method == "GET" and rest[1].isdigit():
            with self.lock:
                issue = self.github_issues.get((repository, int(rest[1])))
                if issue is None:
                    return _gh_error(404, "Not Found")
                return _json(200, self._github_json(issue))
        return _gh_error(404, "Not Found")

    def _github_authorised(self, header: str) -> bool:
        if self.github_token is None:
            return True
        scheme, _, value = header.partition(" ")
        return scheme.lower() in ("bearer", "token") and value.strip() == self.github_token

    def _github_create(self, repository: str, raw: bytes, body: Any) -> Answer:
        if not isinstance(body, dict):
            self.rejections.append("the body is not a JSON object")
            return _gh_error(400, "Problems parsing JSON")
        for name in body:
            if name not in GITHUB_CREATE_FIELDS:
                self.rejections.append(f"{name} is not a permitted key")
                return _gh_error(422, f"Invalid request.\n\n\"{name}\" is not a permitted key.")
        title, text = body.get("title"), body.get("body")
        if "title" not in body:
            self.rejections.append("no title")
            return _gh_error(422, "Invalid request.\n\n\"title\" wasn't supplied.")
        if not isinstance(title, str | int) or isinstance(title, bool):
            self.rejections.append("title is not a string")
            return _gh_error(422, f"Invalid request.\n\nFor 'properties/title', {json.dumps(title)} is not a string "
                                  "or integer.")
        if text is not None and not isinstance(text, str):
            self.rejections.append("body is not a string")
            return _gh_error(422, f"Invalid request.\n\nFor 'properties/body', {json.dumps(text)} is not a string "
                                  "or null.")
        problems = []
        if not str(title).strip():
            problems.append({"resource": "Issue", "code": "missing_field", "field": "title"})
        elif len(str(title)) > 256:
            problems.append({"resource": "Issue", "code": "custom", "field": "title",
                             "message": "title is too long (maximum is 256 characters)"})
        if text is not None and len(text) > 65_536:
            problems.append({"resource": "Issue", "code": "custom", "field": "body",
                             "message": "body is too long (maximum is 65536 characters)"})
        if problems:
            self.rejections.extend(str(p) for p in problems)
            return _json(422, {"message": "Validation Failed", "errors": problems,
                               "documentation_url": f"{GITHUB_DOCS}/issues/issues#create-an-issue", "status": "422"})
        if self.github_read_only:
            return _gh_error(403, "Resource not accessible by personal access token")
        key = self.add_github_issue(str(title), repository=repository, body=text)
        issue = self.github_issue(key)
        status, headers, payload = _json(201, self._github_json(issue))
        headers["Location"] = f"{self.url}/repos/{repository}/issues/{issue.number}"
        return status, headers, payload

    def _github_json(self, issue: GitHubIssue) -> dict[str, Any]:
        api = f"{self.url}/repos/{issue.repository}"
        return {
            "url": f"{api}/issues/{issue.number}", "repository_url": api,
            "labels_url": f"{api}/issues/{issue.number}/labels{{/name}}",
            "comments_url": f"{api}/issues/{issue.number}/comments",
            "events_url": f"{api}/issues/{issue.number}/events",
            "html_url": f"{self.url}/{issue.repository}/issues/{issue.number}",
            "id": issue.id, "node_id": f"I_kwDO{issue.id}", "number": issue.number, "title": issue.title,
            "user": {"login": "miner-bot", "id": 1, "type": "User"}, "labels": [], "state": issue.state,
            "locked": False, "assignee": None, "assignees": [], "milestone": None, "comments": 0,
            "created_at": _github_time(issue.created_at), "updated_at": _github_time(issue.updated_at),
            "closed_at": _github_time(issue.closed_at), "author_association": "MEMBER", "active_lock_reason": None,
            "body": issue.body, "closed_by": {"login": "developer", "id": 2} if issue.state == "closed" else None,
            "state_reason": issue.state_reason,
        }

    def _github_page(self, repository: str, number: str) -> Answer:
        with self.lock:
            issue = self.github_issues.get((repository, int(number))) if number.isdigit() else None
            if issue is None:
                return _page(404, "Not found", "<p>This issue does not exist.</p>")
            return _page(200, f"{issue.title} · {repository}#{issue.number}",
                         f"<p>State: <strong>{html.escape(issue.state)}</strong></p>"
                         f"<pre>{html.escape(issue.body or '')}</pre>")


class _Handler(BaseHTTPRequestHandler):
    tracker: DemoTracker
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def _serve(self, method: str) -> None:
        tracker = self.tracker
        split = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        headers = {k.lower(): v for k, v in self.headers.items()}
        raw = self.rfile.read(int(headers.get("content-length") or 0))
        try:
            body: Any = json.loads(raw) if raw else None
        except (ValueError, UnicodeDecodeError):
            body = raw.decode("utf-8", "replace")
        tracker.requests.append(RecordedRequest(method, split.path, query, headers, body, tracker.clock()))
        fault = tracker.faults.take(method, split.path)
        if fault is not None and fault.kind == "stall":
            tracker.faults.hold()
            fault = _Fault("reset")
        if fault is not None and fault.kind == "reset":
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.close_connection = True
            return
        if fault is not None and fault.kind == "status":
            status, extra, payload = _json(fault.status, {"message": "Demo fault", "errorMessages": ["Demo fault"]},
                                           fault.headers)
        elif fault is not None and fault.kind == "respond":
            content = fault.body if isinstance(fault.body, bytes) else (
                fault.body.encode() if isinstance(fault.body, str) else json.dumps(fault.body).encode())
            status, extra, payload = fault.status, {"Content-Type": "application/json", **fault.headers}, content
        elif fault is not None and fault.kind == "malformed":
            answer = tracker.handle(method, split.path, query, headers, raw, body)
            status, extra, payload = 200, answer[1], answer[2][: max(1, len(answer[2]) // 2)]
        else:
            status, extra, payload = tracker.handle(method, split.path, query, headers, raw, body)
        try:
            self.send_response(status)
            self.send_header("Content-Type", extra.pop("Content-Type", "application/json;charset=UTF-8"))
            self.send_header("Content-Length", str(len(payload)))
            for name, value in extra.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except OSError:  # the client gave up (a held request)
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("demo tracker: " + format, *args)


# --- Atlassian Document Format ------------------------------------------------------------------------

_MARKS = {"strong", "em", "code", "strike", "underline", "link", "subsup", "textColor"}
_BLOCK_CHILDREN: dict[str, tuple[str, ...]] = {
    "doc": ("paragraph", "heading", "bulletList", "orderedList", "blockquote", "rule", "codeBlock", "panel"),
    "blockquote": ("paragraph", "bulletList", "orderedList", "codeBlock"),
    "bulletList": ("listItem",),
    "orderedList": ("listItem",),
    "listItem": ("paragraph", "bulletList", "orderedList", "codeBlock"),
    "panel": ("paragraph", "heading", "bulletList", "orderedList"),
}
_INLINE = ("text", "hardBreak", "mention", "emoji", "inlineCard")


def adf_problem(doc: Any) -> str | None:
    """What is wrong with an Atlassian Document Format document (None: nothing we check)."""
    if not isinstance(doc, dict):
        return f"a {type(doc).__name__}, not an ADF document object"
    if doc.get("type") != "doc":
        return "type is not \"doc\""
    if doc.get("version") != 1:
        return "version is not 1"
    if set(doc) - {"type", "version", "content"}:
        return f"unknown keys {sorted(set(doc) - {'type', 'version', 'content'})}"
    return _children(doc, "doc", "content")


def _children(node: dict[str, Any], kind: str, where: str) -> str | None:
    content = node.get("content")
    if not isinstance(content, list):
        return f"{where}: content is not a list"
    allowed = _BLOCK_CHILDREN.get(kind, _INLINE)
    if kind in ("bulletList", "orderedList", "listItem", "blockquote") and not content:
        return f"{where}: an empty {kind}"
    for i, child in enumerate(content):
        problem = _node(child, allowed, f"{where}[{i}]")
        if problem:
            return problem
    return None


def _node(node: Any, allowed: tuple[str, ...], where: str) -> str | None:
    if not isinstance(node, dict) or not isinstance(node.get("type"), str):
        return f"{where}: not a node"
    kind = node["type"]
    if kind not in allowed:
        return f"{where}: a {kind} node cannot be here"
    extra = set(node) - {"type", "content", "attrs", "marks", "text"}
    if extra:
        return f"{where}: unknown keys {sorted(extra)}"
    if kind == "text":
        if not isinstance(node.get("text"), str) or not node["text"]:
            return f"{where}: a text node needs non-empty text"
        for j, mark in enumerate(node.get("marks", [])):
            if not isinstance(mark, dict) or mark.get("type") not in _MARKS:
                return f"{where}.marks[{j}]: not a mark"
            if mark["type"] == "link" and not isinstance((mark.get("attrs") or {}).get("href"), str):
                return f"{where}.marks[{j}]: a link needs attrs.href"
        return None
    if "text" in node:
        return f"{where}: only text nodes have text"
    if kind == "heading":
        level = (node.get("attrs") or {}).get("level")
        if level not in range(1, 7):
            return f"{where}: a heading needs attrs.level 1-6"
    if kind in ("hardBreak", "rule", "mention", "emoji", "inlineCard"):
        return None if "content" not in node else f"{where}: a {kind} has no content"
    if kind == "paragraph" and "content" not in node:
        return None
    if kind == "codeBlock":
        for j, child in enumerate(node.get("content", [])):
            if not isinstance(child, dict) or child.get("type") != "text" or child.get("marks"):
                return f"{where}.content[{j}]: a code block holds unmarked text only"
        return None
    return _children(node, kind, where)


def adf_text(doc: dict[str, Any]) -> str:
    """The plain text of an ADF document (paragraphs on their own lines)."""
    out: list[str] = []

    def walk(node: Any) -> None:
        if not isinstance(node, dict):
            return
        if node.get("type") == "text":
            out.append(str(node.get("text", "")))
        elif node.get("type") == "hardBreak":
            out.append("\n")
        for child in node.get("content", []) or []:
            walk(child)
        if node.get("type") in ("paragraph", "heading"):
            out.append("\n")

    walk(doc)
    return "".join(out).strip()


# --- helpers -------------------------------------------------------------------------------------------


def _ref(value: Any, name: str) -> str | None:
    """{"key": "SW"} / {"id": "10000"} -> "SW" / "10000"."""
    if isinstance(value, dict):
        found = value.get(name) or value.get("id")
        return str(found) if found is not None else None
    return None


def _project_id(key: str) -> int:
    return 10_000 + sum(ord(c) for c in key)


def _jira_time(value: datetime | None) -> str | None:
    if value is None:
        return None
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"


def _github_time(value: datetime | None) -> str | None:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value is not None else None


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Answer:
    return status, {"Content-Type": "application/json;charset=UTF-8", **(headers or {})}, json.dumps(body).encode()


def _gh_error(status: int, message: str) -> Answer:
    return _json(status, {"message": message, "documentation_url": GITHUB_DOCS, "status": str(status)})


def _page(status: int, title: str, body: str) -> Answer:
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head>"
            f"<body><h1>{html.escape(title)}</h1>{body}<p><em>Demo tracker (Product Issue Miner)</em></p></body></html>")
    return status, {"Content-Type": "text/html; charset=utf-8"}, page.encode()


def serve_forever(port: int, seed: bool = True) -> None:
    """Run the demo tracker in the foreground until interrupted."""
    server = DemoTracker(seed=seed, port=port).start()
    print(f"demo Jira + GitHub at {server.url}  (Ctrl+C to stop)", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()
