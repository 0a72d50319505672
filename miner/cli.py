"""`python -m miner`: the command line.

Exit codes: 0 ok, 1 the run failed, 2 bad input (flags or configuration), 3 another run is in
progress. Errors are one clear line on stderr; details go to the log.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Engine

from miner import db
from miner.config import ConfigError, Settings
from miner.errors import MinerError
from miner.logs import configure_logging
from miner.progress import Progress, RunControl

log = logging.getLogger("miner.cli")

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_BUSY = 0, 1, 2, 3


def bounded_int(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low} and {high}, got {value}")
        return value

    parse.__name__ = "number"
    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m miner",
        description="Product Issue Miner: Zendesk tickets -> ranked, trending product issues.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="command")

    p = sub.add_parser("sync", help="pull new and changed tickets and comments from Zendesk")
    p.add_argument("--backfill-days", type=bounded_int(0, 3650), metavar="N",
                   help="also re-read the last N days (harmless; fills gaps)")

    p = sub.add_parser("analyze", help="extract product issues from tickets not analysed yet")
    p.add_argument("--batch-size", type=bounded_int(1, 100_000), default=500, metavar="N",
                   help="tickets to analyse in this run (default 500)")

    p = sub.add_parser("cluster", help="group issues into clusters (then refresh trends)")
    p.add_argument("--full", action="store_true", help="re-cluster everything (ids are kept by overlap)")

    p = sub.add_parser("trends", help="recompute daily figures and emerging clusters")
    p.add_argument("--full", action="store_true", help="recompute every day, not only changed ones")

    p = sub.add_parser("pipeline", help="sync, analyze, cluster and trends in one run")
    p.add_argument("--backfill-days", type=bounded_int(0, 3650), metavar="N")
    p.add_argument("--batch-size", type=bounded_int(1, 100_000), default=500, metavar="N")

    p = sub.add_parser("scheduler", help="run the scheduled jobs without the dashboard")

    p = sub.add_parser("report", help="write the weekly digest now and print it")
    p.add_argument("--html", action="store_true", help="print the HTML version")

    p = sub.add_parser("status", help="show data, sync position and recent runs")
    p.add_argument("--json", action="store_true", help="machine-readable output")

    p = sub.add_parser("db", help="database maintenance")
    dbsub = p.add_subparsers(dest="db_command", required=True, metavar="action")
    dbsub.add_parser("upgrade", help="apply pending migrations")

    p = sub.add_parser("demo-server", help="run the demo Zendesk in the foreground")
    p.add_argument("--port", type=bounded_int(0, 65535), default=8765)
    p.add_argument("--tickets", type=bounded_int(10, 2_000_000), default=6000)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)  # exits with 2 on bad flags
    try:
        settings = Settings.load()
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    configure_logging(settings.log_level)
    if args.command == "demo-server":
        from miner.demo.server import serve_forever

        serve_forever(args.port, args.tickets)
        return EXIT_OK
    try:
        engine = db.make_script_engine(settings.database_url)
        db.upgrade(engine)
    except Exception as exc:  # an unreachable or unwritable database is a configuration problem
        print(f"error: cannot open the database at DATABASE_URL ({exc})", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        handler = COMMANDS[args.command]
        return handler(args, settings, engine)
    except MinerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        engine.dispose()


# --- commands -----------------------------------------------------------------------------------


def cmd_db(args: argparse.Namespace, settings: Settings, engine: Engine) -> int:
    print(f"database is at revision {db.current_revision(engine)} (head {db.head_revision()})")
    return EXIT_OK


def cmd_sync(args: argparse.Namespace, settings: Settings, engine: Engine) -> int:
    from miner.pipeline import Context, sync_task

    params = {"backfill_days": args.backfill_days}
    return _run(engine, "sync", sync_task(Context(settings, engine), backfill_days=args.backfill_days),
                params)


def cmd_analyze(args: argparse.Namespace, settings: Settings, engine: Engine) -> int:
    from miner.pipeline import Context, analyze_task

    return _run(engine, "analyze", analyze_task(Context(settings, engine), batch_size=args.batch_size),
                {"batch_size": args.batch_size})


def cmd_cluster(args: argparse.Namespace, settings: Settings, engine: Engine) -> int:
    from miner.pipeline import Context, cluster_task

    return _run(engine, "cluster", cluster_task(Context(settings, engine), full=args.full), {"full": args.full})


def cmd_trends(args: argparse.Namespace, settings: Settings, engine: Engine) -> int:
    from miner.pipeline import Context, trends_task

    return _run(engine, "trends", trends_task(Context(settings, engine), full=args.full), {"full": args.full})


def cmd_pipeline(args: argparse.Namespace, settings: Settings, engine: Engine) -> int:
    from miner.pipeline import Context, pipeline_task

    params = {"backfill_days": args.backfill_days, "batch_size": args.batch_size}
    return _run(engine, "pipeline", pipeline_task(Context(settings, engine), **params), params)


def cmd_scheduler(args: argparse.Namespace, settings: Settings, engine: Engine) -> int:
    """The scheduler in the foreground, for deployments that run the dashboard separately."""
    import signal
    import threading

    from miner.app import MinerApp, get_app, uninstall

    miner = get_app(lambda: MinerApp(settings)).start(scheduler=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    for job in miner.scheduler.job_status():
        print(f"{job['id']:<16} {job['schedule']:<18} next run {job['next_run'] or 'paused'}")
    print("scheduler running; Ctrl+C to stop", flush=True)
    stop.wait()
    uninstall()
    return EXIT_OK


def cmd_report(args: argparse.Namespace, settings: Settings, engine: Engine) -> int:
    from miner.reports import build_digest, generate_weekly_report, to_html, to_markdown

    generate_weekly_report(engine)
    digest = build_digest(engine)
    print(to_html(digest) if args.html else to_markdown(digest))
    return EXIT_OK


def cmd_status(args: argparse.Namespace, settings: Settings, engine: Engine) -> int:
    from miner.status import collect_status

    status = collect_status(settings, engine)
    if args.json:
        print(json.dumps(status, indent=2, default=str))
        return EXIT_OK
    print(render_status(status))
    return EXIT_OK


COMMANDS: dict[str, Callable[[argparse.Namespace, Settings, Engine], int]] = {
    "sync": cmd_sync,
    "analyze": cmd_analyze,
    "cluster": cmd_cluster,
    "trends": cmd_trends,
    "pipeline": cmd_pipeline,
    "scheduler": cmd_scheduler,
    "report": cmd_report,
    "status": cmd_status,
    "db": cmd_db,
}


# --- helpers ------------------------------------------------------------------------------------


def _run(engine: Engine, kind: str, fn: Any, params: dict[str, Any]) -> int:
    from miner.tasks.runner import Busy, Runner

    printer = ProgressPrinter()
    control = RunControl(on_progress=printer)
    try:
        outcome = Runner(engine).execute(kind, fn, trigger="cli", params=params, control=control)
    except Busy as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BUSY
    except KeyboardInterrupt:
        control.cancel()
        raise
    printer.finish()
    if outcome.status == "succeeded":
        print(f"{kind} run #{outcome.run_id} succeeded: {summarise(outcome.result)}")
        return EXIT_OK
    print(f"error: {kind} run #{outcome.run_id} {outcome.status}: {outcome.error}", file=sys.stderr)
    return EXIT_FAILED


def summarise(result: dict[str, Any]) -> str:
    parts = []
    for stage, figures in result.items():
        if isinstance(figures, dict):
            shown = ", ".join(f"{k}={v}" for k, v in figures.items()
                              if isinstance(v, int | float) and not isinstance(v, bool) and v)
            parts.append(f"{stage}: {shown or 'nothing to do'}")
    return "; ".join(parts) or "done"


class ProgressPrinter:
    """A progress line on stderr: rewritten in place on a terminal, one line every 5 s otherwise."""

    def __init__(self, stream: Any = None) -> None:
        self.stream = stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self._last = 0.0
        self._stage = ""

    def __call__(self, progress: Progress) -> None:
        now = time.monotonic()
        new_stage = progress.stage != self._stage
        if not new_stage and now - self._last < (0.2 if self.tty else 5.0):
            return
        if new_stage and self._stage and self.tty:
            self.stream.write("\n")
        self._stage, self._last = progress.stage, now
        line = format_progress(progress)
        if self.tty:
            self.stream.write("\r" + line[:160].ljust(100))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def finish(self) -> None:
        if self.tty and self._stage:
            self.stream.write("\n")
            self.stream.flush()


def format_progress(progress: Progress) -> str:
    elapsed = time.monotonic() - progress.stage_started
    if progress.total:
        pct = 100 * progress.done / progress.total
        count = f"{progress.done:,}/{progress.total:,} ({pct:.0f}%)"
    else:
        count = f"{progress.done:,}"
    rate = f", {progress.done / elapsed:.0f}/s" if elapsed > 1 and progress.done else ""
    message = f" - {progress.message}" if progress.message else ""
    return f"[{progress.stage}] {count}{rate}{message}"


def render_status(status: dict[str, Any]) -> str:
    lines = [f"source: {status['source']}   database: {status['database']}"]
    data = status["data"]
    lines.append(
        "tickets: {tickets_live:,} live, {tickets_deleted:,} deleted; comments: {comments:,} "
        "({comments_internal:,} internal); organisations: {organizations:,}".format(**data)
    )
    a = status["analysis"]
    lines.append(
        f"analysis: {a['analyzed']:,} analysed, {a['pending']:,} pending, {a['failed']:,} failed, "
        f"{a['needs_review']:,} need review; {a['issues']:,} issues in {status['clusters']:,} clusters"
    )
    for stream, state in status["sync"].items():
        lines.append(
            f"sync {stream}: position saved {state['updated_at'] or 'never'}, "
            f"last caught up {state['caught_up_at'] or 'never'}"
        )
    if status.get("running"):
        run = status["running"]
        lines.append(f"running: {run['kind']} #{run['id']} - {run['stage']} {run['done']}/{run['total'] or '?'}")
    for run in status["recent_runs"]:
        lines.append(
            f"  #{run['id']:<5} {run['kind']:<9} {run['status']:<11} {run['trigger']:<9} "
            f"{run['started_at'][:19]}  {run['error'] or ''}"
        )
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
