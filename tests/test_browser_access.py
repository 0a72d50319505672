"""Every URL goes through the same gate and navigation, in every state of the server.

A fresh `streamlit run dashboard.py` (nothing has run st.navigation yet), every page's URL with its query
parameters, each opened in a fresh browser context: with a password, with single sign-on configured, with
neither (local access), and with neither but reached through a same-host forwarder under a public name.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.servers import REPO, chromium, dashboard, needs_chromium, settle, tcp_forwarder

pytestmark = [pytest.mark.browser, needs_chromium]
PASSWORD = "correct horse battery staple"
PAGES = ["Overview", "Clusters", "Cluster detail", "Tickets", "Operations", "Settings"]
INTERNAL = ["/charts", "/shared"]  # view helpers (formerly pages/_charts.py, pages/_shared.py): never pages


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A database with the demo pipeline's results (made with the CLI), and a ticket and a cluster in it."""
    path = tmp_path_factory.mktemp("access") / "miner.db"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{path}", "MINER_DEMO_TICKETS": "300"}
    subprocess.run([sys.executable, "-m", "miner", "pipeline", "--batch-size", "5000"], cwd=REPO, env=env,
                   check=True, capture_output=True)
    with sqlite3.connect(path) as conn:
        cluster_id, cluster_name = conn.execute(
            "SELECT id, name FROM clusters WHERE NOT retired ORDER BY ticket_count DESC LIMIT 1").fetchone()
        ticket_id, subject = conn.execute(
            "SELECT t.id, t.subject FROM tickets t JOIN issues i ON i.ticket_id = t.id "
            "WHERE i.cluster_id = ? ORDER BY t.id LIMIT 1", (cluster_id,)).fetchone()
    yield {"db": path, "cluster_id": cluster_id, "cluster_name": cluster_name, "ticket_id": ticket_id,
           "subject": subject}


def urls(facts: dict[str, Any]) -> dict[str, str]:
    """URL -> what the page shows once in (the deep link with its parameters comes first after the start)."""
    return {
        f"/tickets?ticket={facts['ticket_id']}": facts["subject"],
        "/": "Product issues",
        "/overview": "Product issues",
        "/clusters": "Select a row to open the cluster.",
        f"/cluster?id={facts['cluster_id']}": facts["cluster_name"],
        "/tickets": "Select a ticket to read it.",
        "/operations": "Run history",
        "/settings": "Connection tests",
        **{path: "Product issues" for path in INTERNAL},  # not a page: the default page instead
    }


def server_env(facts: dict[str, Any], **env: str) -> dict[str, str]:
    return {"DATABASE_URL": f"sqlite:///{facts['db']}", "MINER_DEMO_TICKETS": "300", "MINER_SCHEDULER": "false",
            **env}


def open_fresh(browser: Any, url: str) -> tuple[Any, Any]:
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    page.goto(url)
    return context, page


def assert_shows_nothing(page: Any, facts: dict[str, Any]) -> None:
    body = page.inner_text("body")
    assert facts["subject"] not in body and facts["cluster_name"] not in body, body[:500]
    assert "Run history" not in body and "KeyError" not in body and "Traceback" not in body, body[:500]
    assert page.locator('[data-testid="stSidebarNav"]').count() == 0  # not even the list of pages


@pytest.mark.parametrize("mode", ["password", "single sign-on"])
def test_with_sign_in_configured_every_url_asks_first(mode: str, loaded: dict[str, Any], tmp_path: Path) -> None:
    args: list[str] = []
    env = server_env(loaded)
    if mode == "password":
        env["MINER_DASHBOARD_PASSWORD"] = PASSWORD
    else:
        secrets = tmp_path / "secrets.toml"
        secrets.write_text('[auth]\nredirect_uri = "http://localhost:8501/oauth2callback"\n'
                           f'cookie_secret = "{"c" * 40}"\nclient_id = "miner"\nclient_secret = "s3cret"\n'
                           'server_metadata_url = "http://127.0.0.1:9/.well-known/openid-configuration"\n')
        args = ["--secrets.files", str(secrets)]
    with dashboard(env, tmp_path / "streamlit.log", args) as base, chromium() as browser:
        for url in urls(loaded):
            context, page = open_fresh(browser, base + url)
            page.get_by_role("button", name="Sign in").wait_for(timeout=60_000)
            settle(page)
            assert_shows_nothing(page, loaded)
            context.close()
        if mode == "password":  # signing in on a deep link lands on what it points to
            ticket = f"/tickets?ticket={loaded['ticket_id']}"
            context, page = open_fresh(browser, base + ticket)
            page.get_by_label("Password", exact=True).fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.get_by_role("heading", name=loaded["subject"]).wait_for(timeout=60_000)
            context.close()


def test_with_neither_every_url_shows_its_page_through_the_navigation(loaded: dict[str, Any], tmp_path: Path) -> None:
    with dashboard(server_env(loaded), tmp_path / "streamlit.log") as base, chromium() as browser:
        for url, marker in urls(loaded).items():
            context, page = open_fresh(browser, base + url)
            page.get_by_text(marker, exact=False).first.wait_for(timeout=60_000)
            settle(page)
            nav = page.locator('[data-testid="stSidebarNav"] a').all_inner_texts()
            assert [n.strip().splitlines()[-1] for n in nav] == PAGES, (url, nav)  # icon name, then title
            body = page.inner_text("body")
            assert "KeyError" not in body and "Traceback" not in body, (url, body[:500])
            context.close()


def test_with_neither_a_forwarded_browser_is_not_local(loaded: dict[str, Any], tmp_path: Path) -> None:
    """socat/stunnel/ssh -R style: the TCP peer is 127.0.0.1, but the browser asked for a public name."""
    with dashboard(server_env(loaded), tmp_path / "streamlit.log") as base, \
            tcp_forwarder(int(base.rsplit(":", 1)[1])) as port, \
            chromium("--host-resolver-rules=MAP miner.example 127.0.0.1") as browser:
        for url in [f"/tickets?ticket={loaded['ticket_id']}", "/", "/clusters", "/settings"]:
            context, page = open_fresh(browser, f"http://miner.example:{port}{url}")
            page.get_by_text("This dashboard only answers browsers on the machine it runs on").wait_for(timeout=60_000)
            settle(page)
            assert_shows_nothing(page, loaded)
            context.close()
        context, page = open_fresh(browser, base + "/clusters")  # the same server, straight from this machine
        page.get_by_text("Select a row to open the cluster.").wait_for(timeout=60_000)
        context.close()
