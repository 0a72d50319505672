"""Jira Cloud and GitHub for tests: the demo tracker (`miner.fixes.demo_tracker`, a real HTTP server on
127.0.0.1) set up strictly, with credentials it checks, and clients pointed at it.

Clients get a `Sleeps` recorder instead of `time.sleep`: a test sees every wait the retry logic asked
for (exactly, for Retry-After) without waiting it out.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from miner.fixes.demo_tracker import DemoTracker
from miner.fixes.github import GitHubClient
from miner.fixes.jira import JiraClient
from miner.fixes.trackers import RetryPolicy

JIRA_EMAIL = "pm@acme.example"
JIRA_TOKEN = "jira-api-token"
GITHUB_TOKEN = "github_pat_test"
PROJECT = "SW"
REPOSITORY = "acme/app"


class Sleeps(list[float]):
    """Stands in for time.sleep: records each wait, waits none."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@contextmanager
def strict_tracker(**kwargs: Any) -> Iterator[DemoTracker]:
    """The demo tracker with credentials it checks, project SW (Bug, Task) and repository acme/app."""
    kwargs.setdefault("jira_credentials", (JIRA_EMAIL, JIRA_TOKEN))
    kwargs.setdefault("github_token", GITHUB_TOKEN)
    kwargs.setdefault("projects", {PROJECT: ("Bug", "Task")})
    kwargs.setdefault("repositories", (REPOSITORY,))
    with DemoTracker(**kwargs) as server:
        yield server


def jira_client(server: DemoTracker, sleeps: Sleeps | None = None, *, email: str = JIRA_EMAIL,
                token: str = JIRA_TOKEN, **kwargs: Any) -> JiraClient:
    kwargs.setdefault("project_key", PROJECT)
    kwargs.setdefault("policy", RetryPolicy(max_attempts=4, max_wait=30.0, backoff_base=0.01))
    return JiraClient(server.url, email, token, sleep=sleeps if sleeps is not None else Sleeps(), **kwargs)


def github_client(server: DemoTracker, sleeps: Sleeps | None = None, *, token: str = GITHUB_TOKEN,
                  repository: str = REPOSITORY, **kwargs: Any) -> GitHubClient:
    kwargs.setdefault("policy", RetryPolicy(max_attempts=4, max_wait=30.0, backoff_base=0.01))
    return GitHubClient(token, repository, api_url=server.url, sleep=sleeps if sleeps is not None else Sleeps(),
                        **kwargs)
