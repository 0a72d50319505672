"""The work itself, as task functions the runner executes: sync, analyze, cluster, trends, pipeline.

Each `*_task` returns a `TaskFn` (`fn(control, result)`): it reports progress through `control`,
checks for cancellation between units of work, and fills `result` with figures as it goes, so a
failed or cancelled run still records what it did.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine

from miner.config import Settings
from miner.progress import RunContext, RunControl, TaskFn
from miner.sync import SyncResult, run_sync
from miner.zendesk import ZendeskClient

if TYPE_CHECKING:
    from miner.clustering.naming import Namer

log = logging.getLogger(__name__)

DEMO_INITIAL_DAYS = 3650  # the demo dataset is finite: read all of it on the first sync


@contextmanager
def open_zendesk(
    settings: Settings,
    engine: Engine,
    control: RunControl | None = None,
    *,
    demo_url: str | None = None,
) -> Iterator[ZendeskClient]:
    """A client for the configured source: Zendesk, or in demo mode the built-in demo Zendesk, which speaks
    the same protocol on a local URL.

    `demo_url` reuses a demo server that is already running (the dashboard keeps one); otherwise
    one is started for the duration of the block.
    """
    if settings.effective_source == "demo":
        if demo_url is None:
            from miner.demo.anchor import demo_anchor
            from miner.demo.server import DemoZendesk

            with DemoZendesk(now=demo_anchor(engine), n_tickets=settings.demo_tickets) as server:
                with ZendeskClient(server.url, rpm=0, max_wait=settings.zendesk_max_wait_seconds,
                                   control=control) as client:
                    yield client
            return
        with ZendeskClient(demo_url, rpm=0, max_wait=settings.zendesk_max_wait_seconds,
                           control=control) as client:
            yield client
        return
    with ZendeskClient.from_settings(settings, control=control) as client:
        yield client


def do_sync(ctx: RunContext, control: RunControl, result: dict[str, Any], *,
            backfill_days: int | None = None) -> None:
    from miner.analysis.store import SyncReaction

    initial = (
        ctx.settings.initial_sync_days
        if ctx.settings.effective_source == "zendesk"
        else DEMO_INITIAL_DAYS
    )
    figures = SyncResult()
    try:
        with open_zendesk(ctx.settings, ctx.engine, control, demo_url=ctx.demo_url) as client:
            run_sync(ctx.engine, client, backfill_days=backfill_days, initial_days=initial,
                     control=control, result=figures, on_change=SyncReaction())
    finally:
        result["sync"] = figures.as_dict()  # kept even when the sync stopped half-way


def sync_task(ctx: RunContext, *, backfill_days: int | None = None) -> TaskFn:
    def run(control: RunControl, result: dict[str, Any]) -> None:
        do_sync(ctx, control, result, backfill_days=backfill_days)

    return run


def do_analyze(ctx: RunContext, control: RunControl, result: dict[str, Any], *,
               batch_size: int | None = None) -> None:
    from miner.analysis.analyze import AnalyzeResult, analyze_pending, check_failure_rate

    figures = AnalyzeResult()
    try:
        analyze_pending(ctx.engine, ctx.settings, batch_size=batch_size, control=control,
                        run_id=control.run_id, result=figures)
        check_failure_rate(figures, ctx.settings.analyze_max_failure_rate)  # fails the run (and pipeline)
    finally:
        result["analyze"] = figures.as_dict()
        result["llm_cost_usd"] = round(result.get("llm_cost_usd", 0.0) + figures.llm_cost_usd, 6)


def analyze_task(ctx: RunContext, *, batch_size: int | None = None) -> TaskFn:
    def run(control: RunControl, result: dict[str, Any]) -> None:
        do_analyze(ctx, control, result, batch_size=batch_size)

    return run


def make_namer(ctx: RunContext, run_id: int | None) -> Namer:
    from miner.clustering.naming import Namer

    settings = ctx.settings
    if settings.effective_analyzer != "claude":
        return Namer()
    from miner.analysis.claude import anthropic_client
    from miner.analysis.pricing import load_prices

    client = anthropic_client(settings, max_retries=2)
    return Namer(client, settings.claude_model, load_prices(settings.prices_path), run_id)


def do_cluster(ctx: RunContext, control: RunControl, result: dict[str, Any], *, full: bool = False) -> None:
    from miner.analysis.taxonomy import load_taxonomy
    from miner.clustering.run import ClusterResult, run_clustering

    figures = ClusterResult()
    try:
        run_clustering(ctx.engine, embeddings=ctx.settings.embeddings, taxonomy=load_taxonomy(ctx.settings.taxonomy_path),
                       namer=make_namer(ctx, control.run_id), control=control, full=full, result=figures)
    finally:
        result["cluster"] = figures.as_dict()
        result["llm_cost_usd"] = round(result.get("llm_cost_usd", 0.0) + figures.llm_cost_usd, 6)


def do_trends(ctx: RunContext, control: RunControl, result: dict[str, Any], *, full: bool = False) -> None:
    from miner.trends import TrendsResult, update_trends

    figures = TrendsResult()
    try:
        update_trends(ctx.engine, control=control, full=full, result=figures)
    finally:
        result["trends"] = figures.as_dict()


def do_alerts(ctx: RunContext, control: RunControl, result: dict[str, Any], *,
              rules: tuple[str, ...] = ("emerging", "regression")) -> None:
    """Enqueue the alerts the fresh figures call for (the outbox delivers them within a minute). Alerts are a
    by-product: a failure here is logged and recorded, never fails the run."""
    if not ctx.alerts.channels:
        return
    from miner.alerts.service import evaluate
    from miner.errors import describe
    from miner.vocabulary import AlertRule

    control.stage("Checking alert rules")
    try:
        result["alerts"] = evaluate(ctx.engine, ctx.alerts, rules_to_run=[AlertRule(r) for r in rules]).as_dict()
    except Exception as exc:
        log.exception("evaluating the alert rules failed")
        result["alerts"] = {"error": describe(exc)}


def do_demo_fix_link(ctx: RunContext, control: RunControl) -> None:
    """Demo mode: once the tickets are clustered, link the fixed problem's cluster to its demo Jira fix."""
    if not (ctx.demo_tracker_url and ctx.demo_fixed_tickets) or ctx.settings.fixes.jira_configured:
        return  # not demo mode, or a real Jira is configured: its issues are the user's own
    from miner.errors import MinerError
    from miner.fixes.demo import seed_fixed_link
    from miner.fixes.service import close_trackers, make_trackers

    control.stage("Linking the demo's fixed issue")
    trackers = make_trackers(ctx.settings.fixes, demo_jira_url=ctx.demo_tracker_url)
    try:
        seed_fixed_link(ctx.engine, trackers["jira"], ctx.demo_fixed_tickets)
    except MinerError as exc:  # the demo's extra must never fail the run that clustered the tickets
        log.warning("demo: could not link the fixed issue: %s", exc)
    finally:
        close_trackers(trackers)


