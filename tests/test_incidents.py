"""A new incident that landed in an old cluster is split out, named from its own reports and flagged."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, insert, select, update

from miner.clustering.run import run_clustering
from miner.models import Cluster, ClusterEvent, Issue, Ticket, TicketAnalysis
from miner.trends import update_trends

TODAY = date(2026, 11, 28)
_ids = itertools.count(50_000)

STALE = ["The app still shows last week's schedule until I restart it",
         "Schedule in the mobile app is out of date after my manager changed my shift",
         "My phone app shows old shifts, the website has the new ones",
         "The app does not refresh the schedule when shifts change",
         "Mobile app schedule is outdated until you log out and back in"]
CRASH = ["iPhone app crashes when I tap clock in",
         "Since the 7.2 update the iPhone app closes as soon as staff tap Clock in",
         "App crashes on clock in on iPhone after updating to 7.2",
         "Our iPhone users can't clock in, the app crashes right away",
         "The iOS app crashes every time someone presses clock in"]

OPENERS = ["Hi team,", "Hello,", "Urgent:", "Quick one -", "Morning,", "Following up:", "Hey support,"]
CLOSERS = ["please help", "for all our staff", "since this morning", "thanks", "any ideas?", "it is affecting us",
           "on every phone", "can you check"]


def at(days_ago: float) -> datetime:
    return datetime.combine(TODAY, datetime.min.time(), UTC) - timedelta(days=days_ago) + timedelta(hours=9)


def add_issue(conn, summary: str, when: datetime, org: int, cluster_id: int | None = None,
              area: str = "mobile.app_general") -> int:
    category, subcategory = area.split(".")
    ticket_id = next(_ids)
    conn.execute(insert(Ticket.__table__).values(
        id=ticket_id, subject=summary[:40], description=summary, status="open", tags=[], created_at=when,
        updated_at=when, generated_timestamp=0, requester_id=org * 10, organization_id=org, synced_at=when))
    conn.execute(insert(TicketAnalysis.__table__).values(ticket_id=ticket_id, state="done", issue_count=1,
                                                         analyzed_at=when, updated_at=when))
    return conn.execute(insert(Issue.__table__).values(
        ticket_id=ticket_id, category=category, subcategory=subcategory, issue_type="bug", severity="high",
        summary=summary, detail=summary, representative_quote=summary, confidence=0.9, ticket_created_at=when,
        organization_id=org, requester_id=org * 10, cluster_id=cluster_id, cluster_pinned=False,
        created_at=when, updated_at=when)).inserted_primary_key[0]


@pytest.fixture
def old_cluster(sqlite_engine: Engine) -> int:
    """Ten weeks of one steady problem, clustered; returns its cluster id."""
    with sqlite_engine.begin() as conn:
        for day in range(10, 80):
            add_issue(conn, STALE[day % len(STALE)], at(day), org=100 + day % 30)
    run_clustering(sqlite_engine, today=TODAY - timedelta(days=9))
    with sqlite_engine.begin() as conn:  # its wordings may come out as several clusters: make them one
        cid, *others = conn.execute(select(Cluster.id).where(Cluster.retired.is_(False))
                                    .order_by(Cluster.size.desc())).scalars().all()
        conn.execute(update(Issue.__table__).values(cluster_id=cid))
        conn.execute(update(Cluster.__table__).where(Cluster.id.in_(others)).values(retired=True, merged_into=cid))
        conn.execute(update(Cluster.__table__).where(Cluster.id == cid).values(size=70))
    return cid


def test_an_incident_inside_an_old_cluster_becomes_its_own_named_emerging_cluster(
        sqlite_engine: Engine, old_cluster: int) -> None:
    with sqlite_engine.begin() as conn:  # last week: the old problem goes on, and a crash starts ...
        stale = [add_issue(conn, STALE[d % len(STALE)], at(d), org=100 + d, cluster_id=old_cluster) for d in range(7)]
        crash = [add_issue(conn, CRASH[n % len(CRASH)], at(2 - n * 0.25), org=300 + n, cluster_id=old_cluster)
                 for n in range(8)]  # ... that an earlier night filed under the old cluster

    result = run_clustering(sqlite_engine, today=TODAY)
    update_trends(sqlite_engine, today=TODAY)

    with sqlite_engine.connect() as conn:
        where = dict(conn.execute(select(Issue.id, Issue.cluster_id)).all())
        clusters = {c.id: c for c in conn.execute(select(Cluster.__table__).where(Cluster.retired.is_(False)))}
        events = conn.execute(select(ClusterEvent.cluster_id, ClusterEvent.action)).all()
    incident = {where[i] for i in crash}
    assert len(incident) == 1 and result.split == 1
    (new_id,) = incident
    assert new_id != old_cluster
    assert all(where[i] == old_cluster for i in stale)  # the old problem keeps its id and its issues
    name = clusters[new_id].name.lower()
    assert ("iphone" in name or "ios" in name) and ("clock in" in name or "crash" in name)
    assert clusters[new_id].emerging and clusters[new_id].emerging_reason.startswith("New:")
    assert not clusters[old_cluster].emerging
    assert (old_cluster, "split") in events and (new_id, "split_from") in events


def test_an_old_problem_in_new_words_is_not_an_incident(sqlite_engine: Engine, old_cluster: int) -> None:
    with sqlite_engine.begin() as conn:  # last week: the same problem, reported as always
        for n in range(8):
            add_issue(conn, STALE[n % len(STALE)], at(n * 0.8), org=400 + n, cluster_id=old_cluster)
    result = run_clustering(sqlite_engine, today=TODAY)
    update_trends(sqlite_engine, today=TODAY)
    with sqlite_engine.connect() as conn:
        live = conn.execute(select(Cluster.id, Cluster.emerging).where(Cluster.retired.is_(False))).all()
    assert result.split == 0 and live == [(old_cluster, False)]


def test_one_customer_filing_the_same_crash_many_times_is_not_an_incident(
        sqlite_engine: Engine, old_cluster: int) -> None:
    with sqlite_engine.begin() as conn:
        for n in range(8):
            add_issue(conn, CRASH[n % len(CRASH)], at(2 - n * 0.25), org=999, cluster_id=old_cluster)
    assert run_clustering(sqlite_engine, today=TODAY).split == 0


def test_an_incident_is_split_out_after_its_first_four_reports_even_with_one_look_alike_before(
        sqlite_engine: Engine, old_cluster: int) -> None:
    with sqlite_engine.begin() as conn:
        add_issue(conn, CRASH[0], at(40), org=250, cluster_id=old_cluster)  # one crash report, weeks ago
        for d in range(7):
            add_issue(conn, STALE[d % len(STALE)], at(d), org=100 + d, cluster_id=old_cluster)
        crash = [add_issue(conn, CRASH[n % len(CRASH)], at(1.2 - n * 0.3), org=300 + n, cluster_id=old_cluster)
                 for n in range(4)]  # then four in the last two days: a week's rate would not tell
    assert run_clustering(sqlite_engine, today=TODAY).split == 1
    with sqlite_engine.connect() as conn:
        homes = set(conn.execute(select(Issue.cluster_id).where(Issue.id.in_(crash))).scalars())
    assert len(homes) == 1 and homes != {old_cluster}


def test_a_burst_of_one_wording_of_an_old_problem_is_not_an_incident(sqlite_engine: Engine, old_cluster: int) -> None:
    with sqlite_engine.begin() as conn:  # five customers paste the same sentence about the old problem
        for n in range(5):
            add_issue(conn, "The mobile app keeps showing my old schedule after shift changes", at(1.5 - n * 0.3),
                      org=500 + n, cluster_id=old_cluster)
    assert run_clustering(sqlite_engine, today=TODAY).split == 0


def worded(texts: list[str], n: int) -> str:  # reports vary around the problem, as real ones do
    return f"{OPENERS[n % len(OPENERS)]} {texts[n % len(texts)]} {CLOSERS[n % len(CLOSERS)]}"


def test_an_incident_the_first_clustering_already_separated_is_kept_apart_from_the_old_problem(
        sqlite_engine: Engine) -> None:
    with sqlite_engine.begin() as conn:  # a new account: ten weeks of an old app problem, then a crash
        for day in range(3, 80):
            add_issue(conn, worded(STALE, day), at(day), org=100 + day % 30)
        crash = [add_issue(conn, worded(CRASH, n), at(3 - n * 0.2), org=300 + n) for n in range(12)]

    run_clustering(sqlite_engine, today=TODAY)  # the first run: a full clustering, then the incident scan

    with sqlite_engine.connect() as conn:
        where = dict(conn.execute(select(Issue.id, Issue.cluster_id)).all())
        marked = conn.execute(select(ClusterEvent.cluster_id).where(
            ClusterEvent.action.in_(["incident", "split_from"]))).scalars().all()
    (incident,) = {where[i] for i in crash}
    assert incident in marked  # recognised as a new problem, so merging keeps it apart ...
    assert sum(1 for c in where.values() if c == incident) == len(crash)  # ... and no older report is in it


CLOCK_IN = ["Android staff can't clock in, the app says they are not at the location",
            "Clock in is rejected on Android phones even on site",
            "Location error when our Android users clock in",
            "Android app won't let people clock in at the workplace",
            "Staff on Android get 'outside the geofence' when clocking in"]
PAYROLL = ["Payroll export fails with error E-4012 since yesterday",
           "The payroll export to ADP stopped working, it shows error E-4012",
           "Exporting payroll gives an error E-4012 and no file",
           "Our payroll export fails every time with a new error code",
           "Payroll file export error E-4012 when we run the pay period"]


@pytest.fixture
def two_old_clusters(sqlite_engine: Engine) -> tuple[int, int]:
    """Ten weeks of two steady problems of different areas (the mobile app's schedule, clocking in on
    Android), clustered; returns their cluster ids."""
    with sqlite_engine.begin() as conn:
        for day in range(10, 80):
            add_issue(conn, worded(STALE, day), at(day), org=100 + day % 30)
            add_issue(conn, worded(CLOCK_IN, day), at(day + 0.3), org=130 + day % 30, area="core_workflow.time_tracking")
    run_clustering(sqlite_engine, today=TODAY - timedelta(days=9))
    with sqlite_engine.connect() as conn:
        homes = dict(conn.execute(select(Issue.summary, Issue.cluster_id)).all())
    return homes[worded(STALE, 10)], homes[worded(CLOCK_IN, 10)]


def test_one_incident_reported_under_two_areas_in_other_words_becomes_one_cluster(
        sqlite_engine: Engine, two_old_clusters: tuple[int, int]) -> None:
    """An iPhone crash on clock-in: most reports are filed under the mobile app, in several wordings; a few
    customers paste one sentence the analyzer files under time tracking. Both are found as new problems (in
    different old clusters, with different areas and phrases); they are one incident, so one cluster."""
    stale, clock_in = two_old_clusters
    with sqlite_engine.begin() as conn:
        for d in range(7):  # the old problems go on
            add_issue(conn, worded(STALE, d), at(d), org=100 + d, cluster_id=stale)
            add_issue(conn, worded(CLOCK_IN, d), at(d + 0.3), org=130 + d, cluster_id=clock_in,
                      area="core_workflow.time_tracking")
        crash = [add_issue(conn, worded(CRASH, n), at(3 - n * 0.25), org=300 + n, cluster_id=stale)
                 for n in range(12)]
        pasted = [add_issue(conn, "Clocking in crashes it every time. Is there a known issue with the latest "
                                  "iPhone app?", at(2.5 - n * 0.4), org=400 + n, cluster_id=clock_in,
                            area="core_workflow.time_tracking") for n in range(5)]

    result = run_clustering(sqlite_engine, today=TODAY)

    with sqlite_engine.connect() as conn:
        where = dict(conn.execute(select(Issue.id, Issue.cluster_id)).all())
        merges = conn.execute(select(ClusterEvent.detail).where(ClusterEvent.action == "merge")).scalars().all()
    assert len({where[i] for i in crash + pasted}) == 1  # one incident, one cluster
    assert where[crash[0]] not in two_old_clusters
    assert result.merged == 1 and "a piece of the same recent incident" in merges[0]["reason"]


def test_two_unrelated_incidents_of_the_same_days_stay_two_clusters(
        sqlite_engine: Engine, two_old_clusters: tuple[int, int]) -> None:
    stale, clock_in = two_old_clusters
    with sqlite_engine.begin() as conn:
        for d in range(7):
            add_issue(conn, worded(STALE, d), at(d), org=100 + d, cluster_id=stale)
            add_issue(conn, worded(CLOCK_IN, d), at(d + 0.3), org=130 + d, cluster_id=clock_in,
                      area="core_workflow.time_tracking")
        crash = [add_issue(conn, worded(CRASH, n), at(3 - n * 0.25), org=300 + n, cluster_id=stale)
                 for n in range(12)]
        payroll = [add_issue(conn, worded(PAYROLL, n), at(2.8 - n * 0.3), org=400 + n, cluster_id=clock_in,
                             area="integrations.payroll") for n in range(8)]

    result = run_clustering(sqlite_engine, today=TODAY)

    with sqlite_engine.connect() as conn:
        where = dict(conn.execute(select(Issue.id, Issue.cluster_id)).all())
        marked = set(conn.execute(select(ClusterEvent.cluster_id).where(
            ClusterEvent.action.in_(["incident", "split_from"]))).scalars())
    crash_home, payroll_home = {where[i] for i in crash}, {where[i] for i in payroll}
    assert len(crash_home) == 1 and len(payroll_home) == 1 and crash_home != payroll_home
    assert crash_home | payroll_home <= marked  # both found as new problems: the merge compared them
    assert result.merged == 0
