"""Regenerate the README screenshots (docs/screenshots/*.png) from a real server on the default demo.

    python docs/make_screenshots.py

Runs the full pipeline on a fresh 6,000-ticket demo database, starts `streamlit run dashboard.py` on it and
photographs the overview, the clusters list, the biggest cluster's page and operations in Chromium
(/usr/bin/chromium) at 1440x900.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "screenshots"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="miner-shots-"))
    db_path = workdir / "miner.db"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{db_path}", "MINER_SCHEDULER": "true",
           "PYTHONPATH": str(ROOT)}
    env.pop("ANTHROPIC_API_KEY", None)
    subprocess.run([sys.executable, "-m", "miner", "pipeline"], cwd=ROOT, env=env,
                   check=True)
    with sqlite3.connect(db_path) as conn:
        cluster_id = conn.execute("SELECT id FROM clusters WHERE NOT retired ORDER BY count_7d DESC LIMIT 1").fetchone()[0]
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "dashboard.py", "--server.port", str(port),
                               "--server.headless", "true"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(f"{base}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        OUT.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            for name, path in (("overview", "/"), ("clusters", "/clusters"), ("cluster", f"/cluster?id={cluster_id}"),
                               ("operations", "/operations")):
                page.goto(base + path)
                page.wait_for_selector("[data-testid='stMainBlockContainer']")
                page.wait_for_timeout(4000)  # charts draw after the script finishes
                page.screenshot(path=str(OUT / f"{name}.png"), full_page=True)
                print(f"wrote {OUT / f'{name}.png'}")
            browser.close()
    finally:
        server.terminate()
        server.wait(15)


if __name__ == "__main__":
    main()
