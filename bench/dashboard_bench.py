"""Dashboard speed on a large database: server-side render time of every page (target <= 1 s).

Builds (once, then reuses) an SQLite database with 1,000,000 tickets over 120 days, ~600,000 issues in
300 clusters, their daily stats and figures, and renders each page with Streamlit's AppTest: the time
of a script run is the server time a browser waits for. Each page is rendered cold (empty query cache)
and warm.

    python bench/dashboard_bench.py [--tickets 1000000] [--db /tmp/miner-1m.db] [--rebuild]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# AppTest runs pages in "bare mode", which warns about a missing ScriptRunContext on every run.
os.environ.setdefault("STREAMLIT_LOGGER_LEVEL", "error")

CLUSTERS = 300
CATEGORIES = [("mobile", "android"), ("mobile", "ios"), ("performance", "slow"), ("authentication", "sso"),
              ("integrations", "payroll"), ("core_workflow", "scheduling"), ("data_reporting", "reports"),
              ("notifications", "push"), ("billing", "charges"), ("ui_ux", "navigation")]
SEVERITIES = ["critical", "high", "medium", "medium", "low"]


def build(path: Path, n_tickets: int) -> None:
    from miner import db
    from miner.trends import update_trends

    if path.exists():
        path.unlink()
    engine = db.make_engine(f"sqlite:///{path}")
    db.upgrade(engine)
    engine.dispose()
    rng = random.Random(7)
    now = datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(days=120)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    fmt = "%Y-%m-%d %H:%M:%S.000000"
    created = now.strftime(fmt)
    clusters = []
    for cid in range(1, CLUSTERS + 1):
        cat, sub = CATEGORIES[cid % len(CATEGORIES)]
        clusters.append((cid, f"Synthetic issue {cid}: {sub} problem number {cid}", "A generated cluster.",
                         "offline", 0, 1, None, 0, cat, sub, "bug", 0, None, None, "new", created, created,
                         0, 0, 0, None, None, 0, 0, None, 0, 0, None, "{}", None))
    conn.executemany(f"INSERT INTO clusters VALUES ({','.join('?' * 30)})", clusters)
    weights = [1 / (i + 1) ** 0.8 for i in range(CLUSTERS)]
    batch_t, batch_i = [], []
    issue_id = 0
    for tid in range(1, n_tickets + 1):
        when = start + timedelta(seconds=rng.random() * 120 * 86400)
        ts = when.strftime(fmt)
        org = 36_000_000_000 + rng.randrange(5000)
        batch_t.append((tid, f"Ticket {tid} about something", f"Customer message number {tid}, with some text.",
                        rng.choice(["open", "solved", "closed", "pending"]), "normal", None, 37_000_000 + tid % 90000,
                        None, None, org, "[]", "web", ts, ts, int(when.timestamp()), None, created))
        if rng.random() < 0.6:
            issue_id += 1
            cid = rng.choices(range(1, CLUSTERS + 1), weights)[0]
            cat, sub = CATEGORIES[cid % len(CATEGORIES)]
            batch_i.append((issue_id, tid, cat, sub, "bug", rng.choice(SEVERITIES), f"Summary of issue {issue_id}",
                            "Detail.", "a quote", 0.8, ts, org, 37_000_000 + tid % 90000, created, cid,
                            rng.random(), 0, created))
        if len(batch_t) >= 50_000:
            conn.executemany(f"INSERT INTO tickets VALUES ({','.join('?' * 17)})", batch_t)
            conn.executemany(f"INSERT INTO issues VALUES ({','.join('?' * 18)})", batch_i)
            conn.commit()
            batch_t, batch_i = [], []
    conn.executemany(f"INSERT INTO tickets VALUES ({','.join('?' * 17)})", batch_t)
    conn.executemany(f"INSERT INTO issues VALUES ({','.join('?' * 18)})", batch_i)
    conn.commit()
    conn.close()
    engine = db.make_engine(f"sqlite:///{path}")
    started = time.perf_counter()
    update_trends(engine, full=True)
    print(f"  trends over {issue_id:,} issues: {time.perf_counter() - started:.1f} s")
    engine.dispose()


PAGES = ["overview", "clusters", "cluster", "tickets", "operations", "settings"]


def render_all(path: Path) -> list[tuple[str, float, float]]:
    from streamlit.logger import set_log_level
    from streamlit.testing.v1 import AppTest

    from miner import app as app_module
    from miner.app import MinerApp
    from miner.config import Settings
    from miner.runtime import runtime
    from pages.ui.shared import refresh_data

    set_log_level("error")

    settings = Settings.load(env={"DATABASE_URL": f"sqlite:///{path}", "MINER_SCHEDULER": "false",
                                  "MINER_SOURCE": "demo", "MINER_DEMO_TICKETS": "100",
                                  "MINER_DASHBOARD_PASSWORD": "bench"}, secrets_file=False)
    app_module.install(MinerApp(settings))
    runtime.clear()
    runtime()  # start outside the measurement, as the server's lifespan does (with its warm-up)
    import sklearn.cluster  # noqa: F401

    from pages.ui import charts as _charts

    _charts.warm_up()  # as the server lifespan does
    # Streamlit's one-time setup (component manifest scan, bare-mode checks) happens at server start in
    # production; under AppTest it lands on the first run, so take that run outside the measurement.
    # The throwaway run is not signed in, so it renders only the sign-in form.
    AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120).run()
    # Bare mode's "missing ScriptRunContext" warnings come from loggers made after set_log_level.
    for logger_name in list(logging.root.manager.loggerDict):
        if logger_name.startswith("streamlit"):
            logging.getLogger(logger_name).setLevel(logging.ERROR)
    results = []
    for name in PAGES:
        refresh_data()
        times = []
        for _ in range(2):  # cold (empty query cache), then warm
            at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120)
            at.session_state["authenticated"] = True
            at.session_state["period_choice"] = "Last 30 days"
            if name == "cluster":
                at.query_params["id"] = "1"
            if name == "overview":  # the default page: its first run is the measurement
                started = time.perf_counter()
                at.run()
            else:  # the first run shows the default page; then switch to the one measured
                at.run()
                started = time.perf_counter()
                at.switch_page(f"pages/{name}.py").run()
            times.append(time.perf_counter() - started)
            if at.exception:
                raise SystemExit(f"{name} failed: {at.exception[0].value}")
        results.append((name, times[0], times[1]))
    app_module.uninstall()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description="Dashboard render times on a large database")
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--db", type=Path, default=Path("/tmp/miner-dashboard-bench.db"))
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    os.chdir(ROOT)
    meta = args.db.with_suffix(".json")
    fresh = not args.db.exists() or args.rebuild or not meta.exists() or \
        json.loads(meta.read_text()).get("tickets") != args.tickets
    if fresh:
        print(f"Building a {args.tickets:,}-ticket database at {args.db} ...")
        started = time.perf_counter()
        build(args.db, args.tickets)
        meta.write_text(json.dumps({"tickets": args.tickets}))
        print(f"  built in {time.perf_counter() - started:.0f} s")
    results = render_all(args.db)
    print(f"\nServer-side render time per page, {args.tickets:,} tickets (target <= 1.0 s)\n")
    print(f"{'page':<12} {'cold':>7} {'warm':>7}")
    worst = 0.0
    for name, cold, warm in results:
        worst = max(worst, cold)
        print(f"{name:<12} {cold:>6.2f}s {warm:>6.2f}s  {'PASS' if cold <= 1.0 else 'FAIL'}")
    print(f"\nslowest cold render: {worst:.2f} s  {'PASS' if worst <= 1.0 else 'FAIL'}")


if __name__ == "__main__":
    main()