def refresh_links_task(ctx: RunContext) -> TaskFn:
    """Re-read every linked Jira and GitHub issue (status, title, resolution date)."""

    def run(control: RunControl, result: dict[str, Any]) -> None:
        from miner.fixes.service import close_trackers, make_trackers, refresh_links

        do_demo_fix_link(ctx, control)
        control.stage("Refreshing linked issues")
        trackers = make_trackers(ctx.settings.fixes, demo_jira_url=ctx.demo_tracker_url, sleep=control.sleep)
        try:
            result["links"] = refresh_links(ctx.engine, trackers).as_dict()
        finally:
            close_trackers(trackers)

    return run


def cluster_task(ctx: RunContext, *, full: bool = False) -> TaskFn:
    def run(control: RunControl, result: dict[str, Any]) -> None:
        do_cluster(ctx, control, result, full=full)
        do_trends(ctx, control, result)
        do_demo_fix_link(ctx, control)
        do_alerts(ctx, control, result)

    return run


def trends_task(ctx: RunContext, *, full: bool = False) -> TaskFn:
    def run(control: RunControl, result: dict[str, Any]) -> None:
        do_trends(ctx, control, result, full=full)
        do_alerts(ctx, control, result)

    return run


def pipeline_task(ctx: RunContext, *, backfill_days: int | None = None,
                  batch_size: int | None = None) -> TaskFn:
    """sync -> analyze -> cluster -> trends -> alert rules."""

    def run(control: RunControl, result: dict[str, Any]) -> None:
        do_sync(ctx, control, result, backfill_days=backfill_days)
        do_analyze(ctx, control, result, batch_size=batch_size)
        do_cluster(ctx, control, result)
        do_trends(ctx, control, result)
        do_demo_fix_link(ctx, control)
        do_alerts(ctx, control, result)

    return run


def report_task(ctx: RunContext) -> TaskFn:
    def run(control: RunControl, result: dict[str, Any]) -> None:
        from miner.reports import generate_weekly_report

        control.stage("Writing the weekly report")
        result["report"] = {"report_id": generate_weekly_report(ctx.engine)}
        do_alerts(ctx, control, result, rules=("digest",))

    return run


def cleanup_task(ctx: RunContext) -> TaskFn:
    def run(control: RunControl, result: dict[str, Any]) -> None:
        from miner.reports import cleanup

        control.stage("Pruning old records, purging deleted tickets")
        result["cleanup"] = cleanup(ctx.engine, ctx.settings.retention_days,
                                    ctx.settings.purge_deleted_after_days)

    return run
