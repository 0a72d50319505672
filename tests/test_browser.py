"""Real-browser smoke test: `streamlit run dashboard.py` driven by Chromium through Playwright.

Load the demo, run the full pipeline and watch its progress bar reach the end, open a cluster, set its
status and a note, reload and find them kept; a ticket whose subject is an HTML payload shows as text.
Screenshots of every page land in artifacts/screenshots/.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[1]
SHOTS = REPO / "artifacts" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
XSS = "<img src=x onerror=alert(1)>"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium (apt-get install -y chromium)"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    port = free_port()
    db_path = tmp_path_factory.mktemp("browser") / "miner.db"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{db_path}", "MINER_DEMO_TICKETS": "1500",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    log = open(tmp_path_factory.mktemp("log") / "streamlit.log", "w")  # noqa: SIM115
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "dashboard.py", "--server.port", str(port),
                             "--server.headless", "true"], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/api/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail("streamlit did not start")
    yield base, db_path
    proc.terminate()
    proc.wait(15)
    log.close()


@pytest.fixture(scope="module")
def browser_page(server: tuple[str, Path]) -> Iterator:
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        page = browser.new_page(viewport={"width": 1440, "height": 1000})
        dialogs: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.dialogs = dialogs  # type: ignore[attr-defined]
        yield page
        browser.close()


def wait_idle(base: str, timeout: float = 240) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = httpx.get(f"{base}/api/tasks/worker/status").json()
        if not status["is_running"]:
            return status
        time.sleep(0.5)
    raise AssertionError("the run did not finish in time")


def shot(page, name: str) -> None:
    """Screenshot the whole page: Streamlit scrolls inside its own container, so grow the viewport."""
    page.wait_for_timeout(1500)  # let charts finish drawing
    height = page.evaluate("() => document.querySelector('[data-testid=stMain]').scrollHeight")
    page.set_viewport_size({"width": 1440, "height": min(max(int(height) + 40, 1000), 6000)})
    page.wait_for_timeout(1000)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    page.set_viewport_size({"width": 1440, "height": 1000})


def settle(page) -> None:
    page.wait_for_selector('[data-testid="stApp"]')
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=60_000)


def test_dashboard_end_to_end_in_a_real_browser(server: tuple[str, Path], browser_page) -> None:
    base, db_path = server
    page = browser_page

    # first start: the welcome panel, one click loads the demo
    page.goto(base)
    page.get_by_text("Welcome to Product Issue Miner").wait_for(timeout=60_000)
    shot(page, "01-welcome")
    page.get_by_role("button", name="Load demo data").click()
    page.get_by_role("progressbar").first.wait_for(timeout=30_000)
    seen = watch_progress(page)
    assert wait_idle(base)["status"] == "completed"
    assert len(seen) >= 3, f"the progress bar should move while the demo loads, saw {seen}"
    page.get_by_text("Top clusters", exact=True).wait_for(timeout=60_000)  # the page redrew itself with the figures

    # Operations: press Full pipeline (re-reading everything) and watch it to the end, no reload
    page.goto(f"{base}/operations")
    page.get_by_role("button", name="Run full pipeline").wait_for(timeout=30_000)
    page.get_by_label("Re-read days").fill("120")
    page.get_by_role("button", name="Run full pipeline").click()
    page.get_by_role("progressbar").first.wait_for(timeout=30_000)
    seen = watch_progress(page)
    final = wait_idle(base)
    assert final["status"] == "completed" and final["kind"] == "pipeline"
    assert final["last_result"]["sync"]["tickets_unchanged"] > 1000  # it really re-read everything
    assert seen, "the live progress bar showed while the pipeline ran"
    # the bar reached its end and gave way to the outcome, in the same page, without a reload
    page.get_by_text(f"Full pipeline #{final['run_id']} completed").wait_for(timeout=30_000)
    shot(page, "05-operations")

    # every page, with data
    page.goto(base)
    page.get_by_text("Top clusters", exact=True).wait_for(timeout=60_000)
    shot(page, "02-overview")
    page.goto(f"{base}/clusters")
    page.get_by_text("Select a row to open the cluster.").wait_for(timeout=60_000)
    shot(page, "03-clusters")

    # a cluster: set status and a note, reload, both kept
    cluster_id = _first_cluster(db_path)
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

    # a hostile subject shows as text
    _insert_hostile_ticket(db_path)
    page.goto(f"{base}/tickets?ticket=999999")
    heading = page.get_by_role("heading", name=XSS)
    heading.wait_for(timeout=60_000)
    assert heading.inner_text() == XSS  # shown as the characters it is made of
    assert page.locator("img[src='x']").count() == 0  # and never turned into an element
    assert page.dialogs == []  # type: ignore[attr-defined]
    shot(page, "06-ticket")
    page.goto(f"{base}/tickets")
    page.get_by_text("Select a ticket to read it.").wait_for(timeout=60_000)
    shot(page, "07-tickets")

    page.goto(f"{base}/settings")
    page.get_by_text("Connection tests").wait_for(timeout=60_000)
    shot(page, "08-settings")


def watch_progress(page, timeout: float = 240) -> set[str]:
    """Values the live progress bar showed until it made way for the run's outcome."""
    seen: set[str] = set()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        values = page.evaluate(
            "() => [...document.querySelectorAll('[role=progressbar]')].map(e => e.getAttribute('aria-valuenow'))")
        if not values:
            break
        seen.update(v for v in values if v)
        page.wait_for_timeout(150)
    return seen


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


def _first_cluster(db_path: Path) -> int:
    with sqlite3.connect(db_path) as conn:
        return conn.execute("SELECT id FROM clusters WHERE NOT retired ORDER BY ticket_count DESC LIMIT 1").fetchone()[0]


def _insert_hostile_ticket(db_path: Path) -> None:
    with sqlite3.connect(db_path) as conn:
        conn.execute(
            "INSERT INTO tickets (id, subject, description, status, tags, created_at, updated_at, "
            "generated_timestamp, synced_at) VALUES (999999, ?, ?, 'open', '[]', datetime('now'), datetime('now'), "
            "0, datetime('now'))", (XSS, f"Hello {XSS} **not bold** [not a link](http://example.com)"))
