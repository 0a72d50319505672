"""Every dashboard page through Streamlit's AppTest, with demo data and with an empty database."""

from __future__ import annotations

import html
import re
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
PHISH = "Log in at www.phish.example or http://evil.example/login, mail help@evil.example **now** :red[!] $x^2$"


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
        outcome = miner.worker.run_blocking("pipeline", {"batch_size": 5000}, started_by="cli")
        assert outcome is not None and outcome.status == "succeeded", outcome
        with miner.engine.begin() as conn:
            ticket = conn.execute(select(Ticket.__table__).where(Ticket.status != "deleted")).first()
            conn.execute(insert(Ticket.__table__).values(
                {**ticket._mapping, "id": 999_999, "subject": XSS, "description": f"Body with {XSS} inside"}))
            conn.execute(insert(Ticket.__table__).values(
                {**ticket._mapping, "id": 999_998, "subject": PHISH, "description": f"Hello\n{PHISH}"}))
        yield miner


@pytest.fixture
def empty(tmp_path: Path) -> Iterator[MinerApp]:
    yield from installed(make_app(f"sqlite:///{tmp_path / 'empty.db'}"))


def page(name: str | None = None, *, signed_in: bool = True, period: str | None = "Last 30 days",
         user: dict | None = None, link_period: str | None = None, **params: str) -> AppTest:
    at = AppTest.from_file(str(REPO / "dashboard.py"), default_timeout=60)
    if period is not None:  # None: a new session, the period from the link (or the default)
        at.session_state["period_choice"] = period
    if signed_in:
        at.session_state["authenticated"] = True
    if user is not None:  # single sign-on: an [auth] section and this identity
        at.secrets["auth"] = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x" * 32,
                              "client_id": "id", "client_secret": "secret",
                              "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration"}
        at.user = user
    for key, value in params.items():
        at.query_params[key] = value
    if link_period is not None:  # ?period=... in the URL
        at.query_params["period"] = link_period
    at.run()
    if not signed_in and name is None:
        # AppTest runs a `pages/` app first through Streamlit's old folder discovery (the server never does:
        # dashboard.py switches it off); our navigation then moves the session to the default page, and
        # widgets are identified per page. One more run starts where a browser starts.
        at.run()
    if name is not None:
        at.switch_page(f"pages/{name}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def everything_shown(at: AppTest) -> str:
    """All text the page put on screen, whatever element shows it."""
    parts = [texts(at)] + [str(h.proto.body) for h in at.get("html")] + [t.value for t in at.text]
    parts += [df.value.to_string() for df in at.dataframe]
    return "\n".join(parts)


def texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption] + [t.value for t in at.title]
    parts += [e.value for e in at.info] + [e.value for e in at.warning] + [e.value for e in at.error]
    parts += [e.value for e in at.success]
    return re.sub(r"\\(.)", r"\1", "\n".join(str(p) for p in parts))  # undo Markdown escaping


# --- access -------------------------------------------------------------------------------------


def test_password_gate(empty: MinerApp) -> None:
    at = page(signed_in=False)
    assert [b.label for b in at.button] == ["Sign in"] and at.text_input[0].label == "Password"
    at.text_input[0].input("wrong")
    at.button[0].click().run()
    assert "Wrong password." in texts(at)
    at.text_input[0].input(PASSWORD)
    at.button[0].click().run()
    assert "Welcome to Product Issue Miner" in texts(at)


def test_wrong_passwords_are_throttled_across_sessions(empty: MinerApp) -> None:
    empty.login_throttle.clock = lambda: 1000.0  # time stands still while we guess
    for attempt in range(empty.login_throttle.free_attempts):
        at = page(signed_in=False)  # a fresh browser session each time
        at.text_input[0].input(f"guess-{attempt}")
        at.button[0].click().run()
        assert "Wrong password." in texts(at)
    at = page(signed_in=False)
    at.text_input[0].input(PASSWORD)  # even the right one is not checked while the client must wait
    at.button[0].click().run()
    assert "Too many wrong passwords. Try again in" in texts(at)
    assert "Welcome to Product Issue Miner" not in texts(at)
    empty.login_throttle.clock = lambda: 10**9  # much later
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


