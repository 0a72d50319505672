"""The fix, and whether it worked, as a user meets it: the demo's fixed issue, the cluster page's Fix section
(link, create, refresh, errors), the fix date on the chart and the Clusters list's Fix column. On an app of
its own (demo mode: demo Zendesk and demo Jira), not test_pages' module-wide one."""

from __future__ import annotations

import dataclasses
import json
import socket
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest
from test_pages import everything_shown, installed, make_app, page, texts

from miner.app import MinerApp
from miner.clustering import edits
from miner.fixes import service, store
from miner.fixes.demo import fixed_cluster
from miner.fixes.demo_tracker import DEMO_FIXED_KEY
from miner.models import Cluster
from pages.ui.shared import refresh_data


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MinerApp]:
    """The demo as a new user runs it: the pipeline once, on 1,500 demo tickets."""
    db_url = f"sqlite:///{tmp_path_factory.mktemp('fixes') / 'miner.db'}"
    for miner in installed(make_app(db_url, MINER_DEMO_TICKETS="1500")):
        outcome = miner.worker.run_blocking("pipeline", {}, started_by="cli")
        assert outcome is not None and outcome.status == "succeeded", outcome
        yield miner


def fixed_cluster_id(miner: MinerApp) -> int:
    found = fixed_cluster(miner.engine, miner.context.demo_fixed_tickets)
    assert found is not None
    return found


def other_cluster_id(miner: MinerApp) -> int:
    with miner.engine.connect() as conn:
        ids = conn.execute(select(Cluster.id).where(Cluster.retired.is_(False)).order_by(Cluster.size.desc())
                           ).scalars().all()
    return next(cid for cid in ids if cid != fixed_cluster_id(miner) and not store.links_for_cluster(miner.engine, cid))


def button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def test_the_demo_links_its_fixed_issue_and_the_drop_is_significant(demo: MinerApp) -> None:
    links = store.links_for_cluster(demo.engine, fixed_cluster_id(demo))
    assert [(lk.key, lk.status, lk.resolved) for lk in links] == [(DEMO_FIXED_KEY, "Done", True)]
    effect = service.effect_of(demo.engine, links[0])
    assert effect is not None and effect.verdict == "fell", effect
    assert effect.p_value is not None and effect.p_value < 0.01
    assert effect.rate_after is not None and effect.rate_before is not None
    # at least halved (the 1,500-ticket demo's cluster holds some neighbouring schedule reports besides)
    assert effect.rate_after < effect.rate_before / 2


def test_the_fixed_clusters_page_states_the_effect_and_marks_the_fix_on_its_chart(demo: MinerApp) -> None:
    at = page("cluster", id=str(fixed_cluster_id(demo)), period="Last 120 days")
    shown = texts(at)
    assert "Fix" in shown and "/week → " in shown and "since the fix on" in shown
    assert any(b.proto.label == f"Jira {DEMO_FIXED_KEY}" for b in at.get("link_button"))
    chart = at.get("plotly_chart")[0].proto.spec
    assert '"dash":"dash"' in chart.replace(" ", "") and f"{DEMO_FIXED_KEY} resolved" in chart


def test_a_chart_of_a_period_after_the_fix_reaches_back_to_show_the_weeks_before_it(demo: MinerApp) -> None:
    (link,) = store.links_for_cluster(demo.engine, fixed_cluster_id(demo))
    fixed_on = link.resolved_at.date()
    at = page("cluster", id=str(fixed_cluster_id(demo)), period="Last 30 days")  # the fix is older than that
    bars = json.loads(at.get("plotly_chart")[0].proto.spec)["data"][0]
    first_day = date.fromisoformat(str(bars["x"][0])[:10])
    assert first_day <= fixed_on - timedelta(days=28)  # the rate before the fix is on the chart, not cut off
    assert f"From {first_day:%b %d}: the 4 weeks before the fix are shown beside the period." in texts(at)
    assert at.metric[0].label == "Tickets in period"  # the figures stay the sidebar period's


def test_linking_an_existing_jira_issue_shows_its_status(demo: MinerApp) -> None:
    cid = other_cluster_id(demo)
    at = page("cluster", id=str(cid))
    next(t for t in at.text_input if t.label == "Link an existing issue").input("sw-102")
    button(at, "Link").click().run()
    assert not at.exception
    links = store.links_for_cluster(demo.engine, cid)
    assert [(lk.key, lk.status) for lk in links] == [("SW-102", "In Progress")]
    assert "status: In Progress" in everything_shown(page("cluster", id=str(cid)))


def test_an_unknown_key_is_one_clear_line(demo: MinerApp) -> None:
    cid = other_cluster_id(demo)
    at = page("cluster", id=str(cid))
    next(t for t in at.text_input if t.label == "Link an existing issue").input("SW-9999")
    button(at, "Link").click().run()
    assert not at.exception
    assert "Jira has no issue SW-9999" in "\n".join(e.value for e in at.error)
    assert store.links_for_cluster(demo.engine, cid) == []


