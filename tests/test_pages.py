"""Every dashboard page through Streamlit's AppTest, with demo data and with an empty database."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import insert, select
from streamlit.testing.v1 import AppTest

from miner import app as app_module
from miner.app import MinerApp
from miner.config import Settings
from miner.models import Cluster, ClusterNote, TaskRun, Ticket
from miner.runtime import runtime
from pages.ui.shared import refresh_data

REPO = Path(__file__).resolve().parents[1]
PASSWORD = "open-sesame"
SECRET_TOKEN = "api-token-not-for-display-9876"
XSS = "<img src=x onerror=alert(1)>"


def make_app(db_url: str, **env: str) -> MinerApp:
    settings = Settings.load(env={"DATABASE_URL": db_url, "MINER_SCHEDULER": "false", "MINER_DEMO_TICKETS": "700",
                                  "MINER_DASHBOARD_PASSWORD": PASSWORD, "MINER_API_TOKEN": SECRET_TOKEN, **env},
                             secrets_file=False)
    return MinerApp(settings)


def installed(miner: MinerApp) -> Iterator[MinerApp]:
    app_module.uninstall()
    app_module.install(miner)
    runtime.clear()
    refresh_data()
    yield miner.start(scheduler=False)
    app_module.uninstall()
    runtime.clear()
    refresh_data()


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MinerApp]:
    """An app whose database holds the demo pipeline's results."""
    db_url = f"sqlite:///{tmp_path_factory.mktemp('pages') / 'miner.db'}"
    for miner in installed(make_app(db_url)):
        outcome = miner.worker.run_blocking("pipeline", {"batch_size": 5000}, trigger="cli")
        assert outcome is not None and outcome.status == "succeeded", outcome
        with miner.engine.begin() as conn:
            ticket = conn.execute(select(Ticket.__table__).where(Ticket.status != "deleted")).first()
            conn.execute(insert(Ticket.__table__).values(
                {**ticket._mapping, "id": 999_999, "subject": XSS, "description": f"Body with {XSS} inside"}))
        yield miner


@pytest.fixture
def empty(tmp_path: Path) -> Iterator[MinerApp]:
    yield from installed(make_app(f"sqlite:///{tmp_path / 'empty.db'}"))