# (the module-scoped `loaded` app stays installed from here on: tests that use `empty` come first)


@pytest.mark.parametrize("name", ["overview", "clusters", "cluster", "tickets", "operations", "settings"])
def test_every_page_opened_directly_asks_for_the_password_and_shows_nothing(loaded: MinerApp, name: str) -> None:
    """A page run on its own (as Streamlit runs a `pages/` script before any navigation) is gated too."""
    with loaded.engine.connect() as conn:
        cluster_name = conn.execute(select(Cluster.name).where(Cluster.retired.is_(False))).scalars().first()
        subject = conn.execute(select(Ticket.subject).where(Ticket.id == 999_998)).scalar_one()
    at = page(name, signed_in=False, id="1", ticket="999998")
    assert [b.label for b in at.button] == ["Sign in"]
    shown = everything_shown(at)
    assert cluster_name not in shown and subject not in shown and "Run history" not in shown
    assert "Password" in [t.label for t in at.text_input]


def test_single_sign_on_users_who_are_not_admins_cannot_use_settings_or_run_checks(loaded: MinerApp) -> None:
    reader = {"is_logged_in": True, "email": "pm@acme.example", "name": "Pat PM"}
    settings = page("settings", user=reader)
    assert "Only admins can see the settings and run connection tests." in texts(settings)
    assert not [b for b in settings.button if b.label.startswith("Test ")]
    assert not settings.dataframe
    operations = page("operations", user=reader)
    labels = [b.label for b in operations.button]
    assert "Check now" not in labels and "Run now" not in labels and "Sync" not in labels
    signed_out = page("clusters", user={"is_logged_in": False})
    assert [b.label for b in signed_out.button] == ["Sign in"] and not signed_out.dataframe


def test_overview_shows_figures_charts_and_emerging(loaded: MinerApp) -> None:
    at = page(**{})
    labels = [m.label for m in at.metric]
    assert labels == ["Tickets", "Product issues", "Critical + high issues", "With a product issue"]
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
    assert "Fix scheduled for 7.3" in everything_shown(again)


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
    for wrong in ("not-a-number", "99999999999999999999", "-3"):
        at = page("cluster", id=wrong)
        assert "There is no cluster" in texts(at)


def test_ticket_numbers_too_big_for_an_id_are_answered(loaded: MinerApp) -> None:
    at = page("tickets", ticket="99999999999999999999")
    assert "There is no ticket" in texts(at)
    at.text_input(key="tk_text").input("99999999999999999999").run()
    assert not at.exception and "No ticket matches" in texts(at)


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
    gate = loaded.demo.faults.hold()  # the sync waits at its first Zendesk request: it is surely running
    try:
        next(b for b in at.button if b.label == "Sync").click().run()
        assert gate.wait_until_held()
        next(b for b in at.button if b.label == "Analyze").click().run()
        assert "is already running" in texts(at)
        with loaded.engine.connect() as conn:
            after = conn.execute(select(TaskRun.__table__).where(TaskRun.id.not_in(before))).all()
        assert [(r.kind, r.trigger, r.status) for r in after] == [("sync", "dashboard", "running")]
    finally:
        loaded.demo.faults.clear()
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
    assert loaded.scheduler.job_status()[0].cron == "0 2 * * *"  # unchanged


def test_settings_page_masks_secrets(loaded: MinerApp) -> None:
    at = page("settings")
    shown = everything_shown(at)
    assert SECRET_TOKEN not in shown and PASSWORD not in shown
    rows = dict(zip(at.dataframe[0].value["setting"], at.dataframe[0].value["value"], strict=True))
    assert rows["MINER_API_TOKEN"] == rows["MINER_DASHBOARD_PASSWORD"] == "••••••••"  # not even a few characters


