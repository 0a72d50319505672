"""Jira Cloud (REST API v3): create an issue from a cluster, read an issue's status.

Auth is basic with the account's e-mail and an API token. The description is an Atlassian Document
Format document (version 1, type doc): the figures, up to three quotes and links to the tickets. Ticket
text goes in as text nodes, so nothing in it is ever read as markup.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field

from miner.fixes.brief import ClusterBrief, one_line
from miner.fixes.trackers import (
    Connection,
    RetryPolicy,
    TrackedIssue,
    TrackerClient,
    TrackerError,
    TrackerName,
    TrackerNotFound,
    TrackerRejected,
    TrackerUnavailable,
    Wording,
    same_site,
)

log = logging.getLogger(__name__)

ISSUE_KEY_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*-[1-9][0-9]*$")
SUMMARY_LIMIT = 255
FIELDS = "status,resolutiondate,summary"


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _StatusCategory(_Model):
    key: str  # "new" | "indeterminate" | "done"


class _Status(_Model):
    name: str
    category: _StatusCategory = Field(alias="statusCategory")


class _Fields(_Model):
    summary: str
    status: _Status
    resolutiondate: datetime | None = None


class _Issue(_Model):
    key: str
    fields: _Fields


class _Created(_Model):
    id: str
    key: str


class _Myself(_Model):
    display_name: str = Field(alias="displayName")


class JiraClient(TrackerClient):
    """A small synchronous Jira Cloud client. `project_key` and `issue_type` are only needed to create."""

    name: TrackerName = "jira"
    label = "Jira"

    def __init__(self, base_url: str, email: str, api_token: str, *, project_key: str | None = None,
                 issue_type: str = "Bug", timeout: float = 20.0, policy: RetryPolicy | None = None,
                 sleep: Callable[[float], None] = time.sleep, transport: httpx.BaseTransport | None = None) -> None:
        self.project_key = project_key
        self.issue_type = issue_type
        self.http = Connection(base_url, WORDING, headers={"Accept": "application/json"},
                               auth=httpx.BasicAuth(email, api_token), timeout=timeout, policy=policy, sleep=sleep,
                               transport=transport)
        self.base_url = self.http.base_url

    # --- the Tracker interface ----------------------------------------------------------------------
    def create(self, brief: ClusterBrief) -> TrackedIssue:
        if not self.project_key:
            raise TrackerRejected("Set JIRA_PROJECT_KEY to the project new issues go to.")
        key = self.create_issue(self.project_key, self.issue_type, brief.title(SUMMARY_LIMIT), cluster_adf(brief))
        try:
            return self.fetch(key)
        except TrackerError as exc:  # it exists: keep the link, the next refresh reads its status
            log.warning("Jira issue %s was created but could not be read back: %s", key, exc)
            return TrackedIssue("jira", key, self.browse_url(key), brief.title(SUMMARY_LIMIT), None, False, None)

    def fetch(self, key: str) -> TrackedIssue:
        response = self.http.send("GET", f"/rest/api/3/issue/{quote(key)}", params={"fields": FIELDS})
        if response.status_code == 404 and _from_jira(response):
            raise TrackerNotFound(f"Jira has no issue {key} (or JIRA_EMAIL's account cannot see it): "
                                  f"{_message(response)}")
        self.http.raise_for_status(response, f"read {key}")
        issue: _Issue = self.http.parse(response, _Issue, f"GET issue {key}")
        done = issue.fields.status.category.key == "done"
        return TrackedIssue(
            tracker="jira", key=issue.key, url=self.browse_url(issue.key),
            title=issue.fields.summary, status=issue.fields.status.name, resolved=done,
            resolved_at=issue.fields.resolutiondate if done else None)

    def parse_ref(self, text: str) -> str:
        """"SW-12", "sw-12" or a link to the issue on this Jira site (…/browse/SW-12, …?selectedIssue=SW-12)."""
        text = text.strip()
        if ISSUE_KEY_RE.match(text):
            return text.upper()
        if text.startswith(("http://", "https://")):
            if not same_site(text, self.base_url):
                raise TrackerRejected(f"{text} is not on your Jira site ({self.base_url}, JIRA_BASE_URL).")
            parts = urlsplit(text)
            candidates = [*parse_qs(parts.query).get("selectedIssue", []), parts.path.rstrip("/").rsplit("/", 1)[-1]]
            for candidate in candidates:
                if ISSUE_KEY_RE.match(candidate):
                    return candidate.upper()
        raise TrackerRejected(f"'{one_line(text, 80)}' is not a Jira issue key such as SW-12 or a link to one.")

    def check(self) -> str:
        response = self.http.send("GET", "/rest/api/3/myself")
        self.http.raise_for_status(response, "read your own account")
        me: _Myself = self.http.parse(response, _Myself, "GET myself")
        where = f"; new issues go to project {self.project_key} as {self.issue_type}" if self.project_key else ""
        return f"Signed in to Jira at {self.base_url} as {me.display_name}{where}."

    # --- REST ------------------------------------------------------------------------------------------
    def create_issue(self, project_key: str, issue_type: str, summary: str, description: dict[str, Any]) -> str:
        """POST /rest/api/3/issue; the new issue's key."""
        body = {"fields": {"project": {"key": project_key}, "issuetype": {"name": issue_type},
                           "summary": one_line(summary, SUMMARY_LIMIT), "description": description}}
        response = self.http.send("POST", "/rest/api/3/issue", json=body)
        if response.status_code == 400:
            raise TrackerRejected(_create_rejection(response, project_key, issue_type))
        if response.status_code == 404:
            raise TrackerNotFound(f"Jira answered 404 to creating an issue: check JIRA_BASE_URL ({self.base_url}).")
        if response.status_code >= 500:
            raise TrackerUnavailable(
                f"Jira failed ({response.status_code}) while creating the issue; look in project {project_key} "
                "before trying again, in case it was created.")
        self.http.raise_for_status(response, f"create issues in project {project_key}")
        created: _Created = self.http.parse(response, _Created, "POST issue")
        return created.key

    def browse_url(self, key: str) -> str:
        return f"{self.base_url}/browse/{key}"


