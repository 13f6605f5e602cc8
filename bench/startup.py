"""Seconds from `python app.py` starting to the first answer served, then warm answer latency through
the HTTP API (p50/p95). One command: `python bench/startup.py [--requests N]`."""

from __future__ import annotations

import argparse
import time

from served_app import QUESTIONS, first_answer, percentile, served_app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=100, help="warm requests to time (default 100)")
    args = parser.parse_args()
    with served_app() as (url, process, started):
        client = first_answer(url, process)
        startup = time.perf_counter() - started
        latencies = []
        for i in range(args.requests):
            t0 = time.perf_counter()
            client.predict(QUESTIONS[i % len(QUESTIONS)], api_name="/search")
            latencies.append(time.perf_counter() - t0)
    print(f"startup to 1st answer:  {startup:.2f} s")
    print(f"warm /search latency:   p50 {percentile(latencies, 0.5) * 1000:.0f} ms, "
          f"p95 {percentile(latencies, 0.95) * 1000:.0f} ms over {len(latencies)} requests")


if __name__ == "__main__":
    main()
