"""Real-browser smoke test: `streamlit run dashboard.py` driven by Chromium through Playwright.

Load the demo, run the full pipeline and watch its progress bar reach the end, open a cluster, set its
status and a note, reload and find them kept; create a Jira issue from it and see its status (and the
resolution after a refresh); a ticket whose subject is an HTML payload shows as text.
Screenshots of every page land in artifacts/screenshots/.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from miner.demo.server import DemoZendesk
from miner.fixes.demo_tracker import DemoTracker
from tests.servers import REPO, chromium, dashboard, needs_chromium, settle

SHOTS = REPO / "artifacts" / "screenshots"
XSS = "<img src=x onerror=alert(1)>"
PHISH = "Reset it at www.phish.example or http://evil.example/login, or mail help@evil.example"
INCREMENTAL = ("/api/v2/incremental/tickets/cursor.json", "/api/v2/incremental/ticket_events.json")

pytestmark = [pytest.mark.browser, needs_chromium]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, DemoZendesk, DemoTracker]]:
    """The dashboard on Zendesk (a double whose gate the test holds) and Jira Cloud (the demo tracker,
    checking credentials), local access explicitly allowed."""
    db_path = tmp_path_factory.mktemp("browser") / "miner.db"
    with DemoZendesk(n_tickets=1500, credentials=("admin@acme.example", "zd-token")) as zendesk, \
            DemoTracker(jira_credentials=("pm@acme.example", "jira-token")) as jira:
        env = {"DATABASE_URL": f"sqlite:///{db_path}", "MINER_SOURCE": "zendesk", "ZENDESK_BASE_URL": zendesk.url,
               "ZENDESK_EMAIL": "admin@acme.example", "ZENDESK_API_TOKEN": "zd-token",
               "ZENDESK_INCREMENTAL_RPM": "0", "MINER_LOCAL_ACCESS": "true", "JIRA_BASE_URL": jira.url,
               "JIRA_EMAIL": "pm@acme.example", "JIRA_API_TOKEN": "jira-token", "JIRA_PROJECT_KEY": "SW"}
        with dashboard(env, tmp_path_factory.mktemp("log") / "streamlit.log") as base:
            yield base, db_path, zendesk, jira


@pytest.fixture(scope="module")
def browser_page(server: tuple[str, Path, DemoZendesk, DemoTracker]) -> Iterator:
    SHOTS.mkdir(parents=True, exist_ok=True)
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1440, "height": 1000})
        dialogs: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.dialogs = dialogs  # type: ignore[attr-defined]
        yield page


def worker_status(base: str) -> dict:
    return httpx.get(f"{base}/api/tasks/worker/status").json()  # local access: no token needed here


def wait_idle(base: str, timeout: float = 240) -> dict:
    deadline = time.monotonic() + timeout
    while (status := worker_status(base))["is_running"]:
        assert time.monotonic() < deadline, "the run did not finish in time"
        time.sleep(0.5)
    return status


def shot(page, name: str) -> None:
    """Screenshot the whole page at a laptop's and a small screen's width (1440x900, 1024x768):
    Streamlit scrolls inside its own container, so the viewport grows to the page's height."""
    for width, height in ((1440, 900), (1024, 768)):
        page.set_viewport_size({"width": width, "height": height})
        settle(page)
        content = page.evaluate("() => document.querySelector('[data-testid=stMain]').scrollHeight")
        page.set_viewport_size({"width": width, "height": min(max(int(content) + 40, height), 6000)})
        settle(page)
        page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1440, "height": 1000})


BAR = '[data-testid="stMain"] [role="progressbar"]'


def watch_held_run(page: Any, gate: Any) -> list[str]:
    """With the run held at its first Zendesk request: the live bar shows; let one page through and see
    the bar move (no reload); then let the rest go. Returns the values the bar showed."""
    assert gate.wait_until_held()
    page.locator('[data-testid="stMain"]').get_by_text("Syncing tickets").wait_for(timeout=30_000)
    bar = page.locator(BAR).first
    first = bar.get_attribute("aria-valuenow")
    assert gate.step()  # the first page of tickets stored, the next request held
    page.wait_for_function(f"""() => {{
        const bar = document.querySelector('{BAR}');
        return bar && bar.getAttribute('aria-valuenow') !== {first!r};
    }}""", timeout=90_000)  # the run is held at the gate, so only a busy machine's slowness counts here
    moved = bar.get_attribute("aria-valuenow")
    gate.open()
    return [first, moved]


