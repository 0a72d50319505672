"""Jira Cloud and GitHub clients against the demo tracker (a real HTTP server on 127.0.0.1): what they send,
what they read back, the errors they give, and what they retry."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from miner.fixes.brief import ClusterBrief, Quote
from miner.fixes.demo_tracker import ADF_ERROR, DEMO_PROJECT_KEY, DemoTracker, adf_text
from miner.fixes.jira import JiraClient
from miner.fixes.service import make_trackers
from miner.fixes.settings import FixSettings
from miner.fixes.trackers import (
    TrackerAuthError,
    TrackerForbidden,
    TrackerNotFound,
    TrackerProtocolError,
    TrackerRejected,
    TrackerUnavailable,
)
from tests.fakes.trackers import (
    GITHUB_TOKEN,
    JIRA_EMAIL,
    JIRA_TOKEN,
    REPOSITORY,
    Sleeps,
    github_client,
    jira_client,
    strict_tracker,
)

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
ZENDESK = "https://acme.zendesk.com/agent/tickets"


def brief(**changes) -> ClusterBrief:
    values = dict(
        cluster_id=42, name="Android app rejects clock-in at the work location", summary="Clock-in fails on site.",
        tickets=142, customers=37, last_7_days=23, previous_7_days=12,
        first_seen=datetime(2026, 10, 2, 9, tzinfo=UTC), last_seen=datetime(2026, 11, 19, 17, tzinfo=UTC),
        quotes=(Quote("It says I'm not at work but I am standing in the shop", 1001, f"{ZENDESK}/1001"),
                Quote("Clock-in refused again\n\nthird time this week", 1002, f"{ZENDESK}/1002")),
        ticket_links=((1003, f"{ZENDESK}/1003"), (1002, f"{ZENDESK}/1002"), (1001, f"{ZENDESK}/1001")),
        cluster_url="http://localhost:8501/cluster?id=42")
    values.update(changes)
    return ClusterBrief(**values)  # type: ignore[arg-type]


@pytest.fixture
def server() -> Iterator[DemoTracker]:
    with strict_tracker() as tracker:
        yield tracker


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def jira(server: DemoTracker, sleeps: Sleeps) -> Iterator[JiraClient]:
    with jira_client(server, sleeps) as client:
        yield client


@pytest.fixture
def github(server: DemoTracker, sleeps: Sleeps):
    with github_client(server, sleeps) as client:
        yield client


def posts(server: DemoTracker) -> list:
    return [r for r in server.requests if r.method == "POST"]


def texts(node) -> list[str]:
    """Every text node's text in an ADF document, in order."""
    if node.get("type") == "text":
        return [node["text"]]
    return [t for child in node.get("content", []) for t in texts(child)]


def hrefs(node) -> list[str]:
    found = [m["attrs"]["href"] for m in node.get("marks", []) if m.get("type") == "link"]
    return found + [h for child in node.get("content", []) for h in hrefs(child)]


# --- Jira: create, link, status -----------------------------------------------------------------------


def test_a_jira_issue_is_created_in_the_project_with_the_cluster_name_as_summary(jira, server) -> None:
    issue = jira.create(brief())
    fields = posts(server)[0].body["fields"]
    assert fields["project"] == {"key": "SW"}
    assert fields["issuetype"] == {"name": "Bug"}
    assert fields["summary"] == "Android app rejects clock-in at the work location"
    assert (issue.key, issue.url, issue.status, issue.resolved) == ("SW-1", f"{server.url}/browse/SW-1", "To Do", False)


def test_the_jira_description_is_an_adf_document_with_figures_quotes_and_ticket_links(jira, server) -> None:
    jira.create(brief())
    doc = posts(server)[0].body["fields"]["description"]
    assert (doc["type"], doc["version"]) == ("doc", 1)
    words = texts(doc)
    assert "142 tickets from 37 customers in all, first reported on Oct 2, 2026, last on Nov 19, 2026." in words
    assert "23 tickets in the last 7 days (12 in the 7 days before)." in words
    assert "It says I'm not at work but I am standing in the shop" in words
    assert [f"{ZENDESK}/1001", f"{ZENDESK}/1002"] == hrefs(doc)[:2]  # each quote's ticket
    assert hrefs(doc)[2:] == [f"{ZENDESK}/1003", f"{ZENDESK}/1002", f"{ZENDESK}/1001",
                              "http://localhost:8501/cluster?id=42"]
    assert server.jira_issue("SW-1").description == doc  # accepted as ADF by the tracker


