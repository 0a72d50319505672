"""GitHub Issues (REST): create an issue from a cluster, read an issue's state.

Issues are created in GITHUB_REPOSITORY; an existing issue may be linked from any repository the token
can read, so keys carry the repository: "owner/repo#12". Ticket text goes into the Markdown body only
inside fenced code blocks, so it can never render as Markdown or HTML, mention anyone or reference an
issue.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from datetime import datetime
from typing import Literal
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, ConfigDict

from miner.fixes.brief import ClusterBrief, one_line
from miner.fixes.trackers import (
    Connection,
    RetryPolicy,
    TrackedIssue,
    TrackerClient,
    TrackerName,
    TrackerNotFound,
    TrackerRejected,
    TrackerUnavailable,
    Wording,
)

log = logging.getLogger(__name__)

API_VERSION = "2022-11-28"
TITLE_LIMIT = 256
BODY_LIMIT = 65_536
REPO = r"[A-Za-z0-9-]{1,39}/[A-Za-z0-9._-]{1,100}"
KEY_RE = re.compile(rf"^({REPO})#([1-9][0-9]*)$")
NUMBER_RE = re.compile(r"^#?([1-9][0-9]*)$")
URL_PATH_RE = re.compile(rf"^/({REPO})/(?:issues|pull)/([1-9][0-9]*)/?$")
NOT_FIXED = frozenset({"not_planned", "duplicate"})  # closed, but nothing was fixed


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _Issue(_Model):
    number: int
    title: str
    state: Literal["open", "closed"]
    state_reason: str | None = None
    closed_at: datetime | None = None
    html_url: str


class _Repository(_Model):
    full_name: str
    has_issues: bool = True


class GitHubClient(TrackerClient):
    """A small synchronous GitHub REST client for one repository's issues."""

    name: TrackerName = "github"
    label = "GitHub"

    def __init__(self, token: str, repository: str, *, api_url: str = "https://api.github.com",
                 timeout: float = 20.0, policy: RetryPolicy | None = None,
                 sleep: Callable[[float], None] = time.sleep, transport: httpx.BaseTransport | None = None) -> None:
        self.repository = repository
        self.http = Connection(
            api_url, WORDING, timeout=timeout, policy=policy, sleep=sleep, transport=transport,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json",
                     "X-GitHub-Api-Version": API_VERSION},
            # a transferred issue answers 301 to its new place (httpx drops the token for another host)
            follow_redirects=True)
        self.api_url = self.http.base_url

    # --- the Tracker interface ----------------------------------------------------------------------
    def create(self, brief: ClusterBrief) -> TrackedIssue:
        body = {"title": brief.title(TITLE_LIMIT), "body": cluster_markdown(brief)}
        response = self.http.send("POST", f"/repos/{self.repository}/issues", json=body)
        status = response.status_code
        if status == 404:
            raise TrackerNotFound(f"GitHub has no repository {self.repository} that GITHUB_TOKEN can see "
                                  f"(check GITHUB_REPOSITORY): {_message(response)}")
        if status == 410:
            raise TrackerRejected(f"Issues are turned off in {self.repository} ({_message(response)}).")
        if status == 422:
            raise TrackerRejected(f"GitHub refused the new issue (422: {_message(response)}).")
        if status >= 500:
            raise TrackerUnavailable(f"GitHub failed ({status}) while creating the issue; look in "
                                     f"{self.repository} before trying again, in case it was created.")
        self.http.raise_for_status(response, f"create issues in {self.repository}")
        issue: _Issue = self.http.parse(response, _Issue, "POST issue")
        return _tracked(self.repository, issue)

    def fetch(self, key: str) -> TrackedIssue:
        repository, number = _split_key(key)
        response = self.http.send("GET", f"/repos/{repository}/issues/{number}")
        if response.status_code in (404, 410):
            raise TrackerNotFound(f"GitHub has no issue {key} (or GITHUB_TOKEN cannot see it): "
                                  f"{_message(response)}")
        self.http.raise_for_status(response, f"read {key}")
        issue: _Issue = self.http.parse(response, _Issue, f"GET issue {key}")
        return _tracked(_repository_of(issue.html_url) or repository, issue)

    def parse_ref(self, text: str) -> str:
        """"#12", "12", "owner/repo#12" or a link to an issue (…/owner/repo/issues/12)."""
        text = text.strip()
        if m := NUMBER_RE.match(text):
            return f"{self.repository}#{int(m.group(1))}"
        if m := KEY_RE.match(text):
            return f"{m.group(1)}#{int(m.group(2))}"
        if text.startswith(("http://", "https://")) and (m := URL_PATH_RE.match(urlsplit(text).path)):
            return f"{m.group(1)}#{int(m.group(2))}"
        raise TrackerRejected(f"'{one_line(text, 80)}' is not a GitHub issue: give #12, owner/repo#12 or "
                              "the issue's link.")

    def check(self) -> str:
        response = self.http.send("GET", f"/repos/{self.repository}")
        if response.status_code == 404:
            raise TrackerNotFound(f"GitHub has no repository {self.repository} that GITHUB_TOKEN can see "
                                  "(check GITHUB_REPOSITORY).")
        self.http.raise_for_status(response, f"read {self.repository}")
        repo: _Repository = self.http.parse(response, _Repository, "GET repository")
        if not repo.has_issues:
            raise TrackerRejected(f"Issues are turned off in {repo.full_name}.")
        return f"GitHub repository {repo.full_name} is reachable with GITHUB_TOKEN."