def test_credentials_inside_urls_are_not_shown(tmp_path: Path) -> None:
    settings = Settings.load(env={"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "MINER_SOURCE": "zendesk",
                                  "ZENDESK_BASE_URL": "https://bot:zd-secret-42@acme.zendesk.com",
                                  "ZENDESK_OAUTH_TOKEN": "oauth-token-123",
                                  "ANTHROPIC_BASE_URL": "https://user:gw-secret-7@gateway.example"},
                             secrets_file=False)
    shown = repr(settings.describe())
    assert "zd-secret-42" not in shown and "gw-secret-7" not in shown and "oauth-token-123" not in shown
    assert "https://bot:***@acme.zendesk.com" in shown
    assert settings.zendesk_public_url == "https://acme.zendesk.com"  # what links and pages use
    assert settings.zendesk_url == "https://bot:zd-secret-42@acme.zendesk.com"  # what the client uses


@pytest.mark.parametrize("ticket_id", ["999999", "999998"])
def test_ticket_text_is_shown_as_the_characters_it_is_made_of(loaded: MinerApp, ticket_id: str) -> None:
    at = page("tickets", ticket=ticket_id, period="Last 120 days")
    with loaded.engine.connect() as conn:
        subject = conn.execute(select(Ticket.subject).where(Ticket.id == int(ticket_id))).scalar_one()
    headings = [h.proto.body for h in at.get("html")]
    assert f"<h3>{html.escape(subject)}</h3>" in headings  # every character escaped: no tag, no link
    markdown = texts(at)  # everything Streamlit parses as Markdown
    for fragment in ("www.phish.example", "evil.example", "<img"):
        assert fragment not in markdown


def test_operations_shows_the_running_run_then_its_outcome(loaded: MinerApp) -> None:
    gate = loaded.demo.faults.hold()
    try:
        run_id = loaded.worker.submit("sync", {"backfill_days": 30}, started_by="dashboard")
        assert gate.wait_until_held()  # the run is going, and stays where it is while we look
        at = page("operations")
        bar = at.get("progress")
        assert bar, "a progress bar while the run is going"
        assert f"Sync #{run_id}" in bar[0].proto.text and "elapsed" in bar[0].proto.text
        assert "Cancel run" in [b.label for b in at.button]
    finally:
        loaded.demo.faults.clear()
        loaded.worker.wait(120)
    done = page("operations")
    assert f"Sync #{run_id} succeeded" in texts(done)


# --- figures a reader can trust -------------------------------------------------------------------


def test_top_clusters_are_ranked_and_count_customers_in_the_same_period_as_tickets(loaded: MinerApp) -> None:
    at = page()
    top = at.dataframe[0].value
    assert list(top["rank"]) == list(range(1, len(top) + 1))  # a rank, not an id that reads like one
    assert (top["period_customers"] <= top["period_tickets"]).all()  # a customer has at least one ticket
    clusters = page("clusters").dataframe[0].value.set_index("name")
    for row in top.itertuples():  # the same figure agrees on both pages
        assert clusters.loc[row.name, "period_tickets"] == row.period_tickets
        assert clusters.loc[row.name, "period_customers"] == row.period_customers


def test_cluster_page_labels_period_and_all_time_figures_and_agrees_with_the_list(loaded: MinerApp) -> None:
    listing = page("clusters").dataframe[0].value
    with loaded.engine.connect() as conn:
        names = dict(conn.execute(select(Cluster.name, Cluster.id).where(Cluster.retired.is_(False))).all())
    name = listing.iloc[0]["name"]
    at = page("cluster", id=str(names[name]))
    metrics = {m.label: m.value for m in at.metric}
    assert set(metrics) >= {"Tickets in period", "Tickets, all time", "Customers, all time", "Last 7 days"}
    assert int(metrics["Tickets in period"].replace(",", "")) == listing.iloc[0]["period_tickets"]