def test_line_breaks_in_a_quote_become_hard_breaks_without_empty_text(jira, server) -> None:
    jira.create(brief())
    doc = posts(server)[0].body["fields"]["description"]
    quote = [n for n in doc["content"] if n["type"] == "blockquote"][1]["content"][0]["content"]
    assert quote == [{"type": "text", "text": "Clock-in refused again"}, {"type": "hardBreak"},
                     {"type": "hardBreak"}, {"type": "text", "text": "third time this week"}]


def test_jira_requests_sign_in_with_the_email_and_api_token(jira, server) -> None:
    jira.fetch(server.add_jira_issue("Anything"))
    expected = "Basic " + base64.b64encode(f"{JIRA_EMAIL}:{JIRA_TOKEN}".encode()).decode()
    assert server.requests[-1].headers["authorization"] == expected


def test_a_jira_issue_is_read_with_only_the_fields_needed(jira, server) -> None:
    jira.fetch(server.add_jira_issue("Anything"))
    assert server.requests[-1].query == {"fields": "status,resolutiondate,summary"}


@pytest.mark.parametrize("typed", ["SW-12", "sw-12", " SW-12 ", "{url}/browse/SW-12",
                                   "{url}/jira/software/projects/SW/boards/1?selectedIssue=SW-12"])
def test_a_jira_issue_can_be_named_by_key_or_link(jira, server, typed: str) -> None:
    assert jira.parse_ref(typed.format(url=server.url)) == "SW-12"


@pytest.mark.parametrize(("typed", "message"), [
    ("https://other.atlassian.net/browse/SW-12", "is not on your Jira site"),
    ("the login bug", "is not a Jira issue key such as SW-12"),
    ("SW-0", "is not a Jira issue key"),
])
def test_what_is_not_a_jira_issue_of_this_site_is_refused(jira, typed: str, message: str) -> None:
    with pytest.raises(TrackerRejected, match=message):
        jira.parse_ref(typed)


def test_a_jira_key_that_does_not_exist_is_reported_as_missing(jira) -> None:
    with pytest.raises(TrackerNotFound, match=r"Jira has no issue SW-999 \(or JIRA_EMAIL's account cannot see it\)"):
        jira.fetch("SW-999")


def test_a_done_jira_issue_is_resolved_at_its_resolution_date(jira, server) -> None:
    key = server.add_jira_issue("Crash")
    server.resolve_jira(key, at=datetime(2026, 11, 3, 14, 5, 9, tzinfo=UTC))
    issue = jira.fetch(key)
    assert (issue.status, issue.resolved, issue.resolved_at) == ("Done", True,
                                                                 datetime(2026, 11, 3, 14, 5, 9, tzinfo=UTC))


def test_a_jira_issue_in_progress_is_not_resolved(jira, server) -> None:
    key = server.add_jira_issue("Crash")
    server.set_jira_status(key, "In Review")
    issue = jira.fetch(key)
    assert (issue.status, issue.resolved, issue.resolved_at) == ("In Review", False, None)


def test_a_done_jira_issue_without_a_resolution_is_resolved_with_no_date(jira, server) -> None:
    key = server.add_jira_issue("Crash")
    server.resolve_jira(key, with_resolution=False)
    issue = jira.fetch(key)
    assert (issue.resolved, issue.resolved_at) == (True, None)


def test_a_moved_jira_issue_is_read_under_its_new_key(server, sleeps) -> None:
    server.projects["APP"] = ("Bug",)
    key = server.add_jira_issue("Crash")
    new_key = server.move_jira(key, "APP")
    with jira_client(server, sleeps) as jira:
        assert jira.fetch(key).key == new_key == "APP-1"


# --- Jira: errors -----------------------------------------------------------------------------------


def test_wrong_jira_credentials_name_the_settings(server) -> None:
    with jira_client(server, token="wrong") as jira:
        with pytest.raises(TrackerAuthError, match="Check JIRA_EMAIL and JIRA_API_TOKEN"):
            jira.fetch("SW-1")


def test_an_unknown_jira_project_names_the_setting(server, sleeps) -> None:
    with jira_client(server, sleeps, project_key="NOPE") as jira:
        with pytest.raises(TrackerRejected, match=r"Jira has no project NOPE .*\(check JIRA_PROJECT_KEY\)"):
            jira.create(brief())


