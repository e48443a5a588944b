"""Deadline precision of raw Temporal alone, at a chosen firing rate, on a fresh embedded stack.

    .venv/bin/python -m bench.raw_deadlines --rate 20.5        # 120 s of firings at 20.5/s

The section *deadlines* of `python -m bench` fires raw deadline workflows at the escalations'
breach rate. This runs the same baseline (`scenarios.raw_deadlines`) at other rates, to find the
rate at which raw Temporal loads the machine as much as the service's breaches do (compare the
printed `cores` with the service's CPU per breach times its rate) and read its lateness there.
Prints one JSON line per rate.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
from datetime import UTC, datetime

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from bench import scenarios as sc
from bench.cli import BENCH_DIR
from bench.stack import Stack


async def run(args: argparse.Namespace) -> None:
    out = BENCH_DIR / "out" / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ-raw-deadlines")
    stack = Stack(out, deadline_target_s=60, raw_task_queue="bench-raw", workers=args.workers)
    await stack.start()
    try:
        client = await Client.connect(
            stack.temporal_address, data_converter=pydantic_data_converter
        )
        ctx = sc.Ctx(stack=stack, api=None, client=client, raw_tq="bench-raw")
        for rate in args.rate:
            r = await sc.raw_deadlines(ctx, int(rate * args.seconds), rate, args.gap, args.sample)
            cpu = r["by_process"]["raw_worker"] + r["by_process"]["dev_server"]
            print(
                json.dumps(
                    {
                        "rate_per_s": rate,
                        "firings": r["n"],
                        "errors": r["errors"],
                        "not_fired": r["missing"],
                        "cpu_per_firing_ms": round(cpu * 1000, 1),
                        "cores": round(cpu * rate, 2),
                        "lateness_ms": {
                            k: round(v * 1000) if v is not None else None
                            for k, v in (
                                ("p50", sc.pct(r["lateness"], 50)),
                                ("p99", sc.pct(r["lateness"], 99)),
                                ("max", sc.pct(r["lateness"], 100)),
                            )
                        },
                        "cpu_by_process_ms": {
                            k: round(v * 1000, 1) for k, v in r["by_process"].items() if v > 0
                        },
                    }
                ),
                flush=True,
            )
    finally:
        await stack.stop()
        shutil.rmtree(out / "data", ignore_errors=True)


def main() -> None:
    p = argparse.ArgumentParser(
        prog="python -m bench.raw_deadlines",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--rate", type=float, nargs="+", required=True, help="firings per second")
    p.add_argument("--seconds", type=float, default=120.0, help="seconds of firings per rate")
    p.add_argument(
        "--gap",
        type=float,
        default=60.0,
        help="seconds between the last start and the first deadline",
    )
    p.add_argument("--sample", type=int, default=1000, help="workflows queried for lateness")
    p.add_argument(
        "--workers",
        type=int,
        default=2,
        help="raw worker processes (default 2, as python -m bench)",
    )
    asyncio.run(run(p.parse_args()))


if __name__ == "__main__":
    main()