def test_no_change_is_shown_against_a_period_before_the_data(loaded: MinerApp) -> None:
    at = page(period="Last 120 days")  # the demo's tickets span 120 days: the 120 before hold none
    assert all(m.proto.delta == "" for m in at.metric), [m.proto.delta for m in at.metric]
    assert "No change shown: the data does not reach back over the whole previous period." in texts(at)
    recent = page(period="Last 7 days")  # the week before is covered: changes are shown against it
    assert "Changes against the 7 days before." in texts(recent)
    assert "No change shown" not in texts(recent)
    # a metric equal to last week's shows no arrow, so not every metric need have one; the demo's counts differ
    assert any(m.proto.delta for m in recent.metric), [m.proto.delta for m in recent.metric]


def test_the_period_is_in_the_link(loaded: MinerApp) -> None:
    from miner.queries import Period

    at = page("clusters", period=None, link_period="90d")  # a new session opening a shared link
    assert f"counted in {Period.last(90).start:%b %d} - " in texts(at)
    picked = page("clusters", period="Last 7 days")  # picked in the sidebar: the URL says so
    assert picked.query_params["period"] == "7d"
    custom = page("clusters", period=None, link_period="2026-10-01..2026-10-31")
    assert "counted in Oct 01 - Oct 31, 2026" in texts(custom)
    wrong = page(period=None, link_period="last-fortnight")
    assert "The link's period ` last-fortnight ` is not one this dashboard knows" in texts(wrong)
    assert f"{Period.last(30).start:%b %d, %Y} - " in texts(wrong)


def test_clusters_show_category_names_and_export_what_is_shown(loaded: MinerApp) -> None:
    at = page("clusters", period="Last 120 days")
    at.multiselect(key="cl_columns").set_value(["id", "category"]).run()
    shown = at.dataframe[0].value
    assert "id" in shown.columns and not shown["category"].str.contains("_").any()  # display names
    assert "Critical share" not in str(list(shown.columns))  # opt-in columns stay out unless asked for
    total = len(shown)
    at.text_input(key="cl_text").input(shown.iloc[0]["name"][:12]).run()
    filtered = len(at.dataframe[0].value)
    assert filtered < total
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels == [f"Export these {filtered} clusters (CSV)"]


def test_activity_log_reads_as_sentences(loaded: MinerApp) -> None:
    from miner.clustering import edits

    with loaded.engine.connect() as conn:
        cid = conn.execute(select(Cluster.id).where(Cluster.retired.is_(False)).order_by(Cluster.id.desc())).scalars().first()
    edits.set_status(loaded.engine, cid, "reviewing", author=None)
    at = page("cluster", id=str(cid))
    shown = everything_shown(at)
    assert "Status: New → Reviewing" in shown
    assert "nan" not in shown.split() and "{'from'" not in shown


def test_ticket_export_follows_the_filters(loaded: MinerApp) -> None:
    from miner.queries import Period, TicketFilter, export_issues, search_tickets

    everything = TicketFilter(period=Period.last(120))
    some = TicketFilter(period=Period.last(120), severities=("critical",))
    all_rows, critical = export_issues(loaded.engine, everything), export_issues(loaded.engine, some)
    assert 0 < len(critical) < len(all_rows) and set(critical["severity"]) == {"critical"}
    shown = search_tickets(loaded.engine, some, limit=100_000)
    assert set(critical["ticket_id"]) == set(shown["id"])


def test_operations_say_one_word_for_success_and_know_when_checks_ran(loaded: MinerApp) -> None:
    from miner import health

    health.run_checks(loaded.settings, loaded.engine, loaded.context.demo_url)
    at = page("operations")
    last = next(s.value for s in at.success if "Last run:" in s.value)
    assert "succeeded" in last and "completed" not in last  # the history says "succeeded" too
    checks = next(j for j in loaded.scheduler.job_status() if j.id == "health_check")
    assert checks.last_run is not None and checks.last_run["status"] in ("succeeded", "failed")
    shown = [m.value for m in at.markdown if m.value.startswith("Last run")]
    assert any("never" not in value for value in shown), shown  # the health check's row


def test_weekly_report_is_labelled_as_its_file_is(loaded: MinerApp) -> None:
    from miner import reports

    reports.generate_weekly_report(loaded.engine)
    at = page("operations")
    label = next(m.value for m in at.markdown if m.value.startswith("Week "))
    stored = reports.list_reports(loaded.engine, limit=1)[0]
    title = stored.markdown.splitlines()[0]  # "# Product issues: week of Nov 28 - Dec 04, 2026"
    assert label.split(" · ")[0].removeprefix("Week ") == title.split("week of ")[1]