def test_dashboard_end_to_end_in_a_real_browser(server: tuple[str, Path, DemoZendesk, DemoTracker],
                                                browser_page) -> None:
    base, db_path, zendesk, jira = server
    page = browser_page

    # first start: nothing analysed yet, one click runs the pipeline and the page follows it live
    page.goto(base)
    page.get_by_text("No product issues yet").wait_for(timeout=60_000)
    shot(page, "01-welcome")
    gate = zendesk.faults.hold(INCREMENTAL)
    page.get_by_role("button", name="Run the full pipeline").click()
    seen = watch_held_run(page, gate)
    assert seen[0] == "0" and int(seen[1]) > 0, f"the progress bar should move while the pipeline runs: {seen}"
    assert wait_idle(base)["status"] == "completed"
    page.get_by_text("Top clusters", exact=True).wait_for(timeout=60_000)  # the page redrew itself with the figures

    # Operations: press Full pipeline (re-reading everything) and watch it to the end, no reload
    page.goto(f"{base}/operations")
    page.get_by_role("button", name="Run full pipeline").wait_for(timeout=30_000)
    page.get_by_role("spinbutton", name="Re-read days").fill("120")
    gate = zendesk.faults.hold(INCREMENTAL)
    page.get_by_role("button", name="Run full pipeline").click()
    seen = watch_held_run(page, gate)
    assert seen[0] != seen[1]
    final = wait_idle(base)
    assert final["status"] == "completed" and final["kind"] == "pipeline"
    assert final["last_result"]["sync"]["tickets_unchanged"] > 1000  # it really re-read everything
    # the bar reached its end and gave way to the outcome, in the same page, without a reload
    page.get_by_text(f"Full pipeline #{final['run_id']} succeeded").wait_for(timeout=30_000)
    shot(page, "05-operations")

    # every page, with data
    page.goto(base)
    page.get_by_text("Top clusters", exact=True).wait_for(timeout=60_000)
    shot(page, "02-overview")
    page.goto(f"{base}/clusters")
    page.get_by_text("Select a row to open the cluster.").wait_for(timeout=60_000)
    shot(page, "03-clusters")

    # a cluster: set status and a note, reload, both kept
    cluster_id = _clusters(db_path)[0]
    page.goto(f"{base}/cluster?id={cluster_id}")
    page.get_by_text("Triage", exact=True).wait_for(timeout=60_000)
    choose(page, "Status", "Planned")
    wait_until(lambda: _status(db_path, cluster_id) == "planned")
    page.wait_for_timeout(1500)  # the page reruns after saving the status
    settle(page)
    note = "Reproduced on 7.2; fix planned for 7.3"
    for _ in range(3):  # a rerun landing between typing and clicking clears the form: type again
        page.get_by_label("Add a note").fill(note)
        page.get_by_role("button", name="Save note").click()
        try:
            page.get_by_text(note).wait_for(timeout=10_000)
            break
        except Exception:
            continue
    page.get_by_text(note).wait_for(timeout=10_000)
    page.reload()
    page.get_by_text("Reproduced on 7.2; fix planned for 7.3").wait_for(timeout=60_000)
    settle(page)
    shot(page, "04-cluster")
    assert _status(db_path, cluster_id) == "planned"
    assert page.get_by_text("Planned", exact=True).first.is_visible()  # the status badge, after a reload

    # the fix: create a Jira issue from the cluster, see it and its status; resolved, a refresh shows it
    page.get_by_role("button", name="Create Jira issue").click()
    wait_until(lambda: bool(_links(db_path, cluster_id)), timeout=60)
    key = _links(db_path, cluster_id)[0]
    assert jira.jira_issue(key).project == "SW"
    page.get_by_text(f"Jira {key}", exact=True).wait_for(timeout=60_000)  # the link, not the "Created ..." toast
    page.get_by_text("status: To Do").wait_for(timeout=60_000)
    jira.resolve_jira(key)
    page.get_by_role("button", name="Refresh status").click()
    page.get_by_text("resolved: Done").wait_for(timeout=60_000)
    page.get_by_text("Not enough data yet (0 days after the fix)").wait_for(timeout=60_000)
    shot(page, "04-cluster-fix")

    # hostile ticket text shows as the characters it is made of: no element, no script, no link
    other_cluster = _clusters(db_path)[1]  # one no page has shown (and cached) yet
    _insert_hostile_tickets(db_path, other_cluster)
    page.goto(f"{base}/tickets?ticket=999999")
    heading = page.get_by_role("dialog").get_by_role("heading", name=XSS)  # opens over the table
    heading.wait_for(timeout=60_000)
    assert heading.inner_text() == XSS
    assert page.locator("img[src='x']").count() == 0
    assert page.dialogs == []  # type: ignore[attr-defined]
    shot(page, "06-ticket")
    page.goto(f"{base}/tickets?ticket=999998")  # subject, message, extracted summary and quote
    page.get_by_role("heading", name=PHISH).wait_for(timeout=60_000)
    settle(page)
    assert page.get_by_text(PHISH).count() >= 4
    assert page.locator("a[href*='phish'], a[href*='evil']").count() == 0
    page.goto(f"{base}/cluster?id={other_cluster}")  # a cluster named after a customer's words
    page.get_by_role("heading", name=PHISH).wait_for(timeout=60_000)
    settle(page)
    assert page.locator("a[href*='phish'], a[href*='evil']").count() == 0
    page.goto(f"{base}/tickets")
    page.get_by_text("Select a ticket to read it.").wait_for(timeout=60_000)
    shot(page, "07-tickets")

    page.goto(f"{base}/settings")
    page.get_by_text("Connection tests").wait_for(timeout=60_000)
    shot(page, "08-settings")