# --- the body ----------------------------------------------------------------------------------------


def cluster_markdown(brief: ClusterBrief) -> str:
    """The cluster as a Markdown issue body (ticket text only inside fenced code blocks)."""
    parts = ["Product Issue Miner groups support tickets that report the same problem. "
             "This issue was created from one of its clusters."]
    if brief.summary and brief.summary.strip():
        parts.append(_fenced(brief.summary.strip()))
    parts.append("### Figures\n\n" + "\n".join(f"- {line}" for line in brief.figures()))
    if brief.quotes:
        quotes = [f"{_fenced(q.text)}\nfrom {_md_link(f'ticket #{q.ticket_id}', q.ticket_url)}" for q in brief.quotes]
        parts.append("### What customers say\n\n" + "\n\n".join(quotes))
    if brief.ticket_links:
        parts.append("### Tickets\n\n" + "\n".join(f"- {_md_link(f'#{tid}', url)}" for tid, url in brief.ticket_links))
    if brief.cluster_url:
        parts.append(_md_link(f"Cluster {brief.cluster_id} in Product Issue Miner", brief.cluster_url))
    return "\n\n".join(parts)[:BODY_LIMIT] + "\n"


def _fenced(text: str) -> str:
    """A fenced code block longer than any backtick run inside, so the text cannot close it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text}\n{fence}"


def _md_link(text: str, url: str | None) -> str:
    # \#: "#123" alone would be read as a reference to issue 123 of the repository
    label = text.replace("#", "\\#")
    return f"[{label}](<{url}>)" if url else label


# --- helpers ------------------------------------------------------------------------------------------


def _tracked(repository: str, issue: _Issue) -> TrackedIssue:
    resolved = issue.state == "closed" and issue.state_reason not in NOT_FIXED
    status = issue.state if issue.state == "open" or not issue.state_reason or issue.state_reason == "completed" \
        else f"closed as {issue.state_reason.replace('_', ' ')}"
    return TrackedIssue(tracker="github", key=f"{repository}#{issue.number}", url=issue.html_url,
                        title=issue.title, status=status, resolved=resolved,
                        resolved_at=issue.closed_at if resolved else None)


def _split_key(key: str) -> tuple[str, int]:
    m = KEY_RE.match(key)
    if not m:
        raise TrackerRejected(f"'{key}' is not a GitHub issue key (owner/repo#12).")
    return m.group(1), int(m.group(2))


def _repository_of(html_url: str) -> str | None:
    """The repository an issue lives in now (it may have been transferred)."""
    m = URL_PATH_RE.match(urlsplit(html_url).path)
    return m.group(1) if m else None


def _message(response: httpx.Response) -> str:
    """GitHub's error text: {"message": ..., "errors": [...]} or plain text."""
    try:
        data = response.json()
    except ValueError:
        return one_line(response.text, 200) or response.reason_phrase
    if isinstance(data, dict) and data.get("message"):
        text = str(data["message"])
        for err in data.get("errors") or []:
            if isinstance(err, dict):
                text += f"; {err.get('message') or err.get('code') or ''} {err.get('field') or ''}".rstrip()
            else:
                text += f"; {err}"
        return one_line(text, 300)
    return one_line(str(data), 200)


WORDING = Wording(
    service="GitHub", url_setting="GITHUB_API_URL", refused="GitHub rejected GITHUB_TOKEN (401: {detail}).",
    forbidden="GitHub refused (403: {detail}): GITHUB_TOKEN has no permission to {doing} (a fine-grained token "
              "needs Issues: read and write on the repository).",
    hint="is GITHUB_API_URL right (https://api.github.com, or https://<host>/api/v3 for GitHub Enterprise)?",
    detail=_message)
