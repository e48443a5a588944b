"""Benchmark of the escalation service on the embedded stack, beside a raw-Temporal baseline.

    .venv/bin/python -m bench            # full run (the issue's numbers; 35-50 min on 2 cores)
    .venv/bin/python -m bench --quick    # tiny numbers, under 2 minutes (smoke test)
    .venv/bin/python -m bench --only throughput,latency

Starts its own stack (data dir under bench/out/<run>/, free ports on 127.0.0.1), runs the
sections, writes results (markdown + JSON) and stops everything it started.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from bench import scenarios as sc
from bench.api_client import Api
from bench.console import section_console
from bench.facts_cost import section_facts
from bench.quality import section_quality
from bench.stack import ROOT, Stack

SECTIONS = ("history", "throughput", "facts", "anatomy", "latency", "scale", "console", "quality")
BENCH_DIR = Path(__file__).resolve().parent

FULL = dict(
    tp_n=500,
    tp_conc=20,
    tp_rounds=4,
    anatomy_n=300,
    lat_rate=20.0,
    lat_s=60.0,
    scale_n=10_000,
    scale_checkpoint=1_000,
    scale_spread=600.0,
    scale_gap=180.0,
    probe_n=100,
    sample=1_000,
    raw_deadline_n=2_000,
    console_n=10_000,
    console_signoff=30,
    console_requests=100,
)
QUICK = dict(
    tp_n=10,
    tp_conc=5,
    tp_rounds=2,
    anatomy_n=10,
    lat_rate=20.0,
    lat_s=3.0,
    scale_n=150,
    scale_checkpoint=50,
    scale_spread=10.0,
    scale_gap=12.0,
    probe_n=5,
    sample=150,
    raw_deadline_n=50,
    console_n=60,
    console_signoff=5,
    console_requests=10,
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--quick", action="store_true", help="tiny numbers (< 2 min)")
    p.add_argument(
        "--only",
        default=",".join(SECTIONS),
        help=f"comma-separated sections: {', '.join(SECTIONS)} (scale = cost growth, "
        "memory and deadline precision)",
    )
    p.add_argument(
        "--results-dir",
        type=Path,
        default=None,
        help="where results.md/.json go (default: bench/ for a full run, bench/out/ for --quick)",
    )
    p.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    p.add_argument(
        "--workers",
        type=int,
        default=2,
        metavar="N",
        help="worker processes, the service's (`worker.embedded --workers N`) and "
        "the raw baseline's alike (default 2, one per core of the 2-core machine; "
        "see bench/README.md, runs (9) and (10))",
    )
    p.add_argument(
        "--keep-data",
        action="store_true",
        help="keep the run's Temporal SQLite file (bench/out/<run>/data)",
    )
    g = p.add_argument_group("sizes (defaults: the issue's numbers, or tiny with --quick)")
    g.add_argument("--throughput-n", dest="tp_n", type=int)
    g.add_argument("--throughput-concurrency", dest="tp_conc", type=int)
    g.add_argument(
        "--throughput-rounds",
        dest="tp_rounds",
        type=int,
        help="alternating service/raw rounds the throughput lifecycles are split "
        "into (4), so that the host's drift weighs on both sides alike",
    )
    g.add_argument(
        "--anatomy-n",
        dest="anatomy_n",
        type=int,
        help="lifecycles per variant of the raw workflow (300)",
    )
    g.add_argument("--latency-rate", dest="lat_rate", type=float)
    g.add_argument("--latency-seconds", dest="lat_s", type=float)
    g.add_argument("--scale-n", dest="scale_n", type=int, help="escalations opened (10,000)")
    g.add_argument(
        "--scale-checkpoint",
        dest="scale_checkpoint",
        type=int,
        help="the smaller cost-growth point (1,000)",
    )
    g.add_argument(
        "--scale-spread",
        dest="scale_spread",
        type=float,
        help="seconds over which openings, hence deadlines, are spread (600)",
    )
    g.add_argument(
        "--scale-gap",
        dest="scale_gap",
        type=float,
        help="seconds between the last opening and the first deadline (180)",
    )
    g.add_argument(
        "--probe-n", dest="probe_n", type=int, help="POST + GET rounds per cost probe (100)"
    )
    g.add_argument(
        "--deadline-sample",
        dest="sample",
        type=int,
        help="timelines read for deadline lateness (1,000)",
    )
    g.add_argument(
        "--raw-deadline-n",
        dest="raw_deadline_n",
        type=int,
        help="raw deadline workflows of the deadline baseline, fired at the "
        "escalations' rate (2,000; 0: no baseline)",
    )
    g.add_argument(
        "--console-n",
        dest="console_n",
        type=int,
        help="open escalations the console is timed at (10,000; counts what earlier "
        "sections left open)",
    )
    g.add_argument(
        "--console-signoff",
        dest="console_signoff",
        type=int,
        help="of them, taken to executive sign-off (30)",
    )
    g.add_argument(
        "--console-requests", dest="console_requests", type=int, help="requests per page (100)"
    )
    args = p.parse_args(argv)
    for k, v in (QUICK if args.quick else FULL).items():
        if getattr(args, k, None) is None:
            setattr(args, k, v)
    args.sections = [s.strip() for s in args.only.split(",") if s.strip()]
    bad = set(args.sections) - set(SECTIONS)
    if bad:
        p.error(f"unknown section(s): {', '.join(sorted(bad))}")
    if args.results_dir is None:
        args.results_dir = BENCH_DIR / "out" if args.quick else BENCH_DIR
    return args


def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    try:
        from core.binaries import find_binary

        cli = subprocess.run(
            [find_binary("temporal") or "temporal", "--version"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except Exception:  # noqa: BLE001
        cli = "unknown"
    return {
        "nproc": os.cpu_count(),
        "memory_gib": mem,
        "cpu": cpu,
        "python": platform.python_version(),
        "temporalio": metadata.version("temporalio"),
        "temporal_cli": cli,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "platform": platform.platform(),
    }


def fmt(v, unit: str = "") -> str:
    if v is None:
        return "-"
    if unit == "s":
        return f"{v * 1000:.0f} ms" if v < 10 else f"{v:.1f} s"
    if isinstance(v, float):
        return f"{v:.2f}" + (f" {unit}" if unit else "")
    return f"{v}" + (f" {unit}" if unit else "")


def render_md(doc: dict) -> str:
    m = doc["machine"]
    out = [
        f"# Benchmark results ({doc['mode']})",
        "",
        f"- command: `{doc['command']}`",
        f"- date: {doc['date']}, duration {doc['duration_s']:.0f} s",
        f"- machine: {m['nproc']} CPUs ({m['cpu']}), {m['memory_gib']} GiB RAM, load average at "
        f"start {m['load_average_at_start']}",
        f"- Python {m['python']}, temporalio {m['temporalio']}, {m['temporal_cli']}",
        f"- worker processes: {doc.get('workers', 1)} for the service "
        "(`worker.embedded --workers`) and as many for the raw baseline",
        "- figures: the service (embedded stack, real API and worker) beside a raw Temporal "
        "baseline in the same run (see bench/README.md for what each one measures)",
        "",
        "| section | metric | value | baseline | ratio | target | pass |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in doc["rows"]:
        base = fmt(r["baseline"], r["unit"])
        if r["baseline"] is not None and r.get("baseline_label") not in (None, "raw Temporal"):
            base += f" ({r['baseline_label']})"
        passed = {True: "pass", False: "**FAIL**", None: ""}[r["passed"]]
        if r.get("errors"):
            passed += f" ({r['errors']} errors)"
        ratio = "-" if r["ratio"] is None else f"{r['ratio']:.2f}"
        out.append(
            f"| {r['section']} | {r['metric']} | {fmt(r['value'], r['unit'])} | {base} | "
            f"{ratio} | {r['target'] or ''} | {passed} |"
        )
    if doc["notes"]:
        out += ["", "Notes:", ""] + [f"- {n}" for n in doc["notes"]]
    return "\n".join(out) + "\n"


async def run(args: argparse.Namespace) -> dict:
    started = time.time()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = BENCH_DIR / "out" / f"{stamp}{'-quick' if args.quick else ''}"
    target_s = args.scale_spread + args.scale_gap
    stack = Stack(out, deadline_target_s=target_s, raw_task_queue="bench-raw", workers=args.workers)
    res = sc.Results()
    notes: list[str] = []
    doc = {
        "mode": "quick" if args.quick else "full",
        "command": " ".join(
            shlex.quote(a) for a in [".venv/bin/python", "-m", "bench", *sys.argv[1:]]
        ),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "sizes": {k: getattr(args, k) for k in FULL},
        "sections": args.sections,
        "workers": args.workers,
        "out_dir": str(out.relative_to(ROOT)),
    }
    try:
        print(f"bench: starting the stack in {out.relative_to(ROOT)}", flush=True)
        await stack.start()
        doc["ports"] = vars(stack.ports)
        doc["pids"] = {
            "workers": stack.worker_pids,
            "dev_server": stack.server_pid,
            "api": stack.api_pid,
        }
        print(
            f"bench: worker pids {stack.worker_pids} (py-spy record -o profile.svg --pid "
            f"{stack.worker_pids[0]}), API {stack.api_url}",
            flush=True,
        )
        if "facts" in args.sections:
            await stack.start_facts_off()
        client = await Client.connect(
            stack.temporal_address, data_converter=pydantic_data_converter
        )
        async with Api(stack.api_url, timeout=30, connections=200) as api:
            ctx = sc.Ctx(
                stack=stack, api=api, client=client, raw_tq=stack.raw_task_queue, notes=notes
            )
            for section in SECTIONS:
                if section not in args.sections:
                    continue
                t = time.time()
                print(f"bench: {section} ...", flush=True)
                try:
                    if section == "history":
                        await sc.section_history(ctx, res)
                    elif section == "throughput":
                        await sc.section_throughput(
                            ctx,
                            res,
                            args.tp_n,
                            args.tp_conc,
                            timeout=max(300, args.tp_n * 2),
                            rounds=args.tp_rounds,
                        )
                    elif section == "facts":
                        async with Api(stack.off_api_url, timeout=30, connections=200) as off:
                            await section_facts(
                                ctx,
                                res,
                                off,
                                args.tp_n,
                                args.tp_conc,
                                timeout=max(300, args.tp_n * 2),
                                rounds=args.tp_rounds,
                            )
                    elif section == "anatomy":
                        await sc.section_anatomy(ctx, res, args.anatomy_n, args.tp_conc)
                    elif section == "latency":
                        await sc.section_latency(ctx, res, args.lat_rate, args.lat_s)
                    elif section == "quality":
                        await section_quality(res, notes)
                    elif section == "console":
                        await section_console(
                            ctx, res, args.console_n, args.console_signoff, args.console_requests
                        )
                    elif section == "scale":
                        await sc.section_scale(
                            ctx,
                            res,
                            args.scale_n,
                            args.scale_checkpoint,
                            args.scale_spread,
                            target_s,
                            args.probe_n,
                            args.sample,
                            args.raw_deadline_n,
                        )
                except Exception as e:  # noqa: BLE001 - one broken section keeps the others
                    notes.append(f"Section {section} failed: {type(e).__name__}: {e}")
                    res.add(section, "section completed", None, "", target=1, better="higher")
                print(f"bench: {section} done in {time.time() - t:.0f} s", flush=True)
    finally:
        print("bench: stopping the stack", flush=True)
        await stack.stop()
        if not args.keep_data:
            shutil.rmtree(out / "data", ignore_errors=True)
    doc["duration_s"] = time.time() - started
    doc["rows"] = res.rows
    doc["notes"] = notes
    return doc


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    try:
        doc = asyncio.run(run(args))
    except KeyboardInterrupt:
        print("bench: interrupted; the stack was stopped, no results written", file=sys.stderr)
        sys.exit(130)
    args.results_dir.mkdir(parents=True, exist_ok=True)
    stem = "results-quick" if args.quick and args.results_dir == BENCH_DIR / "out" else "results"
    md = render_md(doc)
    (args.results_dir / f"{stem}.md").write_text(md)
    (args.results_dir / f"{stem}.json").write_text(json.dumps(doc, indent=2, default=str) + "\n")
    print(md)
    print(f"bench: results in {args.results_dir / stem}.md and .json")
    failed = [r for r in doc["rows"] if r["passed"] is False]
    sys.exit(1 if args.strict and failed else 0)
