"""`python -m miner`: the command line.

Exit codes: 0 ok, 1 the run failed, 2 bad input (flags or configuration, including credentials the
service rejected), 3 another run is in progress, 130 stopped by Ctrl+C (SIGINT), 143 stopped by
SIGTERM. Errors are one clear line on stderr; details go to the log.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from types import FrameType, TracebackType
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from miner import db
from miner.alerts.settings import AlertSettings
from miner.config import ConfigError, Settings
from miner.db import MAX_ID
from miner.errors import MinerError, describe
from miner.fixes.brief import NoSuchCluster
from miner.fixes.trackers import TRACKERS, Tracker, TrackerNotFound, TrackerRejected
from miner.logs import configure_logging
from miner.progress import Progress, RunContext, RunControl, StopSignal, TaskFn
from miner.runs import history, registry
from miner.vocabulary import RunKind, RunStatus, StartedBy

log = logging.getLogger("miner.cli")

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_BUSY = 0, 1, 2, 3
# Commands that start a run; their flags are the task registry's parameters.
RUN_COMMANDS = (RunKind.SYNC, RunKind.ANALYZE, RunKind.CLUSTER, RunKind.TRENDS, RunKind.PIPELINE)


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

    for kind in RUN_COMMANDS:
        spec = registry.spec(kind)
        p = sub.add_parser(kind, help=spec.help)
        for param in spec.params:
            if param.type is bool:
                p.add_argument(param.flag, action="store_true", help=param.help)
            else:
                p.add_argument(param.flag, type=bounded_int(param.low, param.high), metavar="N",
                               help=param.help)

    p = sub.add_parser("scheduler", help="run the scheduled jobs without the dashboard")

    p = sub.add_parser("report", help="write the weekly digest now and print it")
    p.add_argument("--html", action="store_true", help="print the HTML version")

    p = sub.add_parser("alerts", help="alert channels: send a test, evaluate and deliver now, the delivery log")
    alerts = p.add_subparsers(dest="alerts_command", required=True, metavar="action")
    t = alerts.add_parser("test", help="send a test alert to every channel (or one) and say whether it arrived")
    t.add_argument("--channel", metavar="NAME", help="only this channel")
    alerts.add_parser("send", help="run the alert rules now and deliver everything that is due")
    alerts.add_parser("channels", help="list the configured channels (secrets masked)")
    lg = alerts.add_parser("log", help="the latest deliveries")
    lg.add_argument("--limit", type=bounded_int(1, 1000), default=20, metavar="N")

    p = sub.add_parser("status", help="show data, sync position and recent runs")
    p.add_argument("--json", action="store_true", help="machine-readable output")

    p = sub.add_parser("db", help="database maintenance")
    dbsub = p.add_subparsers(dest="db_command", required=True, metavar="action")
    dbsub.add_parser("upgrade", help="apply pending migrations")

    p = sub.add_parser("link", help="link a cluster to the Jira or GitHub issue that fixes it, create one, "
                       "refresh links, or list them",
                       description="link CLUSTER KEY links an existing issue (SW-12, owner/repo#12, #12 or a "
                       "link); link CLUSTER --create jira|github creates one from the cluster; link CLUSTER "
                       "lists its links and the fix's effect; link lists every link; link --refresh re-reads "
                       "every linked issue (a refresh_links run).")
    p.add_argument("cluster_id", nargs="?", type=bounded_int(1, MAX_ID), metavar="CLUSTER_ID")
    p.add_argument("key", nargs="?", metavar="KEY", help="the issue: SW-12, owner/repo#12, #12 or its link")
    p.add_argument("--create", choices=TRACKERS, help="create an issue describing the cluster in this tracker")
    p.add_argument("--refresh", action="store_true", help="re-read the linked issues (status, resolution date)")
    p.add_argument("--json", action="store_true", help="machine-readable output")

    p = sub.add_parser("demo-server", help="run the demo Zendesk in the foreground")
    p.add_argument("--port", type=bounded_int(0, 65535), default=8765)
    p.add_argument("--tickets", type=bounded_int(10, 2_000_000), default=6000)
    parser.set_defaults(_commands=sub.choices)
    return parser


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The arguments; a flag the command does not take is reported with that command's usage (argparse
    leaves extra arguments to the top-level parser, whose usage only lists the commands). Exits with 2."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        args._commands[args.command].error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)  # exits with 2 on bad flags
    try:
        settings = Settings.load()
        args.alert_settings = load_alerts(settings)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    configure_logging(settings.log_level)
    if args.command == "demo-server":
        from miner.demo.server import serve_forever

        serve_forever(args.port, args.tickets)
        return EXIT_OK
    try:
        with StopOnSignals():
            return _open_and_run(args, settings)
    except StopSignal as exc:  # outside a run (a run reports its own stop, see _run)
        print(f"error: stopped by {exc.signal_name}", file=sys.stderr)
        return exc.exit_code


def _open_and_run(args: argparse.Namespace, settings: Settings) -> int:
    try:
        engine = db.make_script_engine(settings.database_url)
        with engine.connect():
            pass
    except (SQLAlchemyError, OSError) as exc:  # unreachable, a bad URL, no such file: configuration
        log.debug("opening the database failed", exc_info=True)
        print(f"error: cannot open the database at DATABASE_URL ({one_line(exc)})", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        db.upgrade(engine)
    except (SQLAlchemyError, OSError) as exc:  # read-only, a table in the way, no permission
        log.debug("database migration failed", exc_info=True)
        print(f"error: cannot bring the database at DATABASE_URL up to date ({one_line(exc)}); "
              "MINER_LOG_LEVEL=DEBUG shows the traceback", file=sys.stderr)
        engine.dispose()
        return EXIT_BAD_INPUT
    try:
        handler = COMMANDS[args.command]
        return handler(args, settings, engine)
    except MinerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        engine.dispose()


def one_line(exc: BaseException) -> str:
    """The driver's own message, first line only: SQLAlchemy's text would add the SQL statement."""
    orig = getattr(exc, "orig", None)
    return describe(orig if isinstance(orig, BaseException) else exc)


STOP_SIGNALS: dict[int, str] = {signal.SIGINT: "Ctrl+C (SIGINT)", signal.SIGTERM: "SIGTERM"}


class StopOnSignals:
    """While active, SIGINT (Ctrl+C) and SIGTERM raise `StopSignal` in the main thread, once.

    `on_stop` (a run's control is cancelled, so its worker threads stop too) runs in a helper
    thread, woken through a pipe: a signal handler interrupts the main thread anywhere, maybe
    holding a lock that `on_stop` needs. Later signals are ignored, so the stop is recorded and the
    lease released; SIGKILL still works, and a run it kills reads as interrupted at the next status.
    """

    def __init__(self, on_stop: Callable[[StopSignal], None] | None = None) -> None:
        self.on_stop = on_stop
        self.received: StopSignal | None = None
        self._previous: dict[int, Any] = {}
        self._pipe: tuple[int, int] | None = None
        self._helper: threading.Thread | None = None

    def __enter__(self) -> StopOnSignals:
        if self.on_stop is not None:
            self._pipe = os.pipe()
            self._helper = threading.Thread(target=self._call_on_stop, name="stop-signal", daemon=True)
            self._helper.start()
        for signum in STOP_SIGNALS:
            self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        if self._pipe is not None and self._helper is not None:
            os.write(self._pipe[1], b"x")  # ends the helper if no signal came
            self._helper.join(5)
            for fd in self._pipe:
                os.close(fd)

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        if self.received is not None:
            log.warning("%s again: already stopping", STOP_SIGNALS[signum])
            return
        self.received = StopSignal(STOP_SIGNALS[signum], 128 + signum)
        if self._pipe is not None:
            os.write(self._pipe[1], b"!")
        raise self.received

    def _call_on_stop(self) -> None:
        assert self._pipe is not None and self.on_stop is not None
        if os.read(self._pipe[0], 1) == b"!" and self.received is not None:
            self.on_stop(self.received)


# --- commands -----------------------------------------------------------------------------------


def cmd_db(args: argparse.Namespace, settings: Settings, engine: Engine) -> int:
    print(f"database is at revision {db.current_revision(engine)} (head {db.head_revision()})")
    return EXIT_OK


def cmd_run(args: argparse.Namespace, settings: Settings, engine: Engine) -> int:
    """sync, analyze, cluster, trends, pipeline: one run in this process, under the run lease."""
    spec = registry.spec(args.command)
    params = spec.validate({param.name: getattr(args, param.name) for param in spec.params})
    ctx = RunContext(settings, engine, alerts=args.alert_settings)
    return _run(engine, spec, spec.task(ctx, params), params)


def cmd_scheduler(args: argparse.Namespace, settings: Settings, engine: Engine) -> int:
    """The scheduler in the foreground, for deployments that run the dashboard separately."""
    import signal
    import threading

    from miner.app import MinerApp, get_app, uninstall

    miner = get_app(lambda: MinerApp(settings, args.alert_settings)).start(scheduler=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    for job in miner.scheduler.job_status():
        print(f"{job.id:<16} {job.schedule:<18} next run {job.next_run or 'paused'}")
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


def load_alerts(settings: Settings) -> AlertSettings:
    return AlertSettings.load(timezone=settings.timezone, public_url=settings.public_url)


def cmd_alerts(args: argparse.Namespace, settings: Settings, engine: Engine) -> int:
    from miner.alerts import outbox, service

    alerts: AlertSettings = args.alert_settings
    if args.alerts_command == "channels":
        for row in (channel.describe() for channel in alerts.channels):
            print("  ".join(f"{key}: {value}" for key, value in row.items() if value))
        if not alerts.channels:
            print("no alert channels configured (README: Alerts)")
        return EXIT_OK
    if args.alerts_command == "log":
        for row in reversed(outbox.recent(engine, limit=args.limit)):
            print(f"{row['created_at']:%Y-%m-%d %H:%M}  {row['channel']:<12} {row['rule']:<10} "
                  f"cluster {row['cluster_id'] or '-':<6} {row['status']:<9} attempts {row['attempts']}"
                  + (f"  {row['last_error']}" if row["last_error"] else ""))
        return EXIT_OK
    if not alerts.channels:
        print("error: no alert channels configured (set MINER_ALERT_<NAME>_TYPE ...; README: Alerts)", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.alerts_command == "send":
        print(json.dumps(service.send_now(engine, alerts), indent=2))
        return EXIT_OK
    try:
        names = [alerts.channel(args.channel).name] if args.channel else [c.name for c in alerts.channels]
    except ConfigError as exc:  # no such channel: bad input, not a failed delivery
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    outcomes = [service.send_test(engine, alerts, name) for name in names]
    for outcome in outcomes:
        print(f"{'ok' if outcome.ok else 'FAILED'}: {outcome.message}")
    return EXIT_OK if all(o.ok for o in outcomes) else EXIT_FAILED


def cmd_status(args: argparse.Namespace, settings: Settings, engine: Engine) -> int:
    from miner.status import collect_status

    status = collect_status(settings, engine)
    if args.json:
        print(json.dumps(status, indent=2, default=str))
        return EXIT_OK
    print(render_status(status))
    return EXIT_OK


def cmd_link(args: argparse.Namespace, settings: Settings, engine: Engine) -> int:
    """Link, create, refresh or list fix links (see the `link` command's help)."""
    from miner.fixes import service

    if args.key and args.create:
        print("error: give either KEY (link an existing issue) or --create, not both", file=sys.stderr)
        return EXIT_BAD_INPUT
    if (args.key or args.create) and args.cluster_id is None:
        print("error: CLUSTER_ID: which cluster? (python -m miner link CLUSTER_ID KEY)", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.refresh and args.cluster_id is None:  # every link: a run, recorded in the run history
        with cli_trackers(settings, engine) as demo_url:
            spec = registry.spec(RunKind.REFRESH_LINKS)
            return _run(engine, spec, spec.task(RunContext(settings, engine, demo_tracker_url=demo_url), {}), {})
    with cli_trackers(settings, engine) as demo_url:
        trackers = service.make_trackers(settings.fixes, demo_jira_url=demo_url)
        try:
            _link_changes(args, settings, engine, trackers)
        except (NoSuchCluster, TrackerRejected, TrackerNotFound) as exc:  # the input is wrong, not the run
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_BAD_INPUT
        finally:
            service.close_trackers(trackers)
    if args.create or args.key:
        return EXIT_OK
    _print_links(args, engine)
    return EXIT_OK


def _link_changes(args: argparse.Namespace, settings: Settings, engine: Engine, trackers: dict[str, Tracker]) -> None:
    """`link CLUSTER KEY`, `link CLUSTER --create T`, `link CLUSTER --refresh`: the change, printed."""
    from miner.fixes import service

    if args.create:
        made = service.create_for_cluster(engine, service.tracker_for(trackers, args.create), args.cluster_id,
                                          ticket_url=service.ticket_link(settings, None), created_by="cli")
        print(f"created {made.label}: {made.url}")
    elif args.key:
        linked = service.link_existing(engine, service.tracker_for(trackers, service.tracker_of(args.key)),
                                       args.cluster_id, args.key, created_by="cli")
        print(f"cluster #{args.cluster_id} linked to {linked.label} ({linked.status or 'status unknown'})")
    elif args.refresh:
        outcome = service.refresh_links(engine, trackers, cluster_ids=[args.cluster_id])
        print(f"{outcome.checked} checked, {outcome.changed} changed, {outcome.failed} failed")
        for message in outcome.errors.values():
            print(f"  {message}", file=sys.stderr)


def _print_links(args: argparse.Namespace, engine: Engine) -> None:
    from miner.fixes import service, store

    links = (store.links_for_cluster(engine, args.cluster_id) if args.cluster_id is not None
             else store.all_links(engine))
    shown = [service.link_as_dict(engine, link) for link in links]
    if args.json:
        print(json.dumps(shown, indent=2))
    elif not shown:
        print("no links" + (f" for cluster #{args.cluster_id}" if args.cluster_id is not None else ""))
    for link in shown if not args.json else []:
        resolved = f", resolved {link['resolved_at'][:10]}" if link["resolved_at"] else ""
        print(f"#{link['cluster_id']:<5} {link['tracker']:<6} {link['key']:<24} {link['status'] or '?'}{resolved}  "
              f"{link['url']}")
        if link["effect"]:
            print(f"       {link['effect']['sentence']}")
        if link["last_error"]:
            print(f"       last refresh failed: {link['last_error']}")


@contextlib.contextmanager
def cli_trackers(settings: Settings, engine: Engine) -> Iterator[str | None]:
    """In demo mode without Jira settings, a demo Jira for the command's duration (its URL); else None.
    It is seeded like the dashboard's, but what the command creates in it ends with the command."""
    if settings.effective_source != "demo" or settings.fixes.jira_configured:
        yield None
        return
    from miner.demo.anchor import demo_anchor
    from miner.fixes.demo_tracker import DemoTracker

    with DemoTracker(seed=True, now=demo_anchor(engine)) as tracker:
        yield tracker.url


COMMANDS: dict[str, Callable[[argparse.Namespace, Settings, Engine], int]] = {
    **dict.fromkeys(RUN_COMMANDS, cmd_run),
    "scheduler": cmd_scheduler,
    "report": cmd_report,
    "status": cmd_status,
    "alerts": cmd_alerts,
    "db": cmd_db,
    "link": cmd_link,
}


# --- helpers ------------------------------------------------------------------------------------


def _run(engine: Engine, spec: registry.TaskSpec, fn: TaskFn, params: dict[str, Any]) -> int:
    from miner.runs.runner import Busy, Runner

    kind = spec.kind
    printer = ProgressPrinter()
    control = RunControl(on_progress=printer)
    try:
        with StopOnSignals(on_stop=lambda stop: control.cancel(stop.reason)), printer.around_logging():
            outcome = Runner(engine).execute(kind, fn, started_by=StartedBy.CLI, params=params, control=control,
                                             exclusive=spec.exclusive)
    except Busy as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BUSY
    except StopSignal as stop:  # the runner recorded the run as cancelled and released the lease
        printer.finish()
        what = f"{kind} run #{control.run_id}" if control.run_id is not None else kind
        print(f"error: {what} {stop.reason.status}: {stop.reason.message}", file=sys.stderr)
        return stop.exit_code
    printer.finish()
    if outcome.status is RunStatus.SUCCEEDED:
        summary = history.summarise(outcome.result) or "nothing to do"
        print(f"{kind} run #{outcome.run_id} succeeded: {summary}")
        return EXIT_OK
    print(f"error: {kind} run #{outcome.run_id} {outcome.status}: {outcome.error}", file=sys.stderr)
    if outcome.exc_type is not None and issubclass(outcome.exc_type, configuration_errors()):
        return EXIT_BAD_INPUT  # e.g. rejected credentials: retrying won't help, a setting must change
    return EXIT_FAILED


def configuration_errors() -> tuple[type[BaseException], ...]:
    """Failures that mean a setting is wrong (the service rejected credentials, address or model)."""
    from miner.analysis.claude import ClaudeConfigError
    from miner.zendesk import ZendeskConfigError

    return (ZendeskConfigError, ClaudeConfigError)


class ProgressPrinter:
    """Run progress on stderr. On a terminal: one line with a bar, rewritten in place (at most 5 times a
    second), cleared whenever a log line is written so the two never mix. Otherwise (a pipe, a log file,
    cron): plain lines, one per stage change and at most one every 5 s within a stage."""

    BAR = 20

    def __init__(self, stream: Any = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.clock = clock
        self._last = -1e9
        self._stage = ""
        self._shown = False  # a progress line is on the terminal, not ended by a newline

    def __call__(self, progress: Progress) -> None:
        now = self.clock()
        new_stage = progress.stage != self._stage
        if not new_stage and now - self._last < (0.2 if self.tty else 5.0):
            return
        if new_stage and self._shown:
            self.stream.write("\n")  # keep the finished stage's last line
            self._shown = False
        self._stage, self._last = progress.stage, now
        if self.tty:
            self.stream.write("\r\033[K" + format_progress(progress, bar=self.BAR)[:200])
            self._shown = True
        else:
            self.stream.write(format_progress(progress) + "\n")
        self.stream.flush()

    def clear(self) -> None:
        """Take the progress line off the terminal (before a log line is written there)."""
        if self._shown:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self._shown = False
            self._last = -1e9  # redraw at the next update

    def finish(self) -> None:
        if self._shown:
            self.stream.write("\n")
            self.stream.flush()
            self._shown = False

    @contextlib.contextmanager
    def around_logging(self) -> Iterator[None]:
        """While the run lasts, every log record first clears the progress line."""
        printer = self

        class ClearLine(logging.Filter):
            def filter(self, record: logging.LogRecord) -> bool:
                printer.clear()
                return True

        handlers = [h for h in logging.getLogger().handlers if getattr(h, "stream", None) is self.stream]
        line = ClearLine()
        for handler in handlers:
            handler.addFilter(line)
        try:
            yield
        finally:
            for handler in handlers:
                handler.removeFilter(line)


def format_progress(progress: Progress, *, bar: int = 0) -> str:
    """"[stage] 1,234/5,000 (25%), 120/s - message"; with `bar`, a bar that many cells wide after the
    stage (when the total is known)."""
    elapsed = time.monotonic() - progress.stage_started
    drawn = ""
    if progress.total:
        fraction = min(1.0, progress.done / progress.total)
        count = f"{progress.done:,}/{progress.total:,} ({100 * fraction:.0f}%)"
        if bar:
            full = round(bar * fraction)
            drawn = "█" * full + "░" * (bar - full) + " "
    else:
        count = f"{progress.done:,}"
    rate = f", {progress.done / elapsed:.0f}/s" if elapsed > 1 and progress.done else ""
    message = f" - {progress.message}" if progress.message else ""
    return f"[{progress.stage}] {drawn}{count}{rate}{message}"


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
    held = status.get("quarantine") or {}
    if held.get("count"):
        lines.append(f"quarantine: {held['count']:,} object(s) the sync could not store")
        lines += [f"  {q['object_type']} {q['object_id'] or '?'} ({q['stream']}, seen {q['count']}x): {q['error']}"
                  for q in held["objects"][:10]]
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
