"""Analysis benchmark.

1. Claude analyzer throughput against the fake Anthropic server (its own process, 300 ms latency per
   request): tickets/s at concurrency 1, 8 and 16, as a fraction of the ideal concurrency/latency
   (target >= 0.8); tokens per ticket; cost per 1,000 tickets at the default model's list price with
   the cached prompt prefix (target <= $0.20).
2. Offline analyzer quality against the demo dataset's ground truth: product-issue detection
   accuracy and category accuracy.

    python bench/analyze_bench.py [--latency 0.3] [--seconds 6]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

from miner import db  # noqa: E402
from miner.analysis.analyze import analyze_pending  # noqa: E402
from miner.analysis.offline import OfflineAnalyzer  # noqa: E402
from miner.analysis.taxonomy import load_taxonomy  # noqa: E402
from miner.analysis.ticket_text import TicketForAnalysis, TicketMessage  # noqa: E402
from miner.config import DEFAULT_TAXONOMY, Settings  # noqa: E402
from miner.demo.dataset import generate_dataset  # noqa: E402
from miner.demo.server import DemoZendesk  # noqa: E402
from miner.sync import run_sync  # noqa: E402
from miner.zendesk import ZendeskClient  # noqa: E402


def start_fake(latency: float) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.fake_anthropic", "--latency", str(latency),
         "--min-cacheable-tokens", "2048"],
        cwd=ROOT, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if not line.startswith("ANTHROPIC_BASE_URL="):
        proc.kill()
        raise SystemExit(f"the fake Anthropic server did not start: {line!r}")
    return proc, line.split("=", 1)[1]


def throughput(args: argparse.Namespace, base_url: str) -> None:
    dataset = generate_dataset(datetime(2026, 11, 20, tzinfo=UTC), n_tickets=3000)
    print(f"\nClaude analyzer against the fake API ({args.latency * 1000:.0f} ms per request)\n")
    print(f"{'concurrency':>11} {'tickets':>8} {'tickets/s':>10} {'ideal':>7} {'fraction':>9}  target >= 0.80")
    totals = None
    with tempfile.TemporaryDirectory() as tmp, DemoZendesk(dataset) as zendesk:
        for concurrency in (1, 8, 16):
            url = f"sqlite:///{tmp}/c{concurrency}.db"
            engine = db.make_engine(url)
            db.upgrade(engine)
            with ZendeskClient(zendesk.url, rpm=0) as client:
                run_sync(engine, client, initial_days=3650)
            settings = Settings.load(env={
                "DATABASE_URL": url, "ANTHROPIC_API_KEY": "sk-bench", "ANTHROPIC_BASE_URL": base_url,
                "MINER_ANALYZE_CONCURRENCY": str(concurrency)}, secrets_file=False)
            ideal = concurrency / args.latency
            batch = max(concurrency * 2, int(ideal * args.seconds))
            analyze_pending(engine, settings, batch_size=concurrency)  # warm-up: first call writes the cache
            started = time.perf_counter()
            result = analyze_pending(engine, settings, batch_size=batch)
            elapsed = time.perf_counter() - started
            rate = result.analyzed / elapsed
            verdict = "PASS" if rate / ideal >= 0.8 else "FAIL"
            print(f"{concurrency:>11} {result.analyzed:>8} {rate:>10.1f} {ideal:>7.1f} {rate / ideal:>9.2f}  {verdict}")
            totals = result
            engine.dispose()
    assert totals is not None and totals.analyzed
    n = totals.analyzed
    per_1000 = totals.llm_cost_usd / n * 1000
    print(f"\nTokens per ticket (last run, {n} tickets): input {totals.input_tokens / n:.0f} uncached + "
          f"{totals.cache_read_tokens / n:.0f} cache-read + {totals.cache_write_tokens / n:.0f} cache-write, "
          f"output {totals.output_tokens / n:.0f}")
    verdict = "PASS" if per_1000 <= 0.20 else "FAIL"
    print(f"Cost per 1,000 tickets at {settings.claude_model} list price: ${per_1000:.3f}   target <= $0.20  {verdict}")


def offline_quality() -> None:
    dataset = generate_dataset(datetime(2026, 11, 28, tzinfo=UTC), n_tickets=6000)
    analyzer = OfflineAnalyzer(load_taxonomy(DEFAULT_TAXONOMY))
    detected = categories = category_total = tickets = 0
    started = time.perf_counter()
    for t in dataset.tickets:
        if t.deleted:
            continue
        label = dataset.labels[t.id]
        ticket = TicketForAnalysis(t.id, t.subject, t.description, t.requester_id, t.organization_id, t.created_at,
                                   tuple(TicketMessage(c.author_id, c.public, c.body, c.created_at) for c in t.comments))
        result = analyzer.analyze(ticket)
        tickets += 1
        truth, predicted = bool(label.issue_keys), bool(result.issues)
        detected += truth == predicted
        if truth and predicted:
            category_total += 1
            true_categories = {dataset.issues[k].category for k in label.issue_keys}
            categories += result.issues[0].category in true_categories
    elapsed = time.perf_counter() - started
    print(f"\nOffline analyzer vs the demo ground truth ({tickets:,} tickets, {tickets / elapsed:,.0f} tickets/s)")
    print(f"  product-issue detection accuracy: {detected / tickets:.1%}")
    print(f"  category accuracy (tickets with an issue, first issue): {categories / category_total:.1%}")


def main() -> None:
    parser = argparse.ArgumentParser(description="Analysis benchmark")
    parser.add_argument("--latency", type=float, default=0.3)
    parser.add_argument("--seconds", type=float, default=10.0, help="target duration of each throughput run")
    args = parser.parse_args()
    fake, base_url = start_fake(args.latency)
    try:
        throughput(args, base_url)
    finally:
        fake.kill()
    offline_quality()


if __name__ == "__main__":
    main()