def test_an_issue_type_the_project_does_not_have_names_the_setting(server, sleeps) -> None:
    with jira_client(server, sleeps, issue_type="Epic") as jira:
        with pytest.raises(TrackerRejected, match=r"Project SW has no issue type 'Epic' \(check JIRA_ISSUE_TYPE\)"):
            jira.create(brief())


def test_no_permission_to_create_jira_issues_is_said_so(jira, server) -> None:
    server.jira_forbidden = True
    with pytest.raises(TrackerForbidden, match="JIRA_EMAIL's account has no permission to create issues in project SW"):
        jira.create(brief())


def test_creating_without_a_project_key_asks_for_the_setting(server) -> None:
    with jira_client(server, project_key=None) as jira:
        with pytest.raises(TrackerRejected, match="Set JIRA_PROJECT_KEY"):
            jira.create(brief())
    assert server.requests == []


def test_a_jira_answer_of_the_wrong_shape_says_what_is_missing(jira, server) -> None:
    server.faults.respond(1, 200, {"id": "10001", "key": "SW-1"})
    with pytest.raises(TrackerProtocolError, match=r"Jira's answer to GET issue SW-1 is not what its API sends "
                                                   r"\(fields: Field required\); is JIRA_BASE_URL"):
        jira.fetch("SW-1")


def test_a_web_page_instead_of_jira_is_not_json(jira, server) -> None:
    server.faults.respond(1, 200, "<!doctype html><html>Sign in</html>", headers={"Content-Type": "text/html"})
    with pytest.raises(TrackerProtocolError, match=r"\(not JSON\); is JIRA_BASE_URL"):
        jira.fetch("SW-1")


def test_a_cut_off_jira_answer_is_reported(jira, server) -> None:
    key = server.add_jira_issue("Crash")
    server.faults.malformed(1)
    with pytest.raises(TrackerProtocolError, match="cut-off JSON"):
        jira.fetch(key)


# --- the demo tracker is strict -------------------------------------------------------------------------


@pytest.mark.parametrize("description", [
    "plain text, as API v2 took it",
    {"type": "doc", "version": 2, "content": []},
    {"type": "doc", "version": 1, "content": [{"type": "text", "text": "text outside a paragraph"}]},
    {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text", "text": ""}]}]},
    {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [
        {"type": "text", "text": "x", "marks": [{"type": "link"}]}]}]},
])
def test_the_demo_jira_refuses_a_description_that_is_not_adf(server, description) -> None:
    body = {"fields": {"project": {"key": "SW"}, "issuetype": {"name": "Bug"}, "summary": "S",
                       "description": description}}
    answer = httpx.post(f"{server.url}/rest/api/3/issue", json=body, auth=(JIRA_EMAIL, JIRA_TOKEN))
    assert answer.status_code == 400
    assert answer.json() == {"errorMessages": [], "errors": {"description": ADF_ERROR}}


def test_the_demo_github_refuses_fields_it_does_not_know(server) -> None:
    answer = httpx.post(f"{server.url}/repos/{REPOSITORY}/issues", json={"title": "T", "bodyy": "B"},
                        headers={"Authorization": f"Bearer {GITHUB_TOKEN}"})
    assert answer.status_code == 422
    assert answer.json()["message"] == 'Invalid request.\n\n"bodyy" is not a permitted key.'


# --- GitHub -------------------------------------------------------------------------------------------


def test_a_github_issue_is_created_with_title_and_markdown_body(github, server) -> None:
    issue = github.create(brief())
    request = posts(server)[0]
    assert request.path == "/repos/acme/app/issues"
    assert set(request.body) == {"title", "body"}
    assert request.body["title"] == "Android app rejects clock-in at the work location"
    assert "- 23 tickets in the last 7 days (12 in the 7 days before)." in request.body["body"]
    assert f"- [\\#1003](<{ZENDESK}/1003>)" in request.body["body"]
    assert (issue.key, issue.url, issue.status) == ("acme/app#1", f"{server.url}/acme/app/issues/1", "open")


def test_github_requests_carry_the_token_and_the_api_version(github, server) -> None:
    github.create(brief())
    headers = posts(server)[0].headers
    assert headers["authorization"] == f"Bearer {GITHUB_TOKEN}"
    assert headers["accept"] == "application/vnd.github+json"
    assert headers["x-github-api-version"] == "2022-11-28"


