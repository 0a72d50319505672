"""Cluster links: the store (link, unlink, list, refresh every link), creating and linking issues for a
cluster from the database, and a resolved fix's effect on the cluster's daily tickets.

Trackers are the demo tracker (a real HTTP server on 127.0.0.1); the database is SQLite, and PostgreSQL
where the SQL itself is what is tested (`engine`)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, insert

from miner.fixes import store
from miner.fixes.brief import NoSuchCluster, load_brief
from miner.fixes.demo_tracker import DemoTracker, adf_text
from miner.fixes.service import (
    create_for_cluster,
    effect_of,
    fix_markers,
    link_existing,
    make_trackers,
    regressions,
    tracker_for,
)
from miner.fixes.settings import FixSettings
from miner.fixes.trackers import TrackedIssue, TrackerNotFound, TrackerRejected
from miner.models import Cluster, ClusterDailyStat, Issue, Ticket
from tests.fakes.trackers import REPOSITORY, Sleeps, github_client, jira_client, strict_tracker

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=6)
ZENDESK = "https://acme.zendesk.com/agent/tickets"


def ticket_url(ticket_id: int) -> str:
    return f"{ZENDESK}/{ticket_id}"


def issue(key: str = "SW-1", **changes) -> TrackedIssue:
    values = dict(tracker="jira", key=key, url=f"https://acme.atlassian.net/browse/{key}", title="Crash",
                  status="To Do", resolved=False, resolved_at=None)
    values.update(changes)
    return TrackedIssue(**values)  # type: ignore[arg-type]


def with_links(engine: Engine) -> Engine:
    """The `engine` fixtures are migrated: `cluster_links` is there (migration 0007)."""
    return engine


@pytest.fixture
def db(engine: Engine) -> Engine:
    """SQLite and PostgreSQL."""
    return with_links(engine)


@pytest.fixture
def sdb(sqlite_engine: Engine) -> Engine:
    return with_links(sqlite_engine)


@pytest.fixture
def server() -> Iterator[DemoTracker]:
    with strict_tracker() as tracker:
        yield tracker


@pytest.fixture
def trackers(server: DemoTracker):
    jira, github = jira_client(server, Sleeps()), github_client(server, Sleeps())
    yield {"jira": jira, "github": github}
    jira.close()
    github.close()


def make_cluster(engine: Engine, cid: int, name: str = "Android clock-in fails", **figures) -> None:
    values = dict(id=cid, name=name, summary="Clock-in is refused on site.", name_source="offline",
                  name_pinned=False, named_size=0, retired=False, size=0, triage_status="new", created_at=NOW,
                  updated_at=NOW, issue_count=0, ticket_count=0, customer_count=0, count_7d=0, count_prev_7d=0,
                  active=False, emerging=False, severity_mix={})
    values.update(figures)
    with engine.begin() as conn:
        conn.execute(insert(Cluster.__table__).values(**values))


def add_report(engine: Engine, cid: int, ticket_id: int, quote: str, *, org: int | None, days_ago: int = 1,
               similarity: float = 0.5, deleted: bool = False) -> None:
    created = NOW - timedelta(days=days_ago)
    with engine.begin() as conn:
        conn.execute(insert(Ticket.__table__).values(
            id=ticket_id, subject="s", description="d", status="open", tags=[], created_at=created,
            updated_at=created, generated_timestamp=int(created.timestamp()), requester_id=ticket_id,
            organization_id=org, synced_at=created, deleted_at=created if deleted else None))
        conn.execute(insert(Issue.__table__).values(
            ticket_id=ticket_id, category="mobile", subcategory="android", issue_type="bug", severity="high",
            summary="s", detail="", representative_quote=quote, confidence=0.9, ticket_created_at=created,
            organization_id=org, requester_id=ticket_id, cluster_id=cid, cluster_similarity=similarity,
            cluster_pinned=False, created_at=created, updated_at=created))


def add_daily(engine: Engine, cid: int, counts: dict[date, int]) -> None:
    with engine.begin() as conn:
        for day, tickets in counts.items():
            conn.execute(insert(ClusterDailyStat.__table__).values(cluster_id=cid, day=day, issues=tickets,
                                                                   tickets=tickets, customers=tickets))


# --- the store -----------------------------------------------------------------------------------------


def test_a_link_is_stored_with_the_issue_and_listed_for_its_cluster(db: Engine) -> None:
    made = store.link(db, 7, issue(), created_by="pm@acme.example", now=NOW)
    assert (made.cluster_id, made.tracker, made.key, made.url, made.title, made.status) == (
        7, "jira", "SW-1", "https://acme.atlassian.net/browse/SW-1", "Crash", "To Do")
    assert (made.resolved, made.created_at, made.created_by, made.last_checked_at) == (
        False, NOW, "pm@acme.example", NOW)
    assert store.links_for_cluster(db, 7) == [made]
    assert store.links_for_clusters(db, [7, 8]) == {7: [made]}


def test_linking_the_same_issue_again_updates_the_one_link(db: Engine) -> None:
    first = store.link(db, 7, issue(), created_by="pm@acme.example", now=NOW)
    again = store.link(db, 7, issue(title="Crash on clock-in", status="In Progress"), created_by="other", now=LATER)
    assert again.id == first.id
    assert (again.title, again.status, again.created_by, again.created_at) == (
        "Crash on clock-in", "In Progress", "pm@acme.example", NOW)
    assert len(store.all_links(db)) == 1


def test_one_issue_may_be_linked_to_several_clusters(db: Engine) -> None:
    store.link(db, 7, issue(), now=NOW)
    store.link(db, 8, issue(), now=NOW)
    assert [lk.cluster_id for lk in store.all_links(db)] == [7, 8]


def test_unlinking_removes_that_link_only(db: Engine) -> None:
    gone = store.link(db, 7, issue("SW-1"), now=NOW)
    kept = store.link(db, 7, issue("SW-2"), now=NOW)
    assert store.unlink(db, gone.id) == gone
    assert store.unlink(db, gone.id) is None
    assert store.links_for_cluster(db, 7) == [kept]


def test_merging_clusters_moves_their_links_without_duplicates(db: Engine) -> None:
    store.link(db, 7, issue("SW-1"), now=NOW)
    store.link(db, 7, issue("SW-2"), now=NOW)
    store.link(db, 8, issue("SW-2"), now=NOW)
    with db.begin() as conn:
        assert store.move_links(conn, 7, 8) == 1
    assert sorted(lk.key for lk in store.links_for_cluster(db, 8)) == ["SW-1", "SW-2"]
    assert store.links_for_cluster(db, 7) == []


def test_a_resolved_issue_keeps_the_trackers_resolution_time(db: Engine) -> None:
    resolved_at = datetime(2026, 11, 3, 14, 5, tzinfo=UTC)
    made = store.link(db, 7, issue(status="Done", resolved=True, resolved_at=resolved_at), now=NOW)
    assert (made.resolved, made.resolved_at) == (True, resolved_at)


# --- refreshing every link --------------------------------------------------------------------------------


def test_refreshing_reads_every_link_and_reports_what_became_resolved(sdb: Engine, server, trackers) -> None:
    open_key, fixed_key = server.add_jira_issue("Slow week view"), server.add_jira_issue("Crash")
    gh_key = server.add_github_issue("Calendar duplicates", repository=REPOSITORY)
    for key, tracker in ((open_key, "jira"), (fixed_key, "jira"), (gh_key, "github")):
        store.link(sdb, 7, trackers[tracker].fetch(key), now=NOW)
    server.resolve_jira(fixed_key, at=datetime(2026, 11, 20, 15, 0, tzinfo=UTC))
    result = store.refresh_all(sdb, trackers, now=LATER)
    assert (result.checked, result.changed, result.failed) == (3, 1, 0)
    assert [lk.key for lk in result.resolved] == [fixed_key]
    fixed = next(lk for lk in store.all_links(sdb) if lk.key == fixed_key)
    assert (fixed.status, fixed.resolved, fixed.resolved_at, fixed.last_checked_at) == (
        "Done", True, datetime(2026, 11, 20, 15, 0, tzinfo=UTC), LATER)


def test_a_link_that_fails_records_its_error_and_the_others_are_refreshed(sdb: Engine, server, trackers) -> None:
    doomed, fine = server.add_jira_issue("Deleted later"), server.add_jira_issue("Crash")
    store.link(sdb, 7, trackers["jira"].fetch(doomed), now=NOW)
    store.link(sdb, 7, trackers["jira"].fetch(fine), now=NOW)
    server.delete_jira(doomed)
    server.resolve_jira(fine)
    result = store.refresh_all(sdb, trackers, now=LATER)
    assert (result.checked, result.failed) == (1, 1)
    failed, refreshed = store.links_for_cluster(sdb, 7)
    assert failed.last_error is not None
    assert failed.last_error.startswith("Jira has no issue SW-1 (or JIRA_EMAIL's account cannot see it)")
    assert (failed.status, failed.last_checked_at) == ("To Do", LATER)  # the last known state stays
    assert (refreshed.resolved, refreshed.last_error) == (True, None)
    assert result.errors == {failed.id: failed.last_error}


def test_a_link_to_a_tracker_that_is_not_configured_says_what_to_set(sdb: Engine, server, trackers) -> None:
    gh = store.link(sdb, 7, trackers["github"].fetch(server.add_github_issue("X", repository=REPOSITORY)), now=NOW)
    result = store.refresh_all(sdb, {"jira": trackers["jira"]}, now=LATER)
    assert result.errors == {gh.id: "GitHub is not configured, so acme/app#1 cannot be checked "
                                    "(set GITHUB_REPOSITORY and GITHUB_TOKEN)."}


def test_a_refresh_that_succeeds_again_clears_the_error(sdb: Engine, server, trackers) -> None:
    made = store.link(sdb, 7, trackers["jira"].fetch(server.add_jira_issue("Crash")), now=NOW)
    server.faults.server_error(10)
    store.refresh_all(sdb, trackers, now=NOW)
    assert store.get_link(sdb, made.id).last_error == "Jira kept answering 500 to GET /rest/api/3/issue/SW-1 (4 tries); try again later"
    server.faults.clear()
    store.refresh_all(sdb, trackers, now=LATER)
    assert store.get_link(sdb, made.id).last_error is None


def test_a_reopened_issue_is_reported_and_loses_its_resolution(sdb: Engine, server, trackers) -> None:
    key = server.add_jira_issue("Crash")
    server.resolve_jira(key)
    store.link(sdb, 7, trackers["jira"].fetch(key), now=NOW)
    server.reopen_jira(key)
    result = store.refresh_all(sdb, trackers, now=LATER)
    assert [lk.key for lk in result.reopened] == [key]
    assert (result.reopened[0].resolved, result.reopened[0].resolved_at) == (False, None)


def test_done_without_a_resolution_date_keeps_the_time_it_was_first_seen_done(sdb: Engine, server, trackers) -> None:
    key = server.add_jira_issue("Crash")
    made = store.link(sdb, 7, trackers["jira"].fetch(key), now=NOW)
    server.resolve_jira(key, with_resolution=False)
    store.refresh_all(sdb, trackers, now=NOW + timedelta(hours=1))
    store.refresh_all(sdb, trackers, now=NOW + timedelta(hours=2))
    assert store.get_link(sdb, made.id).resolved_at == NOW + timedelta(hours=1)


def test_a_moved_jira_issue_keeps_its_link_under_the_new_key(sdb: Engine, server, trackers) -> None:
    server.projects["APP"] = ("Bug",)
    key = server.add_jira_issue("Crash")
    made = store.link(sdb, 7, trackers["jira"].fetch(key), now=NOW)
    server.move_jira(key, "APP")
    store.refresh_all(sdb, trackers, now=LATER)
    assert store.get_link(sdb, made.id).key == "APP-1"


def test_an_issue_linked_to_two_clusters_is_read_once(sdb: Engine, server, trackers) -> None:
    key = server.add_jira_issue("Crash")
    for cid in (7, 8):
        store.link(sdb, cid, trackers["jira"].fetch(key), now=NOW)
    before = len(server.requests)
    result = store.refresh_all(sdb, trackers, now=LATER)
    assert result.checked == 2
    assert len(server.requests) == before + 1


def test_refreshing_some_clusters_reads_only_their_links(sdb: Engine, server, trackers) -> None:
    mine, other = server.add_jira_issue("Mine"), server.add_jira_issue("Other")
    store.link(sdb, 7, trackers["jira"].fetch(mine), now=NOW)
    store.link(sdb, 8, trackers["jira"].fetch(other), now=NOW)
    before = len(server.requests)
    assert store.refresh_all(sdb, trackers, now=LATER, cluster_ids=[7]).checked == 1
    assert [r.path for r in server.requests[before:]] == [f"/rest/api/3/issue/{mine}"]


# --- creating and linking for a cluster ------------------------------------------------------------------


def test_an_issue_created_for_a_cluster_describes_it_from_the_database(sdb: Engine, server, trackers) -> None:
    make_cluster(sdb, 7, ticket_count=4, customer_count=3, count_7d=4, count_prev_7d=0,
                 first_seen=NOW - timedelta(days=6), last_seen=NOW - timedelta(days=1))
    add_report(sdb, 7, 501, "It says I'm not at work", org=1, similarity=0.9)
    add_report(sdb, 7, 502, "it says i'm NOT at work!", org=2, similarity=0.8)  # the same complaint
    add_report(sdb, 7, 503, "Clock-in refused on the shop floor", org=1, similarity=0.7)  # the same customer
    add_report(sdb, 7, 504, "Geofence rejects me", org=3, similarity=0.6, days_ago=2)
    made = create_for_cluster(sdb, trackers["jira"], 7, ticket_url=ticket_url, created_by="pm@acme.example",
                              cluster_url="http://localhost:8501/cluster?id=7", now=NOW)
    assert (made.cluster_id, made.key, made.title, made.created_by) == (7, "SW-1", "Android clock-in fails",
                                                                         "pm@acme.example")
    text = adf_text(server.jira_issue("SW-1").description)
    assert "4 tickets from 3 customers in all, first reported on Nov 14, 2026, last on Nov 19, 2026." in text
    quotes = [line for line in text.splitlines() if line in {
        "It says I'm not at work", "it says i'm NOT at work!", "Clock-in refused on the shop floor",
        "Geofence rejects me"}]
    assert quotes == ["It says I'm not at work", "Geofence rejects me"]
    assert "Tickets\n#503\n#502\n#501\n#504" in text  # all of them, most recent first


def test_deleted_tickets_are_neither_quoted_nor_linked(sdb: Engine) -> None:
    make_cluster(sdb, 7)
    add_report(sdb, 7, 501, "Still here", org=1)
    add_report(sdb, 7, 502, "Deleted in Zendesk", org=2, similarity=0.99, deleted=True)
    brief = load_brief(sdb, 7, ticket_url=ticket_url)
    assert [q.text for q in brief.quotes] == ["Still here"]
    assert brief.ticket_links == ((501, f"{ZENDESK}/501"),)


def test_at_most_three_quotes_from_different_customers(sdb: Engine) -> None:
    make_cluster(sdb, 7)
    for i in range(5):
        add_report(sdb, 7, 600 + i, f"Problem number {i}", org=i, similarity=1 - i / 10)
    assert [q.ticket_id for q in load_brief(sdb, 7, ticket_url=ticket_url).quotes] == [600, 601, 602]


def test_an_existing_issue_is_linked_after_checking_it_exists(sdb: Engine, server, trackers) -> None:
    make_cluster(sdb, 7)
    key = server.add_jira_issue("Crash")
    made = link_existing(sdb, trackers["jira"], 7, f"{server.url}/browse/{key}", created_by="pm", now=NOW)
    assert (made.key, made.title, made.status) == (key, "Crash", "To Do")


def test_linking_an_issue_that_does_not_exist_stores_nothing(sdb: Engine, trackers) -> None:
    make_cluster(sdb, 7)
    with pytest.raises(TrackerNotFound):
        link_existing(sdb, trackers["github"], 7, "#99")
    assert store.all_links(sdb) == []


def test_linking_to_a_cluster_that_does_not_exist_is_refused(sdb: Engine, server, trackers) -> None:
    with pytest.raises(NoSuchCluster, match=r"There is no cluster 99\."):
        link_existing(sdb, trackers["jira"], 99, server.add_jira_issue("Crash"))


def test_a_tracker_that_is_not_configured_says_what_to_set() -> None:
    with pytest.raises(TrackerRejected, match="GitHub is not configured: set GITHUB_REPOSITORY and GITHUB_TOKEN"):
        tracker_for(make_trackers(FixSettings()), "github")


# --- the effect of a resolved fix -------------------------------------------------------------------------


def test_the_effect_of_a_resolved_link_is_read_from_the_clusters_daily_tickets(sdb: Engine) -> None:
    fix = date(2026, 11, 3)
    add_daily(sdb, 7, {fix - timedelta(days=i): 2 for i in range(1, 29)} | {fix + timedelta(days=4): 1})
    made = store.link(sdb, 7, issue(status="Done", resolved=True,
                                    resolved_at=datetime(2026, 11, 3, 23, 30, tzinfo=UTC)), now=NOW)
    effect = effect_of(sdb, made, today=date(2026, 11, 17))
    assert effect is not None
    assert effect.sentence == "14.0/week → 0.5/week since the fix on Nov 3 (p < 0.001)"


def test_an_open_issue_has_no_effect_yet(sdb: Engine) -> None:
    assert effect_of(sdb, store.link(sdb, 7, issue(), now=NOW), today=date(2026, 11, 17)) is None


def test_regressions_are_the_resolved_links_whose_cluster_gets_reports_again(sdb: Engine) -> None:
    fixed_at = datetime(2026, 11, 3, 10, tzinfo=UTC)
    add_daily(sdb, 7, {date(2026, 11, 12): 1, date(2026, 11, 16): 2})
    add_daily(sdb, 8, {date(2026, 11, 12): 1})
    back = store.link(sdb, 7, issue("SW-1", resolved=True, resolved_at=fixed_at), now=NOW)
    store.link(sdb, 8, issue("SW-2", resolved=True, resolved_at=fixed_at), now=NOW)
    store.link(sdb, 7, issue("SW-3"), now=NOW)  # not resolved: not watched
    found = regressions(sdb, today=date(2026, 11, 18))
    assert [(r.link.id, r.regression.reason) for r in found] == [
        (back.id, "3 tickets in the 7 days to Nov 17, after the fix on Nov 3")]


def test_a_chart_marks_each_resolved_fix_on_its_day(sdb: Engine) -> None:
    links = [store.link(sdb, 7, issue("SW-2", resolved=True, resolved_at=datetime(2026, 11, 9, 23, tzinfo=UTC)),
                        now=NOW),
             store.link(sdb, 7, issue("SW-1", resolved=True, resolved_at=datetime(2026, 11, 3, tzinfo=UTC)), now=NOW),
             store.link(sdb, 7, issue("SW-3"), now=NOW)]
    assert fix_markers(links) == [(date(2026, 11, 3), "SW-1 resolved"), (date(2026, 11, 9), "SW-2 resolved")]

