"""Trends: daily stats and per-cluster figures against hand-computed values; emerging detection."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, insert, select, update

from miner.analysis.store import forget_issues
from miner.models import Cluster, ClusterDailyStat, Issue, Ticket, TicketAnalysis
from miner.trends import critical_share, detect_emerging, poisson_sf, typical_severity, update_trends

TODAY = date(2026, 11, 28)


def at(days_ago: int, hour: int = 10) -> datetime:
    return datetime.combine(TODAY - timedelta(days=days_ago), datetime.min.time(), UTC) + timedelta(hours=hour)


def make_cluster(conn, cid: int, name: str) -> None:
    now = datetime.now(UTC)
    conn.execute(insert(Cluster.__table__).values(
        id=cid, name=name, name_source="offline", name_pinned=False, named_size=0, retired=False, size=0,
        triage_status="new", created_at=now, updated_at=now, issue_count=0, ticket_count=0, customer_count=0,
        count_7d=0, count_prev_7d=0, active=False, emerging=False, severity_mix={}))


_next_ticket = [1000]


def add_issue(conn, cluster_id: int | None, days_ago: int, *, org: int | None, requester: int = 1,
              severity: str = "medium", ticket_id: int | None = None, status: str = "open") -> int:
    created = at(days_ago)
    if ticket_id is None:
        _next_ticket[0] += 1
        ticket_id = _next_ticket[0]
        conn.execute(insert(Ticket.__table__).values(
            id=ticket_id, subject="s", description="d", status=status, tags=[], created_at=created,
            updated_at=created, generated_timestamp=int(created.timestamp()), requester_id=requester,
            organization_id=org, synced_at=created))
        conn.execute(insert(TicketAnalysis.__table__).values(ticket_id=ticket_id, state="done", issue_count=1,
                                                             analyzed_at=created, updated_at=created))
    now = datetime.now(UTC)
    conn.execute(insert(Issue.__table__).values(
        ticket_id=ticket_id, category="mobile", subcategory="android", issue_type="bug", severity=severity,
        summary="Android clock-in fails", detail="", representative_quote="q", confidence=0.9,
        ticket_created_at=created, organization_id=org, requester_id=requester, cluster_id=cluster_id,
        cluster_pinned=False, created_at=now, updated_at=now))
    return ticket_id


@pytest.fixture
def fixture_db(engine: Engine) -> Engine:
    """Cluster 1: steady; cluster 2: a burst this week; one unclustered issue."""
    with engine.begin() as conn:
        make_cluster(conn, 1, "steady")
        make_cluster(conn, 2, "burst")
        # cluster 1: two issues 20 days ago (same org), one 9 days ago, one 2 days ago (individual customer)
        add_issue(conn, 1, 20, org=500)
        add_issue(conn, 1, 20, org=500, severity="high")
        add_issue(conn, 1, 9, org=501)
        shared = add_issue(conn, 1, 2, org=None, requester=77)
        # the same ticket also reports the burst issue: one ticket, two issues
        add_issue(conn, 2, 2, org=None, requester=77, ticket_id=shared, severity="critical")
        for i in range(9):  # cluster 2: nine more tickets in the last 5 days from 3 organisations
            add_issue(conn, 2, i % 5, org=600 + i % 3, severity="high")
        add_issue(conn, None, 1, org=700)
    return engine


def daily(engine: Engine) -> dict[tuple[int, date], tuple[int, int, int]]:
    with engine.connect() as conn:
        rows = conn.execute(select(ClusterDailyStat.__table__)).all()
    return {(r.cluster_id, r.day): (r.issues, r.tickets, r.customers) for r in rows}


def cluster(engine: Engine, cid: int):
    with engine.connect() as conn:
        return conn.execute(select(Cluster.__table__).where(Cluster.id == cid)).one()


def test_daily_stats_match_hand_computed_values(fixture_db: Engine) -> None:
    result = update_trends(fixture_db, today=TODAY)
    stats = daily(fixture_db)
    d = lambda n: TODAY - timedelta(days=n)  # noqa: E731
    assert stats[(1, d(20))] == (2, 2, 1)  # two tickets, one organisation
    assert stats[(1, d(9))] == (1, 1, 1)
    assert stats[(1, d(2))] == (1, 1, 1)
    # cluster 2: days 0..4 get tickets i%5 -> two on days 0..3, one on day 4; plus the shared ticket on day 2
    assert stats[(2, d(0))] == (2, 2, 2) and stats[(2, d(4))] == (1, 1, 1)
    assert stats[(2, d(2))] == (3, 3, 3)  # orgs 602 and 600 plus the individual requester 77
    assert sum(v[0] for k, v in stats.items() if k[0] == 2) == 10
    assert all(k[0] in (1, 2) for k in stats)  # the unclustered issue is not counted
    assert result.full and result.clusters == 2


def test_cluster_figures_match_hand_computed_values(fixture_db: Engine) -> None:
    update_trends(fixture_db, today=TODAY)
    c1, c2 = cluster(fixture_db, 1), cluster(fixture_db, 2)
    assert (c1.issue_count, c1.ticket_count, c1.customer_count) == (4, 4, 3)  # orgs 500, 501 + requester 77
    assert (c1.count_7d, c1.count_prev_7d, c1.change_pct) == (1, 1, 0.0)
    assert c1.first_seen == at(20) and c1.last_seen == at(2) and c1.active
    assert c1.severity_mix == {"medium": 3, "high": 1}
    assert (c2.issue_count, c2.ticket_count, c2.customer_count) == (10, 10, 4)
    assert (c2.count_7d, c2.count_prev_7d, c2.change_pct) == (10, 0, None)
    assert c2.emerging and c2.emerging_reason.startswith("New: first seen")
    assert not c1.emerging


def test_incremental_update_recomputes_only_touched_days(fixture_db: Engine) -> None:
    update_trends(fixture_db, today=TODAY)
    with fixture_db.begin() as conn:
        add_issue(conn, 1, 0, org=502)
    result = update_trends(fixture_db, today=TODAY)
    assert not result.full and result.days_recomputed == 1
    assert daily(fixture_db)[(1, TODAY)] == (1, 1, 1)
    assert cluster(fixture_db, 1).count_7d == 2


def test_moving_an_issue_updates_both_clusters(fixture_db: Engine) -> None:
    update_trends(fixture_db, today=TODAY)
    with fixture_db.begin() as conn:
        issue_id = conn.execute(select(Issue.id).where(Issue.cluster_id == 1).order_by(Issue.id)).scalars().first()
        conn.execute(update(Issue.__table__).where(Issue.id == issue_id)
                     .values(cluster_id=2, updated_at=datetime.now(UTC)))
    update_trends(fixture_db, today=TODAY)
    d20 = TODAY - timedelta(days=20)
    assert daily(fixture_db)[(1, d20)] == (1, 1, 1) and daily(fixture_db)[(2, d20)] == (1, 1, 1)


def test_deleted_ticket_leaves_the_counts(fixture_db: Engine) -> None:
    update_trends(fixture_db, today=TODAY)
    with fixture_db.begin() as conn:
        victim = conn.execute(select(Issue.ticket_id).where(Issue.cluster_id == 1)
                              .order_by(Issue.ticket_created_at.desc())).scalars().first()
        conn.execute(update(Ticket.__table__).where(Ticket.id == victim).values(status="deleted"))
        forget_issues(conn, [victim])
    result = update_trends(fixture_db, today=TODAY)
    assert result.days_recomputed == 1
    assert (1, TODAY - timedelta(days=2)) not in daily(fixture_db)
    assert cluster(fixture_db, 1).issue_count == 3


def test_rising_cluster_against_its_baseline() -> None:
    first_seen = at(60)
    rising, reason = detect_emerging(first_seen=first_seen, today=TODAY, last7=21, baseline=18, recent14=25,
                                     customers=12)
    assert rising and reason.startswith("Rising: 21 tickets in the last 7 days vs 4.5/week")
    steady, _ = detect_emerging(first_seen=first_seen, today=TODAY, last7=6, baseline=20, recent14=11, customers=5)
    assert not steady
    small, _ = detect_emerging(first_seen=first_seen, today=TODAY, last7=5, baseline=0, recent14=5, customers=2)
    assert not small  # below the minimum volume, however steep


@pytest.mark.parametrize(("mix", "typical"), [
    ({"critical": 1, "medium": 40, "low": 9}, "medium"),  # one critical report does not make it critical
    ({"critical": 30, "high": 5, "low": 10}, "critical"),
    ({"high": 2, "low": 2}, "low"),  # an exact tie reads as the milder half
    ({}, None),
])
def test_a_cluster_shows_the_severity_of_its_median_member(mix: dict[str, int], typical: str | None) -> None:
    assert typical_severity(mix) == typical


def test_the_share_of_critical_reports_is_shown_beside_it() -> None:
    assert critical_share({"critical": 3, "medium": 9}) == 0.25
    assert critical_share({}) == 0.0


def test_poisson_tail() -> None:
    assert poisson_sf(0, 3.0) == 1.0
    assert poisson_sf(8, 2.0) == pytest.approx(0.0010967, rel=1e-4)


def test_emerging_fires_on_the_demo_emerging_issue_and_not_on_steady_ones(sqlite_engine: Engine) -> None:
    """Ground-truth clusters of the demo dataset: only the emerging issue is flagged."""
    from miner.demo.dataset import generate_dataset

    now = datetime.combine(TODAY, datetime.min.time(), UTC) + timedelta(hours=12)
    dataset = generate_dataset(now, n_tickets=6000)
    keys = sorted(dataset.issues)
    ids = {k: i + 1 for i, k in enumerate(keys)}
    with sqlite_engine.begin() as conn:
        for key in keys:
            make_cluster(conn, ids[key], key)
        rows_t, rows_i = [], []
        for t in dataset.tickets:
            label = dataset.labels[t.id]
            if t.deleted or not label.issue_keys:
                continue
            rows_t.append({"id": t.id, "subject": t.subject, "description": t.description, "status": t.status,
                           "tags": [], "created_at": t.created_at, "updated_at": t.updated_at,
                           "generated_timestamp": 0, "requester_id": t.requester_id,
                           "organization_id": t.organization_id, "synced_at": now})
            for key in label.issue_keys:
                rows_i.append({"ticket_id": t.id, "category": "c", "subcategory": "s", "issue_type": "bug",
                               "severity": "high", "summary": key, "detail": "", "representative_quote": "q",
                               "confidence": 1.0, "ticket_created_at": t.created_at,
                               "organization_id": t.organization_id, "requester_id": t.requester_id,
                               "cluster_id": ids[key], "cluster_pinned": False, "created_at": now,
                               "updated_at": now})
        conn.execute(insert(Ticket.__table__), rows_t)
        conn.execute(insert(TicketAnalysis.__table__), [{"ticket_id": r["id"], "state": "done", "updated_at": now}
                                                        for r in rows_t])
        conn.execute(insert(Issue.__table__), rows_i)
    update_trends(sqlite_engine, today=TODAY)
    with sqlite_engine.connect() as conn:
        flagged = {r.name: r for r in conn.execute(select(Cluster.__table__).where(Cluster.emerging.is_(True)))}
        by_name = {r.name: r for r in conn.execute(select(Cluster.__table__))}
    patterns = defaultdict(list)
    for key, issue in dataset.issues.items():
        patterns[issue.pattern].append(key)
    emerging_key = patterns["emerging"][0]
    assert set(flagged) == {emerging_key}
    assert flagged[emerging_key].emerging_reason.startswith("New: first seen")
    fading = by_name[patterns["fading"][0]]
    assert fading.count_7d <= 2 and not fading.emerging


def test_overview_tables_match_hand_computed_values(fixture_db: Engine) -> None:
    from miner.models import DailyIssueStat, DailyTicketStat
    from miner.queries import Period, PeriodFigures, overview_figures

    update_trends(fixture_db, today=TODAY)
    with fixture_db.connect() as conn:
        tickets = {r.day: (r.tickets, r.tickets_with_issues) for r in conn.execute(select(DailyTicketStat.__table__))}
        issues = {(r.day, r.severity): r.issues for r in conn.execute(select(DailyIssueStat.__table__))}
    d = lambda n: TODAY - timedelta(days=n)  # noqa: E731
    assert tickets[d(20)] == (2, 2) and tickets[d(2)] == (3, 3)  # the shared ticket counts once
    assert issues[(d(2), "critical")] == 1 and issues[(d(20), "high")] == 1
    assert sum(issues.values()) == 15  # 4 + 10 clustered + 1 unclustered
    figures = overview_figures(fixture_db, Period(d(29), TODAY)).current
    assert figures == PeriodFigures(tickets=14, issues=15, tickets_with_issues=14, critical=1, high=10)


def test_customer_column_names_who_reported_when_there_is_no_organisation(fixture_db: Engine) -> None:
    from miner.queries import TicketFilter, cluster_issues, search_tickets

    customers = set(cluster_issues(fixture_db, 1)["organization"])
    # organisations 500/501 have no synced name; ticket of requester 77 has no organisation at all
    assert customers == {"organization 500", "organization 501", "requester 77"}
    assert "requester 77" in set(search_tickets(fixture_db, TicketFilter())["organization"])


def test_quotes_come_from_different_customers_and_never_repeat_one_another(fixture_db: Engine) -> None:
    from miner.queries import representative_quotes

    quotes = ["The week view is so slow.", "Second thing: the week view is so slow", "THE WEEK VIEW IS SO SLOW",
              "Loading the rota takes a minute", "Filters reset every time", "It times out on Mondays"]
    with fixture_db.begin() as conn:
        ids = conn.execute(select(Issue.id).where(Issue.cluster_id == 2).order_by(Issue.id)).scalars().all()
        for n, issue_id in enumerate(ids):
            conn.execute(update(Issue).where(Issue.id == issue_id).values(
                representative_quote=quotes[n % len(quotes)], organization_id=900 + n, cluster_similarity=1 - n / 100))
        # forty more customers nearer the centre, all saying the first thing word for word
        for n in range(40):
            add_issue(conn, 2, 3, org=2000 + n)
        conn.execute(update(Issue).where(Issue.cluster_id == 2, Issue.organization_id >= 2000).values(
            representative_quote="the week view is so slow", cluster_similarity=1.0))
    shown = [quote.representative_quote for quote in representative_quotes(fixture_db, 2)]
    assert [q.casefold().rstrip(".") for q in shown] == ["the week view is so slow", "loading the rota takes a minute",
                                            "filters reset every time", "it times out on mondays"]


def test_no_cluster_is_flagged_emerging_while_most_tickets_wait_for_analysis(fixture_db: Engine) -> None:
    with fixture_db.begin() as conn:  # a sync brought tickets the analysis has not read yet
        for n in range(5):
            created = at(30 + n)
            conn.execute(insert(Ticket.__table__).values(
                id=90_000 + n, subject="unread", description="d", status="open", tags=[], created_at=created,
                updated_at=created, generated_timestamp=0, requester_id=9, organization_id=None, synced_at=created))
    result = update_trends(fixture_db, today=TODAY)
    burst = cluster(fixture_db, 2)
    assert result.unanalysed == 5 and result.emerging == 0
    assert not burst.emerging and burst.emerging_reason.startswith("Not assessed: 5 of ")
    with fixture_db.begin() as conn:  # the analysis catches up
        conn.execute(insert(TicketAnalysis.__table__), [
            {"ticket_id": 90_000 + n, "state": "done", "updated_at": datetime.now(UTC)} for n in range(5)])
    update_trends(fixture_db, today=TODAY)
    assert cluster(fixture_db, 2).emerging
