"""Insight benchmark: the whole offline pipeline on the demo against its ground truth, replayed night by night.

The demo Zendesk serves a generated account whose every ticket has known product issues (0, 1 or 2) with a
known severity, and one incident: the iPhone app 7.2 crashes on clock-in, starting EMERGING_DAYS before
`now`. The replay syncs what existed `--days` days before `now`, analyses and clusters it, then runs the
nightly pipeline (sync, analyze, cluster, trends) once per simulated day up to `now`, as the scheduler does.

Printed, each beside its target:
- ARI of extracted issues (grouped by cluster) against their true issues, last 30 days (target >= 0.8)
- clusters per true issue among issues of the last 30 days (target <= 1.2)
- the incident: its own cluster? flagged emerging after how many days (target <= 2)? its name mentions
  the iPhone/iOS and clock-in or the crash?
- false emerging clusters, any night (target 0)
- severity: confusion matrix of extracted issues against the true severity; share of clusters whose shown
  (typical) severity is critical
- issues per ticket: precision of extracted issues (an issue is right when it is a distinct true issue of
  its ticket)

    python bench/insight_quality.py [--tickets 6000] [--days 30]
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import adjusted_rand_score

ROOT = Path(__file__).resolve().parents[1]

from sqlalchemy import select  # noqa: E402

from miner import db  # noqa: E402
from miner.analysis.analyze import analyze_pending  # noqa: E402
from miner.analysis.store import SyncReaction  # noqa: E402
from miner.analysis.taxonomy import load_taxonomy  # noqa: E402
from miner.clustering.run import run_clustering  # noqa: E402
from miner.config import Settings  # noqa: E402
from miner.demo import dataset as demo  # noqa: E402
from miner.demo.server import DemoZendesk  # noqa: E402
from miner.models import Cluster, Issue, Ticket  # noqa: E402
from miner.sync import run_sync  # noqa: E402
from miner.trends import typical_severity, update_trends  # noqa: E402
from miner.vocabulary import Severity  # noqa: E402
from miner.zendesk import ZendeskClient  # noqa: E402

SEVERITIES = Severity.values()
INCIDENT = "ios_app_crash_on_clock_in"
NOW = datetime(2026, 11, 30, 18, 0, tzinfo=UTC)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


class Replay:
    def __init__(self, tickets: int, days: int, tmp: str) -> None:
        self.data = demo.generate_dataset(NOW, n_tickets=tickets)
        self.sim = NOW - timedelta(days=days)
        self.url = f"sqlite:///{tmp}/insight.db"
        self.engine = db.make_engine(self.url)
        db.upgrade(self.engine)
        self.settings = Settings.load(env={"DATABASE_URL": self.url, "MINER_SOURCE": "demo"}, secrets_file=False)
        self.server = DemoZendesk(self.data, clock=lambda: self.sim.timestamp()).start()
        self.emerging_seen: dict[int, date] = {}  # cluster id -> first night it was flagged
        self.emerging_reason: dict[int, str] = {}  # ... and why
        self.emerging_members: dict[int, list[int]] = {}  # ... and its issues then (it may be merged later)
        self.merged = self.split = 0  # clusters merged / incidents split out, over all nights

    def night(self, when: datetime) -> None:
        """One scheduled pipeline run at `when` (sync, analyze, cluster, trends)."""
        self.sim = when
        with ZendeskClient(self.server.url, rpm=0) as client:
            run_sync(self.engine, client, initial_days=3650, now=when, on_change=SyncReaction())
        while analyze_pending(self.engine, self.settings, batch_size=5000).tickets:
            pass
        clustered = run_clustering(self.engine, embeddings=self.settings.embeddings, today=when.date(),
                                   taxonomy=load_taxonomy(self.settings.taxonomy_path))
        self.merged += clustered.merged
        self.split += clustered.split
        update_trends(self.engine, today=when.date())
        with self.engine.connect() as conn:
            for cid, reason in conn.execute(select(Cluster.id, Cluster.emerging_reason).where(
                    Cluster.emerging.is_(True), Cluster.retired.is_(False))).all():
                self.emerging_seen.setdefault(cid, when.date())
                self.emerging_reason.setdefault(cid, reason or "")
                if cid not in self.emerging_members:
                    self.emerging_members[cid] = list(conn.execute(select(Issue.id).where(Issue.cluster_id == cid))
                                                      .scalars())

    def close(self) -> None:
        self.server.stop()
        self.engine.dispose()


def true_keys(data: demo.DemoDataset, issues: list[Any]) -> dict[int, str | None]:
    """Each extracted issue's true issue: the ticket's true issue of the same product area, else one of
    the ticket's true issues not taken yet; None when the ticket has no true issue left (an extra issue)."""
    by_ticket: dict[int, list[Any]] = defaultdict(list)
    for issue in issues:
        by_ticket[issue.ticket_id].append(issue)
    out: dict[int, str | None] = {}
    for ticket_id, extracted in by_ticket.items():
        label = data.labels.get(ticket_id)
        free = list(label.issue_keys) if label else []
        for issue in sorted(extracted, key=lambda i: i.id):
            same_area = [k for k in free if (data.issues[k].category, data.issues[k].subcategory)
                         == (issue.category, issue.subcategory)]
            key = (same_area or free or [None])[0]
            if key is not None:
                free.remove(key)
            out[issue.id] = key
    return out


