"""The weekly digest says what a PM needs, safely; the monthly clean-up deletes only what is past retention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, func, insert, select

from miner.models import Cluster, HealthCheck, LLMCall, Report
from miner.reports import build_digest, cleanup, to_html, to_markdown

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def add_cluster(engine: Engine, name: str, *, count_7d: int, prev: int, emerging: bool = False) -> int:
    change = None if prev == 0 else (count_7d - prev) / prev * 100
    with engine.begin() as conn:
        return int(conn.execute(insert(Cluster.__table__).values(
            name=name, name_source="offline", size=count_7d + prev, count_7d=count_7d, count_prev_7d=prev,
            change_pct=change, customer_count=count_7d, emerging=emerging,
            emerging_reason="New: first seen Nov 28, 6 tickets from 5 customers" if emerging else None,
            retired=False, triage_status="new")).inserted_primary_key[0])


def test_the_digest_lists_emerging_top_and_rising_clusters(engine: Engine) -> None:
    crash = add_cluster(engine, "iPhone app crashes on clock in", count_7d=40, prev=0, emerging=True)
    slow = add_cluster(engine, "Schedule page so slow", count_7d=30, prev=10)
    calm = add_cluster(engine, "Swap stays open", count_7d=5, prev=9)
    digest = build_digest(engine, today=NOW)
    assert [r.id for r in digest.emerging] == [crash]
    assert [r.id for r in digest.top] == [crash, slow, calm]
    assert [r.id for r in digest.rising] == [slow]  # falling and brand-new clusters are not "rising"
    text = to_markdown(digest)
    assert f"**iPhone app crashes on clock in** (#{crash}): New: first seen" in text
    assert "10 -> 30 tickets (+200%)" in text


def test_the_html_digest_shows_a_cluster_name_as_text(engine: Engine) -> None:
    add_cluster(engine, "<script>alert(1)</script> & co", count_7d=3, prev=1)
    page = to_html(build_digest(engine, today=NOW))
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in page


def test_cleanup_deletes_records_past_retention_and_keeps_the_rest(engine: Engine) -> None:
    old, recent = NOW - timedelta(days=91), NOW - timedelta(days=89)
    with engine.begin() as conn:
        for when in (old, recent):
            conn.execute(insert(LLMCall.__table__).values(purpose="analyze", model="m", outcome="ok", created_at=when))
            conn.execute(insert(Report.__table__).values(kind="weekly", period_start=when, period_end=when,
                                                         created_at=when, markdown="", html=""))
        conn.execute(insert(HealthCheck.__table__).values(component="zendesk", ok=True, message="", checked_at=old))
        conn.execute(insert(HealthCheck.__table__).values(component="claude", ok=True, message="", checked_at=recent))
    removed = cleanup(engine, 90, now=NOW)
    assert (removed["llm_calls"], removed["reports"], removed["health_checks"]) == (1, 1, 1)
    with engine.connect() as conn:
        left = {table.__tablename__: conn.execute(select(func.count()).select_from(table)).scalar_one()
                for table in (LLMCall, Report, HealthCheck)}
        kept = conn.execute(select(HealthCheck.component)).scalars().all()
    assert left == {"llm_calls": 1, "reports": 1, "health_checks": 1} and kept == ["claude"]
