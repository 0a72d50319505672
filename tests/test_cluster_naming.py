"""Offline cluster names: short, about the problem, never a person's name or another customer detail."""

from __future__ import annotations

import pytest

from miner.clustering.naming import MAX_TITLE_WORDS, cluster_title
from miner.demo.catalogue import FIRST_NAMES


def words(title: str) -> list[str]:
    return [w for w in title.split() if w not in "-–—"]


def test_a_long_report_becomes_a_short_title_about_the_problem() -> None:
    reports = [
        "Since the update yesterday the app closes as soon as I tap clock in on my iPhone 14 and nobody can work",
        "The iPhone app closes when I clock in",
        "Staff on iPhones can't clock in, the app just closes",
    ] * 3
    title = cluster_title(reports, ["app closes", "clock in", "iphone"])
    assert 2 <= len(words(title)) <= MAX_TITLE_WORDS
    assert "iphone" in title.lower() and "clock in" in title.lower()
    assert not title.lower().startswith(("since", "yesterday"))


@pytest.mark.parametrize("opening", ["A second problem:", "Also,", "PS:", "Phone call:", "URGENT:",
                                     "Unrelated, but"])
def test_the_turn_or_channel_that_introduced_a_report_is_not_part_of_the_name(opening: str) -> None:
    reports = [f"{opening} the shift reminder push notification never arrives"] * 5
    title = cluster_title(reports, ["shift reminder", "push notification"])
    assert title.lower().startswith("the shift reminder") or title.lower().startswith("shift reminder")
    assert opening.rstrip(":,").lower() not in title.lower()


@pytest.mark.parametrize("name", FIRST_NAMES)
def test_no_first_name_of_the_demo_ever_names_a_cluster(name: str) -> None:
    # the same coworker in most reports, in the subject lines too: still a person, still not a name
    reports = [f"Overtime for {name} was exported as regular hours",
               f"{name}'s overtime shows up as regular hours in the payroll export",
               "Overtime is exported as regular hours"] * 4
    subjects = [f"Overtime missing for {name}", "Payroll export wrong"] * 3
    title = cluster_title(reports, ["overtime", "regular hours", "payroll export"], subjects=subjects)
    assert title
    assert name.lower() not in {w.strip("'’s").lower() for w in title.split()}


def test_numbers_sites_and_devices_of_one_report_are_left_out() -> None:
    reports = ["Clock in rejected at Warehouse North for 12 people on the Pixel 7a",
               "Clock in rejected at Dock 4 for staff on Samsung Galaxy S21",
               "Clock in rejected for 3 drivers at the Harbour site"]
    title = cluster_title(reports, ["clock in rejected"])
    assert "clock in rejected" in title.lower()
    assert not any(ch.isdigit() for ch in title)
    assert "north" not in title.lower() and "harbour" not in title.lower()


def test_a_subject_line_several_customers_wrote_beats_a_sentence_cut_from_a_report() -> None:
    reports = ["Several of our forklift operators with Android phones can't clock in because the app "
               "says they are not at the work location although they stand inside the building"] * 6
    subjects = ["Android clock in not working"] * 3 + ["Help please", "Clocking in on Android"] * 2
    title = cluster_title(reports, ["clock in", "android", "work location"], subjects=subjects)
    assert title == "Android clock in not working"


def test_a_subject_only_one_ticket_used_does_not_name_the_cluster() -> None:
    reports = ["The payroll export sends overtime as regular hours"] * 4
    subjects = ["Overtime export question from the Lisbon office", "Re: payroll", "URGENT", "hello"]
    title = cluster_title(reports, ["payroll export", "overtime", "regular hours"], subjects=subjects)
    assert title == "The payroll export sends overtime as regular hours"


def test_nothing_usable_gives_no_title() -> None:
    assert cluster_title(["ok", "Re: hi"], []) == ""


def test_a_shouted_subject_becomes_a_sentence_but_acronyms_stay() -> None:
    subjects = ["SCHEDULE PAGE SO SLOW", "SCHEDULE PAGE SO SLOW", "schedule page slow"]
    reports = ["The schedule page is so slow", "schedule page takes forever to load"]
    assert cluster_title(reports, ["schedule page", "slow"], subjects=subjects) == "Schedule page so slow"
    assert cluster_title(["PDF EXPORT FAILS", "the PDF export fails"], ["pdf export"],
                         subjects=["PDF EXPORT FAILS", "PDF EXPORT FAILS"]) == "PDF export fails"


def test_a_long_report_is_cut_at_a_clause_not_mid_phrase() -> None:
    title = cluster_title(["Swap request stays open and the coworker is never told about it at all"],
                          ["swap request", "stays open"])
    assert title == "Swap request stays open"


def test_the_name_says_what_most_reports_say_not_a_phrase_only_a_few_bring() -> None:
    reports = (["The shift I swapped still shows on my phone as mine, the website says it's Sam's"] * 8
               + ["The reset email arrives fine but opening the link says expired"])
    title = cluster_title(reports, ["reset email arrives fine", "arrives fine but opening", "shift i swapped"])
    assert "swapped" in title.lower() and "reset" not in title.lower()


def test_a_name_says_what_goes_wrong_rather_than_only_the_topic() -> None:
    reports = ["Labour report totals", "Labour report numbers wrong", "Labour report numbers wrong",
               "Labour report totals", "Labour report totals"]
    assert cluster_title(reports, ["labour report"]) == "Labour report numbers wrong"


@pytest.mark.parametrize(("reports", "expected"), [
    (["New starters can't get in"] * 4, "New starters can't get in"),
    (["Since the last update many screens in the app show English text again"] * 4,
     "Many screens in the app show English text"),
])
def test_phrasal_verbs_and_languages_stay_in_the_name(reports: list[str], expected: str) -> None:
    assert cluster_title(reports) == expected


def test_quote_marks_around_a_label_do_not_end_up_in_the_name() -> None:
    reports = ["The 'Add attachment' button on time-off requests does nothing on Android"] * 4
    assert "'" not in cluster_title(reports)