def test_ticket_text_in_a_github_body_cannot_render_mention_or_reference(github, server) -> None:
    hostile = "@everyone see #12 <script>x</script> ```` **bold**"
    github.create(brief(quotes=(Quote(hostile, 1001, f"{ZENDESK}/1001"),), summary="ping @team"))
    body = posts(server)[0].body["body"]
    assert f"`````text\n{hostile}\n`````" in body  # a fence longer than the quote's backtick run
    assert "```text\nping @team\n```" in body
    assert body.count("@") == 2  # nowhere else


@pytest.mark.parametrize(("typed", "key"), [
    ("#12", "acme/app#12"), ("12", "acme/app#12"), ("other/repo#5", "other/repo#5"),
    ("https://github.com/acme/app/issues/7", "acme/app#7"), ("https://github.com/acme/app/pull/8/", "acme/app#8"),
])
def test_a_github_issue_can_be_named_by_number_key_or_link(github, typed: str, key: str) -> None:
    assert github.parse_ref(typed) == key


def test_what_is_not_a_github_issue_is_refused(github) -> None:
    with pytest.raises(TrackerRejected, match="is not a GitHub issue: give #12, owner/repo#12 or the issue's link"):
        github.parse_ref("https://github.com/acme/app")


def test_a_github_issue_closed_as_completed_is_resolved_when_closed(github, server) -> None:
    key = server.add_github_issue("Crash", repository=REPOSITORY)
    server.close_github(key, at=datetime(2026, 11, 3, 9, 30, tzinfo=UTC))
    issue = github.fetch(key)
    assert (issue.status, issue.resolved, issue.resolved_at) == ("closed", True, datetime(2026, 11, 3, 9, 30, tzinfo=UTC))


def test_a_github_issue_closed_as_not_planned_is_not_a_fix(github, server) -> None:
    key = server.add_github_issue("Crash", repository=REPOSITORY)
    server.close_github(key, reason="not_planned")
    issue = github.fetch(key)
    assert (issue.status, issue.resolved, issue.resolved_at) == ("closed as not planned", False, None)


def test_a_reopened_github_issue_is_open_again(github, server) -> None:
    key = server.add_github_issue("Crash", repository=REPOSITORY)
    server.close_github(key)
    server.reopen_github(key)
    assert (github.fetch(key).status, github.fetch(key).resolved) == ("open", False)


def test_a_github_issue_that_does_not_exist_is_reported_as_missing(github) -> None:
    with pytest.raises(TrackerNotFound, match=r"GitHub has no issue acme/app#404 \(or GITHUB_TOKEN cannot see it\)"):
        github.fetch("acme/app#404")


def test_a_wrong_github_token_names_the_setting(server) -> None:
    with github_client(server, token="wrong") as github:
        with pytest.raises(TrackerAuthError, match=r"GitHub rejected GITHUB_TOKEN \(401: Bad credentials\)"):
            github.fetch("acme/app#1")


def test_an_unknown_github_repository_names_the_setting(server) -> None:
    with github_client(server, repository="acme/nope") as github:
        with pytest.raises(TrackerNotFound, match=r"no repository acme/nope .*\(check GITHUB_REPOSITORY\)"):
            github.create(brief())


def test_a_read_only_github_token_is_said_so(github, server) -> None:
    server.github_read_only = True
    with pytest.raises(TrackerForbidden, match="GITHUB_TOKEN has no permission to create issues in acme/app"):
        github.create(brief())


def test_a_repository_with_issues_turned_off_is_said_so(github, server) -> None:
    server.repositories[REPOSITORY] = False
    with pytest.raises(TrackerRejected, match="Issues are turned off in acme/app"):
        github.create(brief())


# --- retries ------------------------------------------------------------------------------------------


def test_429_waits_as_retry_after_says_then_reads(jira, server, sleeps) -> None:
    key = server.add_jira_issue("Crash")
    server.faults.rate_limit(2, retry_after="7")
    assert jira.fetch(key).key == key
    assert sleeps == [7.0, 7.0]
    assert len(server.requests) == 3


def test_503_on_create_is_sent_again_and_creates_one_issue(jira, server, sleeps) -> None:
    server.faults.rate_limit(1, status=503, retry_after="2", methods=("POST",))
    jira.create(brief())
    assert sleeps == [2.0]
    assert len(posts(server)) == 2
    assert list(server.jira_issues) == ["SW-1"]


