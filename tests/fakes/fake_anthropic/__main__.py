"""``python -m tests.fakes.fake_anthropic``: run the fake standalone (see the package docstring)."""

from __future__ import annotations

import time

from .server import FakeAnthropic


def main(argv: list[str] | None = None) -> None:
    """Run the fake standalone: ``python -m tests.fakes.fake_anthropic --port 8089 --latency 0.3``."""
    import argparse

    parser = argparse.ArgumentParser(description="Fake Anthropic API server")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--batch-processing-delay", type=float, default=0.0)
    parser.add_argument("--min-cacheable-tokens", type=int, default=1024)
    args = parser.parse_args(argv)
    fake = FakeAnthropic(
        latency=args.latency, port=args.port, batch_processing_delay=args.batch_processing_delay,
        min_cacheable_tokens=args.min_cacheable_tokens,
    ).start()
    print(f"ANTHROPIC_BASE_URL={fake.base_url}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