def choose(page, label: str, option: str, attempts: int = 4) -> None:
    """Pick an option of a Streamlit selectbox, retrying if a rerun redraws it mid-click."""
    from playwright.sync_api import Error as PlaywrightError

    for attempt in range(attempts):
        try:
            page.get_by_label(label).click(timeout=10_000)
            page.get_by_role("option", name=option).click(timeout=5_000)
            return
        except PlaywrightError:
            if attempt == attempts - 1:
                raise
            page.keyboard.press("Escape")
            page.wait_for_timeout(500)


def wait_until(condition, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.2)


def _status(db_path: Path, cluster_id: int) -> str:
    with sqlite3.connect(db_path) as conn:
        return conn.execute("SELECT triage_status FROM clusters WHERE id = ?", (cluster_id,)).fetchone()[0]


def _links(db_path: Path, cluster_id: int) -> list[str]:
    with sqlite3.connect(db_path) as conn:
        return [row[0] for row in conn.execute("SELECT key FROM cluster_links WHERE cluster_id = ?", (cluster_id,))]


def _clusters(db_path: Path) -> list[int]:
    with sqlite3.connect(db_path) as conn:
        return [row[0] for row in conn.execute("SELECT id FROM clusters WHERE NOT retired ORDER BY ticket_count DESC")]


def _insert_hostile_tickets(db_path: Path, cluster_id: int) -> None:
    with sqlite3.connect(db_path) as conn:
        ticket = ("INSERT INTO tickets (id, subject, description, status, tags, created_at, updated_at, "
                  "generated_timestamp, synced_at) VALUES (?, ?, ?, 'open', '[]', datetime('now'), datetime('now'), "
                  "0, datetime('now'))")
        conn.execute(ticket, (999999, XSS, f"Hello {XSS} **not bold** [not a link](http://example.com)"))
        conn.execute(ticket, (999998, PHISH, PHISH))
        conn.execute(
            "INSERT INTO issues (ticket_id, category, subcategory, issue_type, severity, summary, detail, "
            "representative_quote, confidence, ticket_created_at, cluster_id, cluster_pinned, created_at, "
            "updated_at) VALUES (999998, 'authentication', 'login', 'bug', 'high', ?, ?, ?, 0.9, datetime('now'), "
            "?, 0, datetime('now'), datetime('now'))", (PHISH, PHISH, PHISH, cluster_id))
        conn.execute("UPDATE clusters SET name = ? WHERE id = ?", (PHISH, cluster_id))