# --- the description ------------------------------------------------------------------------------


def cluster_adf(brief: ClusterBrief) -> dict[str, Any]:
    """The cluster as an Atlassian Document Format document."""
    content: list[dict[str, Any]] = [
        _paragraph(_text("Product Issue Miner groups support tickets that report the same problem. "
                         "This issue was created from one of its clusters.")),
    ]
    if brief.summary and brief.summary.strip():
        content.append(_paragraph(*_text_lines(brief.summary.strip())))
    content.append(_heading("Figures"))
    content.append(_bullets([[_text(line)] for line in brief.figures()]))
    if brief.quotes:
        content.append(_heading("What customers say"))
        for q in brief.quotes:
            content.append({"type": "blockquote", "content": [_paragraph(*_text_lines(q.text))]})
            content.append(_paragraph(_text("from "), _link(f"ticket #{q.ticket_id}", q.ticket_url)))
    if brief.ticket_links:
        content.append(_heading("Tickets"))
        content.append(_bullets([[_link(f"#{tid}", url)] for tid, url in brief.ticket_links]))
    if brief.cluster_url:
        content.append(_paragraph(_link(f"Cluster {brief.cluster_id} in Product Issue Miner", brief.cluster_url)))
    return {"version": 1, "type": "doc", "content": content}


def _text(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


def _link(text: str, url: str | None) -> dict[str, Any]:
    node = _text(text)
    if url:
        node["marks"] = [{"type": "link", "attrs": {"href": url}}]
    return node


def _text_lines(text: str) -> list[dict[str, Any]]:
    """Text with its line breaks as hardBreak nodes (a text node never holds an empty string)."""
    nodes: list[dict[str, Any]] = []
    for i, line in enumerate(text.splitlines()):
        if i:
            nodes.append({"type": "hardBreak"})
        if line:
            nodes.append(_text(line))
    return nodes


def _paragraph(*inline: dict[str, Any]) -> dict[str, Any]:
    return {"type": "paragraph", "content": list(inline)}


def _heading(text: str) -> dict[str, Any]:
    return {"type": "heading", "attrs": {"level": 3}, "content": [_text(text)]}


def _bullets(items: list[list[dict[str, Any]]]) -> dict[str, Any]:
    return {"type": "bulletList",
            "content": [{"type": "listItem", "content": [_paragraph(*item)]} for item in items]}


# --- errors ----------------------------------------------------------------------------------------


def _message(response: httpx.Response) -> str:
    """Jira's error text: {"errorMessages": [...], "errors": {field: message}} or plain text."""
    try:
        data = response.json()
    except ValueError:
        return one_line(response.text, 200) or response.reason_phrase
    if isinstance(data, dict):
        parts = [str(m) for m in data.get("errorMessages") or []]
        errors = data.get("errors")
        if isinstance(errors, dict):
            parts += [f"{k}: {v}" for k, v in errors.items()]
        if parts:
            return one_line("; ".join(parts), 300)
        if data.get("message"):
            return one_line(str(data["message"]), 200)
    return one_line(str(data), 200)


def _from_jira(response: httpx.Response) -> bool:
    """Whether an error answer is Jira's own (not a proxy's or another site's page)."""
    try:
        data = response.json()
    except ValueError:
        return False
    return isinstance(data, dict) and "errorMessages" in data


def _create_rejection(response: httpx.Response, project_key: str, issue_type: str) -> str:
    try:
        data = response.json()
    except ValueError:
        data = None
    errors = data.get("errors") if isinstance(data, dict) else None
    if isinstance(errors, dict):
        if "project" in errors:
            return (f"Jira has no project {project_key} that JIRA_EMAIL's account can create issues in "
                    f"(check JIRA_PROJECT_KEY): {errors['project']}")
        if "issuetype" in errors:
            return (f"Project {project_key} has no issue type '{issue_type}' (check JIRA_ISSUE_TYPE): "
                    f"{errors['issuetype']}")
    return (f"Jira refused the new issue (400: {_message(response)}); fields the project requires must have "
            "defaults, as the miner only sets the summary and description.")


WORDING = Wording(
    service="Jira", url_setting="JIRA_BASE_URL",
    refused="Jira rejected the credentials (401: {detail}). Check JIRA_EMAIL and JIRA_API_TOKEN (an API token of "
            "that account, from id.atlassian.com).",
    forbidden="Jira refused (403: {detail}): JIRA_EMAIL's account has no permission to {doing}.",
    hint="is JIRA_BASE_URL your Jira Cloud site (https://<site>.atlassian.net)?", detail=_message)