def test_a_busy_worker_names_the_running_run_in_good_english() -> None:
    from datetime import UTC, datetime

    from miner.runs.runner import Busy

    class Running:
        id, kind, stage, total, done, started_by = 7, "analyze", None, None, 0, "dashboard"
        started_at = datetime(2026, 12, 1, tzinfo=UTC)

    assert str(Busy(Running())).startswith("An analyze run (#7")  # type: ignore[arg-type]
    Running.kind = "sync"
    assert str(Busy(Running())).startswith("A sync run (#7")  # type: ignore[arg-type]


def test_rising_this_week_lists_only_clusters_that_rose(loaded: MinerApp) -> None:
    from miner.queries import rising_clusters

    with loaded.engine.begin() as conn:  # one that fell, one that rose: only the second is rising
        ids = conn.execute(select(Cluster.id).where(Cluster.retired.is_(False)).order_by(Cluster.id)).scalars().all()
        conn.execute(Cluster.__table__.update().where(Cluster.id == ids[0]).values(
            count_7d=6, count_prev_7d=12, change_pct=-50.0))
        conn.execute(Cluster.__table__.update().where(Cluster.id == ids[1]).values(
            count_7d=12, count_prev_7d=6, change_pct=100.0))
    rising = rising_clusters(loaded.engine, 50)
    assert ids[1] in {r.id for r in rising} and ids[0] not in {r.id for r in rising}
    assert all(r.count_7d > r.count_prev_7d for r in rising)


def test_changes_read_as_a_person_would_say_them() -> None:
    from pages.ui.shared import fmt_change, fmt_week_change

    assert fmt_change(120, 100) == "+20%" and fmt_change(80, 100) == "-20%"
    assert fmt_change(1187, 1) == "1187× as many"  # not "+118,600%"
    assert fmt_change(5, 0) == "new" and fmt_change(7, 7) is None  # no "+0" on a coloured arrow
    assert fmt_change(120, 100, covered=False) is None  # a period before the data: no change at all
    assert [fmt_week_change(*pair) for pair in ((6, 3), (40, 2), (4, 0), (0, 0))] == ["+100%", "×20", "new", "—"]


def test_run_details_are_a_table_of_figures() -> None:
    from pages.ui.widgets import run_details

    table = run_details({"backfill_days": None, "batch_size": None},
                        {"sync": {"tickets_new": 5941, "seconds": 4.28}, "analyze": {"issues": 3973},
                         "llm_cost_usd": 0.0})
    rows = {(r.stage, r.figure): r.value for r in table.itertuples()}
    assert rows[("Parameters", "Batch size")] == "all waiting"
    assert rows[("Sync", "Tickets new")] == "5,941" and rows[("Sync", "Seconds")] == "4.28"
    assert rows[("Analyze", "Issues")] == "3,973" and rows[("Run", "Llm cost usd")] == "0"


def test_operations_list_what_the_sync_set_aside(loaded: MinerApp) -> None:
    from datetime import UTC, datetime

    from sqlalchemy import delete

    from miner import db
    from miner.models import SyncQuarantine
    from miner.quarantine import Quarantine

    with db.write_transaction(loaded.engine) as conn:
        Quarantine.load(loaded.engine).hold(conn, stream="tickets", object_type="ticket", object_id=424242,
                                            error="created_at: not a date", excerpt='{"id": 424242}',
                                            now=datetime.now(UTC))
    try:
        at = page("operations")
        held = next(df.value for df in at.dataframe if "excerpt" in df.value.columns)
        assert held[["type", "id", "error", "seen"]].to_dict("records") == [
            {"type": "ticket", "id": "424242", "error": "created_at: not a date", "seen": 1}]
    finally:
        with loaded.engine.begin() as conn:
            conn.execute(delete(SyncQuarantine))
