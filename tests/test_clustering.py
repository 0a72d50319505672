"""Clustering in the database: stable ids across incremental runs and full re-clusters, human edits
that survive every later run, names that refresh unless pinned."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine, select, update

from miner import db
from miner.analysis.analyze import analyze_pending
from miner.clustering import edits
from miner.clustering.run import run_clustering
from miner.config import Settings
from miner.demo.dataset import generate_dataset
from miner.demo.server import DemoZendesk
from miner.models import Cluster, ClusterEvent, Issue
from miner.sync import run_sync
from miner.zendesk import ZendeskClient

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database with 1,500 demo tickets synced, of which the 900 newest are analysed."""
    path = tmp_path_factory.mktemp("clustering") / "template.db"
    engine = db.make_engine(f"sqlite:///{path}")
    db.upgrade(engine)
    with DemoZendesk(generate_dataset(NOW, n_tickets=1500)) as zendesk, ZendeskClient(zendesk.url, rpm=0) as client:
        run_sync(engine, client, initial_days=3650)
    analyze_pending(engine, Settings.load(env={"DATABASE_URL": f"sqlite:///{path}"}, secrets_file=False),
                    batch_size=900)
    engine.dispose()
    return path


@pytest.fixture
def engine(template: Path, tmp_path: Path) -> Engine:
    path = tmp_path / "miner.db"
    shutil.copy(template, path)
    eng = db.make_engine(f"sqlite:///{path}")
    yield eng
    eng.dispose()


def assignments(engine: Engine) -> dict[int, int | None]:
    with engine.connect() as conn:
        return dict(conn.execute(select(Issue.id, Issue.cluster_id)).all())


def live_clusters(engine: Engine) -> dict[int, Cluster]:
    with engine.connect() as conn:
        return {r.id: r for r in conn.execute(select(Cluster.__table__).where(Cluster.retired.is_(False)))}


def analyse_the_rest(engine: Engine) -> None:
    url = str(engine.url)
    analyze_pending(engine, Settings.load(env={"DATABASE_URL": url}, secrets_file=False), batch_size=5000)


def test_first_run_clusters_everything_and_names_it(engine: Engine) -> None:
    result = run_clustering(engine)
    assert result.mode == "full" and result.clusters >= 10
    clusters = live_clusters(engine)
    assert all(c.name and c.name_source == "offline" and c.summary.startswith("Key phrases:") for c in clusters.values())
    assert all(c.category for c in clusters.values())
    clustered = [cid for cid in assignments(engine).values() if cid is not None]
    assert len(clustered) == result.assigned > 0


def test_incremental_run_never_moves_clustered_issues(engine: Engine) -> None:
    run_clustering(engine)
    before = assignments(engine)
    old_ids = set(live_clusters(engine))
    analyse_the_rest(engine)
    result = run_clustering(engine)
    after = assignments(engine)
    assert result.mode == "incremental" and result.embedded == len(after) - len(before) > 0
    assert all(after[i] == cid for i, cid in before.items() if cid is not None)  # every clustered issue keeps its cluster
    assert old_ids <= set(live_clusters(engine))  # no cluster id disappeared
    new_issues = [i for i in after if i not in before]
    assert sum(after[i] is not None for i in new_issues) >= 0.6 * len(new_issues)  # most joined a cluster


def test_full_recluster_keeps_ids_by_overlap(engine: Engine) -> None:
    run_clustering(engine)
    analyse_the_rest(engine)
    run_clustering(engine)
    before = assignments(engine)
    result = run_clustering(engine, full=True)
    after = assignments(engine)
    assert result.mode == "full"
    old_members: dict[int, set[int]] = {}
    for issue, cid in before.items():
        if cid is not None:
            old_members.setdefault(cid, set()).add(issue)
    surviving = set(live_clusters(engine)) & set(old_members)
    weight = sum(len(old_members[c]) for c in surviving) / sum(len(m) for m in old_members.values())
    assert weight >= 0.8  # clusters holding >= 80% of the issues keep their id
    for cid in surviving:  # and an id still means (mostly) the same issues, seen from either side
        kept = sum(after[i] == cid for i in old_members[cid])
        now = sum(1 for i, c in after.items() if c == cid and before.get(i) is not None)
        assert kept * 2 >= len(old_members[cid]) or kept * 2 >= now, cid
    again = run_clustering(engine, full=True)
    assert assignments(engine) == after and again.new_clusters == 0  # the same data, the same ids