def page(name: str | None = None, *, signed_in: bool = True, period: str = "Last 30 days", **params: str) -> AppTest:
    at = AppTest.from_file(str(REPO / "dashboard.py"), default_timeout=60)
    at.session_state["period_choice"] = period
    if signed_in:
        at.session_state["authenticated"] = True
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    if name is not None:
        at.switch_page(f"pages/{name}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption] + [t.value for t in at.title]
    parts += [e.value for e in at.info] + [e.value for e in at.warning] + [e.value for e in at.error]
    parts += [e.value for e in at.success]
    return re.sub(r"\\(.)", r"\1", "\n".join(str(p) for p in parts))  # undo Markdown escaping


# --- access -------------------------------------------------------------------------------------


def test_password_gate(empty: MinerApp) -> None:
    at = page(signed_in=False)
    assert "Sign in" in [b.label for b in at.button] or at.text_input
    at.text_input[0].input("wrong")
    at.button[0].click().run()
    assert "Wrong password." in texts(at)
    at.text_input[0].input(PASSWORD)
    at.button[0].click().run()
    assert "Welcome to Product Issue Miner" in texts(at)


# --- empty states -------------------------------------------------------------------------------


def test_first_start_explains_demo_mode_and_loads_it_in_one_click(empty: MinerApp) -> None:
    at = page()
    assert "demo mode" in texts(at) and "700 realistic support tickets" in texts(at)
    load = next(b for b in at.button if b.label == "Load demo data")
    load.click().run()
    with empty.engine.connect() as conn:
        run = conn.execute(select(TaskRun.__table__)).one()
    assert (run.kind, run.trigger) == ("pipeline", "dashboard")
    empty.worker.wait(120)


@pytest.mark.parametrize("name", ["clusters", "cluster", "tickets"])
def test_pages_explain_what_to_do_when_there_is_no_data(empty: MinerApp, name: str) -> None:
    at = page(name)
    assert "Operations" in texts(at)


# --- with data ----------------------------------------------------------------------------------


def test_overview_shows_figures_charts_and_emerging(loaded: MinerApp) -> None:
    at = page(**{})
    labels = [m.label for m in at.metric]
    assert labels == ["Tickets", "Product issues", "Critical + high", "Tickets with a product issue"]
    assert int(at.metric[0].value.replace(",", "")) > 0
    assert "Top clusters" in texts(at) and "Last pipeline: succeeded" in texts(at)
    assert at.get("plotly_chart")


def test_clusters_page_filters(loaded: MinerApp) -> None:
    at = page("clusters")
    assert "clusters" in texts(at)
    at.text_input(key="cl_text").input("zzzz-no-such-cluster").run()
    assert "No cluster matches these filters." in texts(at)


def test_cluster_detail_triage_and_notes_persist(loaded: MinerApp) -> None:
    with loaded.engine.connect() as conn:
        cid = conn.execute(select(Cluster.id).where(Cluster.retired.is_(False)).order_by(Cluster.id)).scalars().first()
    at = page("cluster", id=str(cid))
    at.selectbox(key=f"status_{cid}").set_value("planned").run()
    at.text_area[0].input("Fix scheduled for 7.3 (JIRA-88)")
    next(b for b in at.button if b.label == "Save note").click().run()
    with loaded.engine.connect() as conn:
        status = conn.execute(select(Cluster.triage_status).where(Cluster.id == cid)).scalar_one()
        notes = conn.execute(select(ClusterNote.body).where(ClusterNote.cluster_id == cid)).scalars().all()
    assert status == "planned" and notes == ["Fix scheduled for 7.3 (JIRA-88)"]
    again = page("cluster", id=str(cid))  # a fresh session: still there
    assert "Fix scheduled for 7.3" in texts(again)


def test_cluster_detail_rejects_bad_edits(loaded: MinerApp) -> None:
    with loaded.engine.connect() as conn:
        cid = conn.execute(select(Cluster.id).where(Cluster.retired.is_(False)).order_by(Cluster.id)).scalars().first()
    at = page("cluster", id=str(cid))
    next(b for b in at.button if b.label == "Save note").click().run()
    assert "note: write something first" in texts(at)
    next(t for t in at.text_input if t.label == "Name").input("ab")
    next(b for b in at.button if b.label == "Save name").click().run()
    assert "name: must be 3-120 characters" in texts(at)


def test_unknown_cluster_id_falls_back_with_a_message(loaded: MinerApp) -> None:
    at = page("cluster", id="987654")
    assert "no longer exists" in texts(at)
    at = page("cluster", id="not-a-number")
    assert "There is no cluster" in texts(at)


def test_tickets_search(loaded: MinerApp) -> None:
    at = page("tickets", period="Last 120 days")
    assert at.dataframe
    at.text_input(key="tk_text").input("zzzz-nothing-matches").run()
    assert "No ticket matches" in texts(at)
    at.text_input(key="tk_text").input("x" * 201).run()
    assert "too long" in texts(at)


def test_operations_starts_runs_and_refuses_a_second_one(loaded: MinerApp) -> None:
    at = page("operations")
    with loaded.engine.connect() as conn:
        before = conn.execute(select(TaskRun.id)).scalars().all()
    next(b for b in at.button if b.label == "Sync").click().run()
    next(b for b in at.button if b.label == "Analyze").click().run()  # while the sync may still run
    with loaded.engine.connect() as conn:
        after = conn.execute(select(TaskRun.__table__).where(TaskRun.id.not_in(before))).all()
    assert after and after[0].kind == "sync" and after[0].trigger == "dashboard"
    assert len(after) == 2 or "already running" in texts(at)
    loaded.worker.wait(120)
    refreshed = page("operations")
    assert "Run history" in texts(refreshed) and refreshed.dataframe


def test_operations_schedule_edit_validates(loaded: MinerApp) -> None:
    at = page("operations")
    cron = next(t for t in at.text_input if t.label.startswith("Cron"))
    cron.input("99 99 * * *")
    next(b for b in at.button if b.label == "Save").click().run()
    assert not at.exception
    assert "cron:" in texts(at)
    assert loaded.scheduler.job_status()[0]["cron"] == "0 2 * * *"  # unchanged


def test_settings_page_masks_secrets(loaded: MinerApp) -> None:
    at = page("settings")
    shown = at.dataframe[0].value.to_string() + texts(at)
    assert SECRET_TOKEN not in shown and PASSWORD not in shown
    assert "api" in shown.lower() and "•" in shown


def test_ticket_text_is_escaped(loaded: MinerApp) -> None:
    from pages.ui.shared import escape

    rendered = escape(XSS)
    assert "<img" not in rendered and "&lt;img" in rendered
    assert escape("**bold** [link](http://x)") == r"\*\*bold\*\* \[link\]\(http://x\)"


def test_operations_shows_the_running_run_then_its_outcome(loaded: MinerApp) -> None:
    from miner.demo.server import DemoZendesk

    with DemoZendesk(loaded.demo.dataset) as slow:
        slow.faults.latency = 1.0
        original = loaded.worker.ctx
        loaded.worker.ctx = type(original)(original.settings, original.engine, demo_url=slow.url)
        try:
            run_id = loaded.worker.submit("sync", {"backfill_days": 30}, trigger="dashboard")
            time.sleep(0.5)
            at = page("operations")
            bar = at.get("progress")
            assert bar, "a progress bar while the run is going"
            assert f"Sync #{run_id}" in bar[0].proto.text and "elapsed" in bar[0].proto.text
            assert "Cancel run" in [b.label for b in at.button]
        finally:
            loaded.worker.wait(120)
            loaded.worker.ctx = original
    done = page("operations")
    assert f"Sync #{run_id} completed" in texts(done)