def test_creating_a_jira_issue_from_the_cluster_links_it(demo: MinerApp) -> None:
    cid = other_cluster_id(demo)
    at = page("cluster", id=str(cid))
    button(at, "Create Jira issue").click().run()
    assert not at.exception
    [link] = store.links_for_cluster(demo.engine, cid)
    assert link.status == "To Do" and link.created_by
    assert demo.demo_tracker is not None
    assert demo.demo_tracker.jira_issue(link.key).summary  # created in the demo Jira, with a summary
    demo.demo_tracker.resolve_jira(link.key)  # the team fixes it; the page's refresh picks it up
    at = page("cluster", id=str(cid))
    button(at, "Refresh status").click().run()
    assert not at.exception
    assert store.links_for_cluster(demo.engine, cid)[0].resolved
    assert "Not enough data yet (0 days after the fix)" in texts(page("cluster", id=str(cid)))


def test_an_unreachable_tracker_is_one_clear_line(demo: MinerApp) -> None:
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    real = demo.worker.ctx
    demo.worker.ctx = dataclasses.replace(real, demo_tracker_url=f"http://127.0.0.1:{port}")
    try:
        cid = other_cluster_id(demo)
        at = page("cluster", id=str(cid))
        button(at, "Create Jira issue").click().run()
        assert not at.exception
        errors = "\n".join(e.value for e in at.error)
        assert "Jira did not answer" in errors and "cannot connect" in errors
    finally:
        demo.worker.ctx = real


def test_the_clusters_list_shows_each_clusters_fix_and_its_status(demo: MinerApp) -> None:
    refresh_data()
    at = page("clusters", period="Last 120 days")
    table = at.dataframe[0].value
    assert "fix" in table.columns
    assert f"{DEMO_FIXED_KEY} · Done" in set(table["fix"])


def test_merging_a_cluster_moves_its_fix_link(demo: MinerApp) -> None:
    source = other_cluster_id(demo)
    trackers = demo.trackers()
    try:
        store.link(demo.engine, source, trackers["jira"].fetch("SW-103"))
    finally:
        service.close_trackers(trackers)
    target = fixed_cluster_id(demo)
    edits.merge(demo.engine, source, target, author="pm@acme.example")
    assert store.links_for_cluster(demo.engine, source) == []
    assert {lk.key for lk in store.links_for_cluster(demo.engine, target)} == {DEMO_FIXED_KEY, "SW-103"}


def test_the_refresh_run_is_in_the_run_history(demo: MinerApp) -> None:
    outcome = demo.worker.run_blocking("refresh_links", {}, started_by="schedule", job_id="hourly_fix_links")
    assert outcome is not None and outcome.status == "succeeded"
    assert outcome.result["links"]["checked"] >= 1 and outcome.result["links"]["failed"] == 0
    at = page("operations")
    assert "Fix links" in "\n".join([texts(at), *(df.value.to_string() for df in at.dataframe)])


def test_settings_test_the_demo_jira(demo: MinerApp) -> None:
    at = page("settings")
    button(at, "Test Jira").click().run()
    assert not at.exception
    assert "Signed in to Jira at http://127.0.0.1:" in "\n".join(s.value for s in at.success)
    assert "JIRA_API_TOKEN" in at.dataframe[0].value.to_string()  # every tracker setting is listed


def test_operations_shows_a_tracker_that_keeps_failing(tmp_path) -> None:
    from miner import health
    from miner.fixes.demo_tracker import DemoTracker

    with DemoTracker(jira_credentials=("pm@acme.example", "jira-token")) as jira:
        base = make_app(f"sqlite:///{tmp_path / 'tracker.db'}", JIRA_BASE_URL=jira.url, JIRA_EMAIL="pm@acme.example",
                        JIRA_API_TOKEN="jira-token")
        for miner in installed(base):
            with miner.engine.begin() as conn:
                conn.execute(Cluster.__table__.insert().values(id=1, name="Export broken", name_source="offline"))
            trackers = miner.trackers()
            try:
                service.link_existing(miner.engine, trackers["jira"], 1, jira.add_jira_issue("Export broken"))
            finally:
                service.close_trackers(trackers)
            jira.faults.respond(3, 401, {"errorMessages": ["Client must be authenticated"]})
            for _ in range(3):
                assert miner.worker.run_blocking("refresh_links", {}, started_by="cli") is not None
            health.run_checks(miner.settings, miner.engine)
            shown = everything_shown(page("operations"))
            assert "Tracker" in shown and "Jira: 3 refreshes in a row failed (never answered)" in shown