def test_human_edits_survive_incremental_and_full_runs(engine: Engine) -> None:
    run_clustering(engine)
    clusters = sorted(live_clusters(engine).values(), key=lambda c: -c.size)
    a, b, c = clusters[0], clusters[1], clusters[2]
    edits.rename(engine, a.id, "Week view is slow for big locations", author="pm@example.com")
    edits.set_status(engine, a.id, "planned", author="pm@example.com")
    edits.add_note(engine, a.id, "Perf work in Q1", author="pm@example.com")
    b_issues = [i for i, cid in assignments(engine).items() if cid == b.id]
    edits.merge(engine, b.id, a.id, author="pm@example.com")
    moved = next(i for i, cid in assignments(engine).items() if cid == a.id)
    edits.move_issue(engine, moved, c.id, author="pm@example.com")

    analyse_the_rest(engine)
    run_clustering(engine)
    run_clustering(engine, full=True)

    now = live_clusters(engine)
    assert now[a.id].name == "Week view is slow for big locations" and now[a.id].name_pinned
    assert now[a.id].triage_status == "planned"
    assert b.id not in now  # still merged
    with engine.connect() as conn:
        retired = conn.execute(select(Cluster.merged_into).where(Cluster.id == b.id)).scalar_one()
        events = conn.execute(select(ClusterEvent.action).where(ClusterEvent.cluster_id == a.id)).scalars().all()
    assert retired == a.id and edits.resolve(engine, b.id) == a.id
    current = assignments(engine)
    assert sum(current[i] == a.id for i in b_issues) >= 0.8 * len(b_issues)  # the merged issues stayed together
    assert current[moved] == c.id  # the moved issue stays where it was put
    assert {"rename", "status", "note", "merge"} <= set(events)


def test_names_refresh_when_a_cluster_grows_unless_pinned(engine: Engine) -> None:
    run_clustering(engine)
    grown, pinned = sorted(live_clusters(engine).values(), key=lambda c: -c.size)[:2]
    edits.set_name_pinned(engine, pinned.id, True)
    with engine.begin() as conn:  # pretend both were named when they were a third of their size
        conn.execute(update(Cluster.__table__).where(Cluster.id.in_([grown.id, pinned.id]))
                     .values(named_size=1, name="stale name"))
    result = run_clustering(engine)
    now = live_clusters(engine)
    assert now[grown.id].name != "stale name" and now[grown.id].named_size == now[grown.id].size
    assert now[pinned.id].name == "stale name"
    assert result.renamed >= 1


@pytest.mark.parametrize(("call", "message"), [
    (lambda e, a, b: edits.rename(e, a, "x"), "name: must be"),
    (lambda e, a, b: edits.merge(e, a, a), "two different clusters"),
    (lambda e, a, b: edits.set_status(e, a, "done-ish"), "status: must be one of"),
    (lambda e, a, b: edits.add_note(e, a, "   "), "write something"),
    (lambda e, a, b: edits.move_issue(e, 10**9, b), "does not exist"),
])
def test_bad_edits_are_refused_and_change_nothing(engine: Engine, call, message: str) -> None:
    run_clustering(engine)
    before = (assignments(engine), {k: (v.name, v.triage_status) for k, v in live_clusters(engine).items()})
    a, b = list(live_clusters(engine))[:2]
    with pytest.raises(edits.EditError, match=message):
        call(engine, a, b)
    assert (assignments(engine), {k: (v.name, v.triage_status) for k, v in live_clusters(engine).items()}) == before


def test_edits_on_a_merged_cluster_point_to_where_it_went(engine: Engine) -> None:
    run_clustering(engine)
    a, b = list(live_clusters(engine))[:2]
    edits.merge(engine, b, a)
    with pytest.raises(edits.EditError, match=f"merged into #{a}"):
        edits.set_status(engine, b, "planned")


def test_keyword_phrases_lean_towards_the_phrases_they_are_reported_with() -> None:
    """Two wordings of one problem ("charged twice", "double charge") that some reports use together come
    closer; a phrase never found with them stays as far as any two fixed directions are."""
    from miner.clustering.vectors import associated_directions, direction

    bags = ([{"charged twice": 1.0}] * 6 + [{"double charge": 1.0}] * 6
            + [{"charged twice": 1.0, "double charge": 1.0}] * 3 + [{"login loop": 1.0}] * 6)
    idf = {"charged twice": 1.0, "double charge": 1.0, "login loop": 1.0}
    leaning = associated_directions(bags, idf, 256)

    def cos(a: np.ndarray, b: np.ndarray) -> float:
        return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))

    fixed = cos(direction("term:charged twice", 256), direction("term:double charge", 256))
    assert cos(leaning["charged twice"], leaning["double charge"]) > fixed + 0.5
    assert abs(cos(leaning["charged twice"], leaning["login loop"])) < 0.25
    assert cos(leaning["login loop"], direction("term:login loop", 256)) == pytest.approx(1.0, abs=1e-6)
