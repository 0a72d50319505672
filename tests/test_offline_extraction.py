"""Offline extraction: one problem in a ticket is one issue, with a severity that follows what was said."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from miner.analysis.offline import OfflineAnalyzer
from miner.analysis.schema import ExtractedIssue, dedupe_issues
from miner.analysis.taxonomy import load_taxonomy
from miner.analysis.ticket_text import TicketForAnalysis, TicketMessage
from miner.config import DEFAULT_TAXONOMY
from miner.demo.dataset import generate_dataset

WHEN = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def analyzer() -> OfflineAnalyzer:
    return OfflineAnalyzer(load_taxonomy(DEFAULT_TAXONOMY))


def ticket(subject: str, body: str, ticket_id: int = 1) -> TicketForAnalysis:
    return TicketForAnalysis(ticket_id, subject, body, 7, 70, WHEN, (TicketMessage(7, True, body, WHEN),))


def test_one_sentence_that_touches_several_areas_is_one_issue(analyzer: OfflineAnalyzer) -> None:
    result = analyzer.analyze(ticket(
        "App problem", "Since the 7.2 update the iPhone app crashes every time staff tap clock in."))
    assert len(result.issues) == 1
    assert result.issues[0].category == "mobile"


def test_a_problem_the_customer_announces_as_another_one_is_its_own_issue(analyzer: OfflineAnalyzer) -> None:
    result = analyzer.analyze(ticket(
        "Payroll export wrong",
        "The hours we exported to QuickBooks don't include overtime, everything came through as regular hours. "
        "A second problem: the shift reminder push notifications don't arrive on anyone's phone anymore."))
    assert [i.area for i in result.issues] == ["integrations.payroll", "notifications.push"]


@pytest.mark.parametrize("history", [
    "-----Original Message-----\nFrom: Shiftwise <no-reply@shiftwise.example>\nSent: 3 November 2026\n"
    "Subject: Timesheet approval needed\n\nYou have timesheets waiting for approval.",
    "On Mon, 3 Nov 2026 at 09:12, Shiftwise <notifications@shiftwise.example> wrote:\n"
    "Your timesheet export failed. Payroll totals are wrong.",
])
def test_the_earlier_mail_a_reply_quotes_is_not_reported(analyzer: OfflineAnalyzer, history: str) -> None:
    result = analyzer.analyze(ticket("Thanks", f"Thanks, that answers it, no problem on our side.\n\n{history}"))
    assert result.issues == []


def test_a_forwarded_message_is_reported(analyzer: OfflineAnalyzer) -> None:
    result = analyzer.analyze(ticket("Fwd: swaps", "FYI, see below.\n\n---------- Forwarded message ---------\n"
                                     "From: Ana <ana@example.com>\n\nMy shift swap has been stuck pending for a week."))
    assert len(result.issues) == 1


def test_an_issue_says_how_strongly_it_points_at_each_area(analyzer: OfflineAnalyzer) -> None:
    result = analyzer.analyze(ticket(
        "Clock in on Android", "Android staff can't clock in, the app says they are not at the work location."))
    (issue,) = result.issues
    assert issue.area in issue.areas
    assert abs(sum(issue.areas.values()) - 1.0) < 0.01
    assert len(issue.areas) > 1  # Android and clocking in are both named: the issue sits between them


@pytest.mark.parametrize(("subject", "body", "severity"), [
    ("Dark mode", "Feature request: it would be nice to have a dark mode for the app.", "low"),
    ("Payroll export wrong", "The payroll export sends overtime as regular hours, employees were underpaid "
                             "and payroll is wrong for everyone.", "critical"),
    ("Request page", "The time off request page button is broken and overlaps the text.", "high"),
    ("Request page", "Minor issue, no rush: the time off request page button is broken and overlaps the text.", "low"),
])
def test_severity_follows_the_area_and_what_the_customer_says(
        analyzer: OfflineAnalyzer, subject: str, body: str, severity: str) -> None:
    (issue,) = analyzer.analyze(ticket(subject, body)).issues
    assert issue.severity == severity


def test_on_the_demo_nearly_every_extracted_issue_is_a_distinct_true_issue(analyzer: OfflineAnalyzer) -> None:
    data = generate_dataset(datetime(2026, 10, 1, tzinfo=UTC), n_tickets=600, seed=11)
    extracted = right = 0
    for t in data.tickets:
        if t.deleted:
            continue
        result = analyzer.analyze(TicketForAnalysis(
            t.id, t.subject, t.description, t.requester_id, t.organization_id, t.created_at,
            tuple(TicketMessage(c.author_id, c.public, c.body, c.created_at) for c in t.comments)))
        extracted += len(result.issues)
        right += min(len(result.issues), len(data.labels[t.id].issue_keys))
    assert extracted > 300
    assert right / extracted >= 0.95


def issue(area: str, issue_type: str = "bug", severity: str = "medium", quote: str = "it breaks",
          confidence: float = 0.6) -> ExtractedIssue:
    category, subcategory = area.split(".")
    return ExtractedIssue(category, subcategory, issue_type, severity, f"{area} goes wrong", "detail", quote,
                          confidence)


def test_a_ticket_that_lists_one_problem_twice_keeps_one_issue() -> None:
    kept = dedupe_issues([issue("mobile.ios", severity="medium", confidence=0.9),
                          issue("mobile.ios", severity="critical", quote="it crashes", confidence=0.5)])
    assert len(kept) == 1
    assert kept[0].confidence == 0.9 and kept[0].severity == "critical"


def test_two_issues_quoting_the_same_words_are_one() -> None:
    kept = dedupe_issues([issue("mobile.ios", quote="The app closes when I clock in"),
                          issue("core_workflow.time_tracking", quote="the app closes when I clock in ")])
    assert [i.area for i in kept] == ["mobile.ios"]


def test_different_problems_of_one_ticket_stay_apart() -> None:
    kept = dedupe_issues([issue("mobile.ios", quote="crash"), issue("billing.charges", quote="charged twice"),
                          issue("mobile.ios", issue_type="feature_request", quote="please add widgets")])
    assert len(kept) == 3