def report(replay: Replay, days: int, *, names: bool = False) -> None:
    data, engine = replay.data, replay.engine
    with engine.connect() as conn:
        issues = conn.execute(select(Issue.id, Issue.ticket_id, Issue.category, Issue.subcategory, Issue.severity,
                                     Issue.cluster_id, Issue.ticket_created_at)
                              .join(Ticket, Ticket.id == Issue.ticket_id).where(Ticket.status != "deleted")).all()
        clusters = {r.id: r for r in conn.execute(select(Cluster).where(Cluster.retired.is_(False)))}
    truth = true_keys(data, issues)
    since = (NOW - timedelta(days=30)).replace(tzinfo=None)
    recent = [i for i in issues if i.cluster_id is not None and truth.get(i.id)
              and i.ticket_created_at.replace(tzinfo=None) >= since]
    ari = adjusted_rand_score([truth[i.id] for i in recent], [i.cluster_id for i in recent])
    true_present = {truth[i.id] for i in recent}
    clusters_used = {i.cluster_id for i in recent}
    per_issue = len(clusters_used) / max(1, len(true_present))
    print(f"\nissues of the last 30 days (clustered, with a true issue): {len(recent):,}")
    print(f"ARI against the true issues: {ari:.3f}  (target >= 0.8)  {verdict(ari >= 0.8)}")
    print(f"clusters per true issue: {len(clusters_used)} / {len(true_present)} = {per_issue:.2f}  "
          f"(target <= 1.2)  {verdict(per_issue <= 1.2)}")
    print(f"  over the replay: {replay.merged} clusters merged by the offline rule, {replay.split} incidents split out")

    # the incident
    majority: dict[int, str] = {}
    members: dict[int, Counter[str]] = defaultdict(Counter)
    for i in issues:
        if i.cluster_id is not None and truth.get(i.id):
            members[i.cluster_id][truth[i.id]] += 1
    for cid, counts in members.items():
        majority[cid] = counts.most_common(1)[0][0]
    first_ticket = min(t.created_at for t in data.tickets if INCIDENT in data.labels[t.id].issue_keys)
    own = [cid for cid, key in majority.items() if key == INCIDENT and cid in clusters]
    print(f"\nincident ({data.issues[INCIDENT].title}), first ticket {first_ticket:%b %d %H:%M}:")
    if not own:
        print("  no cluster is mostly about it: FAIL")
    for cid in own:
        share = members[cid][INCIDENT] / sum(members[cid].values())
        flagged = replay.emerging_seen.get(cid)
        lag = (flagged - first_ticket.date()).days if flagged else None
        name = clusters[cid].name
        named = bool(re.search(r"\b(iphone|ios)\b", name, re.I)) and bool(
            re.search(r"clock.?in|crash|clos|quit|shut", name, re.I))
        print(f"  cluster #{cid} {name!r}: {sum(members[cid].values())} issues, {share:.0%} the incident; "
              f"flagged emerging {'after ' + str(lag) + ' days' if lag is not None else 'never'} "
              f"(target <= 2) {verdict(lag is not None and lag <= 2)}; name {verdict(named)}")
    # a flagged cluster is judged by its issues when it was first flagged (a piece of the incident flagged one
    # night and merged into the incident's cluster later was no false alarm)
    flagged_as = {cid: Counter(truth.get(i) for i in ids).most_common(1)[0][0] if ids else None
                  for cid, ids in replay.emerging_members.items()}
    false_emerging = [cid for cid in replay.emerging_seen if flagged_as.get(cid) != INCIDENT]
    print(f"false emerging clusters (any night): {len(false_emerging)}  (target 0)  {verdict(not false_emerging)}"
          + "".join(f"\n  #{cid} {clusters[cid].name if cid in clusters else '(retired)'!r}, mostly "
                    f"{flagged_as.get(cid)}; flagged {replay.emerging_seen[cid]:%b %d}: "
                    f"{replay.emerging_reason.get(cid)}" for cid in false_emerging))

    # severity
    matrix = np.zeros((4, 4), dtype=int)
    for i in issues:
        key = truth.get(i.id)
        if key and i.severity in SEVERITIES:
            matrix[SEVERITIES.index(data.issues[key].severity), SEVERITIES.index(i.severity)] += 1
    print("\nseverity of extracted issues (rows: true, columns: extracted)")
    print(f"{'':>10}" + "".join(f"{s:>10}" for s in SEVERITIES))
    for r, s in enumerate(SEVERITIES):
        print(f"{s:>10}" + "".join(f"{v:>10,}" for v in matrix[r]))
    agree = np.trace(matrix) / max(1, matrix.sum())
    print(f"agreement {agree:.1%}")
    shown = Counter(typical_severity(c.severity_mix) for c in clusters.values() if c.issue_count)
    critical_share = shown.get("critical", 0) / max(1, sum(shown.values()))
    true_mix: dict[int, Counter[str]] = defaultdict(Counter)
    for i in issues:
        if i.cluster_id in clusters and truth.get(i.id):
            true_mix[i.cluster_id][data.issues[truth[i.id]].severity] += 1
    true_critical = sum(typical_severity(dict(m)) == "critical" for m in true_mix.values()) / max(1, len(true_mix))
    print(f"clusters by their typical severity: { {None if k is None else str(k): v for k, v in shown.items()} }; critical: {critical_share:.0%} "
          f"(the share that is true: {true_critical:.0%})")

    if names:
        print("\nclusters (issues, share of the majority true issue, name):")
        for cid, c in sorted(clusters.items(), key=lambda kv: -sum(members[kv[0]].values())):
            total = sum(members[cid].values())
            key, n = members[cid].most_common(1)[0] if total else ("-", 0)
            print(f"  #{cid:<4} {total:>5} {n / max(1, total):>5.0%} {key:<36} {c.name}")

    # issues per ticket
    right = sum(1 for i in issues if truth.get(i.id))
    precision = right / max(1, len(issues))
    per_ticket = Counter(i.ticket_id for i in issues)
    print(f"\nissues per ticket: precision {precision:.1%} ({right:,} of {len(issues):,} extracted issues are a "
          f"distinct true issue of their ticket); {sum(1 for n in per_ticket.values() if n > 1):,} tickets with "
          f"more than one issue")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=6000)
    parser.add_argument("--days", type=int, default=30, help="nights replayed before now")
    parser.add_argument("--names", action="store_true", help="list every cluster with its name and true issue")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="keep the replay's SQLite database in DIR")
    args = parser.parse_args()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        tmp = str(args.keep) if args.keep else scratch
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            (args.keep / "insight.db").unlink(missing_ok=True)
        replay = Replay(args.tickets, args.days, tmp)
        try:
            first = NOW - timedelta(days=args.days)
            for n in range(args.days + 1):
                replay.night(first + timedelta(days=n))
            print(f"{args.tickets:,} demo tickets, {args.days} nights replayed in {time.perf_counter() - started:.0f} s")
            report(replay, args.days, names=args.names)
        finally:
            replay.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