def test_a_retry_after_longer_than_we_wait_gives_up_with_the_setting(jira, server, sleeps) -> None:
    server.faults.rate_limit(1, retry_after="3600")
    with pytest.raises(TrackerUnavailable, match=r"asks to wait 3600 s, longer than MINER_TRACKER_MAX_WAIT \(30 s\)"):
        jira.fetch("SW-1")
    assert sleeps == []


def test_github_rate_limit_403_waits_until_the_reset(github, server, sleeps) -> None:
    key = server.add_github_issue("Crash", repository=REPOSITORY)
    server.faults.respond(1, 403, {"message": "API rate limit exceeded"},
                          headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(time.time()) + 20)})
    assert github.fetch(key).key == key
    assert len(sleeps) == 1 and 17 <= sleeps[0] <= 20


def test_server_errors_on_a_read_are_retried(jira, server, sleeps) -> None:
    key = server.add_jira_issue("Crash")
    server.faults.server_error(2, 502)
    assert jira.fetch(key).key == key
    assert len(sleeps) == 2


def test_a_server_error_while_creating_is_not_sent_again(jira, server) -> None:
    server.faults.server_error(1, 500, methods=("POST",))
    with pytest.raises(TrackerUnavailable, match="look in project SW before trying again"):
        jira.create(brief())
    assert len(posts(server)) == 1


def test_a_read_that_times_out_is_sent_again(server, sleeps) -> None:
    key = server.add_jira_issue("Crash")
    server.faults.stall(1)
    with jira_client(server, sleeps, timeout=0.5) as jira:
        assert jira.fetch(key).key == key
    assert len(server.requests) == 2


def test_a_create_that_times_out_is_not_sent_again(server, sleeps) -> None:
    server.faults.stall(1, methods=("POST",))
    with github_client(server, sleeps, timeout=0.5) as github:
        with pytest.raises(TrackerUnavailable, match="it may still have done it, so it was not sent again"):
            github.create(brief())
    assert len(posts(server)) == 1


def test_when_the_tries_run_out_the_error_says_so(jira, server, sleeps) -> None:
    server.faults.rate_limit(10, retry_after="0")
    with pytest.raises(TrackerUnavailable, match=r"Jira kept answering 429 to GET /rest/api/3/issue/SW-1 \(4 tries\)"):
        jira.fetch("SW-1")
    assert sleeps == [0.0, 0.0, 0.0]


def test_a_tracker_that_is_not_listening_is_unavailable(sleeps) -> None:
    server = DemoTracker().start()
    url = server.url
    server.stop()
    with JiraClient(url, JIRA_EMAIL, JIRA_TOKEN, sleep=sleeps) as jira:
        with pytest.raises(TrackerUnavailable, match=r"did not answer GET /rest/api/3/issue/SW-1 after 4 tries \(cannot connect"):
            jira.fetch("SW-1")


# --- connection checks and the demo -----------------------------------------------------------------------


def test_the_jira_connection_check_names_the_account_and_the_project(jira, server) -> None:
    assert jira.check() == f"Signed in to Jira at {server.url} as Demo Admin; new issues go to project SW as Bug."


def test_the_github_connection_check_names_the_repository(github) -> None:
    assert github.check() == "GitHub repository acme/app is reachable with GITHUB_TOKEN."


def test_the_demo_jira_needs_no_credentials_and_holds_the_demo_datasets_fix() -> None:
    from miner.demo.catalogue import ISSUES

    fading = next(spec for spec in ISSUES if spec.pattern == "fading")
    with DemoTracker(seed=True, now=NOW) as demo:
        trackers = make_trackers(FixSettings(), demo_jira_url=demo.url)
        assert set(trackers) == {"jira"}
        issue = trackers["jira"].fetch(f"{DEMO_PROJECT_KEY}-101")
        trackers["jira"].close()
    assert (issue.title, issue.status, issue.resolved) == (fading.title, "Done", True)
    assert issue.resolved_at == datetime(2026, 10, 6, 15, 30, tzinfo=UTC)  # 45 days before NOW: the dataset's fix


def test_a_demo_issue_opens_as_a_page(jira, server) -> None:
    key = server.add_jira_issue("Clock-in <fails> & more")
    page = httpx.get(jira.browse_url(key))
    assert page.status_code == 200
    assert "Clock-in &lt;fails&gt; &amp; more" in page.text


def test_the_demo_page_shows_the_created_description_as_text(jira, server) -> None:
    issue = jira.create(brief())
    assert "It says I'm not at work but I am standing in the shop" in adf_text(server.jira_issue(issue.key).description)
