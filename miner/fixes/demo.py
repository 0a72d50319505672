"""Demo mode's fixed issue: the demo dataset's "fading" problem was fixed mid-period, and the demo Jira
holds that fix, resolved on the day it went out (`DEMO_FIXED_KEY`). Once the pipeline has clustered the
demo tickets, the cluster holding most of that problem's tickets is linked to it, so a new user sees a
resolved fix, the bend in its chart and the effect sentence without entering anything.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable

from sqlalchemy import Engine, Table, select

from miner.demo.dataset import DemoDataset
from miner.fixes import store
from miner.fixes.demo_tracker import DEMO_FIXED_KEY
from miner.fixes.store import Link
from miner.fixes.trackers import Tracker
from miner.models import Cluster, Issue

log = logging.getLogger(__name__)

issues_t: Table = Issue.__table__  # type: ignore[assignment]
clusters_t: Table = Cluster.__table__  # type: ignore[assignment]
CHUNK = 500  # ids per IN list: well under every database's limit on bound parameters


def fixed_issue_tickets(dataset: DemoDataset) -> frozenset[int]:
    """The demo tickets about the problem that was fixed mid-period (from the dataset's ground truth)."""
    fading = {key for key, spec in dataset.issues.items() if spec.pattern == "fading"}
    return frozenset(tid for tid, label in dataset.labels.items() if fading.intersection(label.issue_keys))


def fixed_cluster(engine: Engine, ticket_ids: Iterable[int]) -> int | None:
    """The live cluster holding most of those tickets (None before the tickets are clustered)."""
    ids = sorted(set(ticket_ids))
    counts: Counter[int] = Counter()
    with engine.connect() as conn:
        for start in range(0, len(ids), CHUNK):
            rows = conn.execute(
                select(issues_t.c.cluster_id, issues_t.c.ticket_id).distinct()
                .join(clusters_t, clusters_t.c.id == issues_t.c.cluster_id)
                .where(issues_t.c.ticket_id.in_(ids[start:start + CHUNK]), clusters_t.c.retired.is_(False)))
            counts.update(row.cluster_id for row in rows)
    return counts.most_common(1)[0][0] if counts else None


def seed_fixed_link(engine: Engine, jira: Tracker, ticket_ids: Iterable[int]) -> Link | None:
    """Link the fixed problem's cluster to the demo Jira's resolved issue, once: nothing happens while a
    link to that issue exists or before there is a cluster. The link made, if any."""
    if any(link.tracker == "jira" and link.key == DEMO_FIXED_KEY for link in store.all_links(engine)):
        return None
    cluster_id = fixed_cluster(engine, ticket_ids)
    if cluster_id is None:
        return None
    made = store.link(engine, cluster_id, jira.fetch(DEMO_FIXED_KEY), created_by="demo")
    log.info("demo: cluster %s linked to its fix %s", cluster_id, made.label)
    return made
