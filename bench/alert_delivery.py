"""Alert delivery benchmark: the outbox under a 429/5xx storm, with several deliverers and a crashed one.

200 alerts go to two channels (a Teams double and a signed-webhook double, real HTTP servers on
127.0.0.1: `tests/fakes/alert_receivers.py`), 400 deliveries. Four deliverer threads (standing in for
replicas) drain the outbox at once; before they start, a "crashed" deliverer claims 20 deliveries and
never finishes them, so those come back only when their claim expires. The baseline is the same run
with calm receivers; the storm answers a share of all requests with 429 (Retry-After: 0) or 500/502/503.

    python bench/alert_delivery.py [--alerts 200] [--storm 0.4] [--deliverers 4] [--postgres URL]

Targets: 0 lost, 0 duplicated (each delivery reaches its receiver exactly once), 0 failed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from miner import db  # noqa: E402
from miner.alerts import outbox  # noqa: E402
from miner.alerts.deliver import Backoff, deliver_due  # noqa: E402
from miner.alerts.message import Alert, Candidate  # noqa: E402
from miner.alerts.settings import AlertSettings  # noqa: E402
from miner.models import AlertDelivery  # noqa: E402
from miner.vocabulary import AlertRule, DeliveryStatus  # noqa: E402
from tests.fakes.alert_receivers import WEBHOOK_SECRET, Receivers  # noqa: E402

CLAIM_SECONDS = 5.0  # short, so the crashed deliverer's rows come back within the run
BACKOFF = Backoff(base=0.05, cap=0.5)  # seconds, so a storm is weathered within the run


@dataclass
class Outcome:
    name: str
    deliveries: int
    delivered: int
    failed: int
    lost: int
    duplicated: int
    requests: int
    seconds: float


def run(name: str, url: str, alerts: int, storm: float, deliverers: int) -> Outcome:
    engine = db.make_engine(url)
    db.upgrade(engine)
    with Receivers(storm=storm, seed=7) as receivers:
        settings = AlertSettings.load({
            "MINER_ALERT_TEAMS_TYPE": "teams", "MINER_ALERT_TEAMS_URL": receivers.teams_url,
            "MINER_ALERT_HOOK_TYPE": "webhook", "MINER_ALERT_HOOK_URL": receivers.webhook_url,
            "MINER_ALERT_HOOK_SECRET": WEBHOOK_SECRET, "MINER_ALERT_MAX_ATTEMPTS": "40",
            "MINER_ALERT_CLAIM_SECONDS": str(CLAIM_SECONDS), "MINER_ALERT_TIMEOUT": "5"}, secrets_file=False)
        now = datetime.now(UTC)
        candidates = [Candidate(f"bench:{name}:{i}", Alert(AlertRule.EMERGING, f"Alert {i}", "bench", cluster_id=i),
                                size=10) for i in range(alerts)]
        outbox.fire(engine, candidates, settings.channels, now)
        outbox.claim(engine, now, lease=CLAIM_SECONDS, limit=20)  # the crashed deliverer: claims, never sends
        started = time.monotonic()
        deadline = started + 120

        def deliverer() -> None:
            while time.monotonic() < deadline:
                deliver_due(engine, settings, backoff=BACKOFF, limit=10)
                if _open(engine) == 0:
                    return
                time.sleep(0.05)

        threads = [threading.Thread(target=deliverer) for _ in range(deliverers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        seconds = time.monotonic() - started
        got = Counter((r.kind, r.body.get("title") or _teams_title(r.body)) for r in receivers.received)
        requests = receivers.requests
    with engine.connect() as conn:
        status = Counter(dict(conn.execute(select(AlertDelivery.status, func.count()).group_by(AlertDelivery.status)).all()))
    engine.dispose()
    expected = {(kind, f"Alert {i}") for kind in ("teams", "webhook") for i in range(alerts)}
    return Outcome(name, len(expected), status[DeliveryStatus.DELIVERED], status[DeliveryStatus.FAILED],
                   lost=len(expected - set(got)), duplicated=sum(n - 1 for n in got.values() if n > 1),
                   requests=requests, seconds=seconds)


def _open(engine: object) -> int:
    from sqlalchemy import Engine

    assert isinstance(engine, Engine)
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(AlertDelivery).where(
            AlertDelivery.status.in_([DeliveryStatus.PENDING, DeliveryStatus.SENDING]))).scalar_one())


def _teams_title(body: dict) -> str:
    return str(body["attachments"][0]["content"]["body"][0]["inlines"][0]["text"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--alerts", type=int, default=200)
    parser.add_argument("--storm", type=float, default=0.4, help="share of requests answered 429/5xx")
    parser.add_argument("--deliverers", type=int, default=4)
    parser.add_argument("--postgres", help="also run on this PostgreSQL URL")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        urls = {"sqlite": f"sqlite:///{tmp}/calm.db"}
        results = [run("baseline (calm)", urls["sqlite"], args.alerts, 0.0, args.deliverers),
                   run(f"storm {args.storm:.0%}", f"sqlite:///{tmp}/storm.db", args.alerts, args.storm, args.deliverers)]
        if args.postgres:
            results.append(run(f"storm {args.storm:.0%} (PostgreSQL)", args.postgres, args.alerts, args.storm,
                               args.deliverers))
    print(f"{args.alerts} alerts x 2 channels, {args.deliverers} deliverers, 20 deliveries left claimed by a "
          f"crashed deliverer (claim {CLAIM_SECONDS:g} s)")
    print(f"{'run':<28}{'deliveries':>11}{'delivered':>10}{'failed':>7}{'lost':>6}{'dup':>5}{'requests':>10}{'seconds':>9}")
    for r in results:
        print(f"{r.name:<28}{r.deliveries:>11}{r.delivered:>10}{r.failed:>7}{r.lost:>6}{r.duplicated:>5}"
              f"{r.requests:>10}{r.seconds:>9.1f}")
    print("targets: lost 0, dup 0, failed 0")
    ok = all(r.lost == 0 and r.duplicated == 0 and r.failed == 0 for r in results)
    print("PASS" if ok else "FAIL")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
