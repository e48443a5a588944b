"""The benchmark still runs end to end (tiny numbers; the real figures come from `make bench`)."""

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest

from core.settings import ROOT

pytestmark = pytest.mark.timeout(420)


async def test_quick_benchmark_completes_every_section(tmp_path: Path):
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench",
        "--quick",
        "--results-dir",
        str(tmp_path),
        "--workers",
        "2",  # the service's and the baseline's, measured together
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "ESCALATIONS_LOG_FORMAT": "json"},
    )
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=400)
    assert proc.returncode == 0, out.decode()[-3000:]
    results = json.loads((tmp_path / "results.json").read_text())
    # both of the service's worker processes were found (their CPU and RSS are summed)
    assert len(results["pids"]["workers"]) == results["workers"] == 2
    sections = {row["section"] for row in results["rows"]}
    assert {
        "history",
        "throughput",
        "anatomy",
        "latency",
        "cost growth",
        "memory",
        "deadlines",
        "console",
    } <= sections, sections
    assert not [r for r in results["rows"] if r["metric"] == "section completed"], results["rows"]
    console = {
        r["metric"].split(", server time")[0] for r in results["rows"] if r["section"] == "console"
    }
    assert {"intake form (whole page)", "customer's status page", "public hours page"} <= console
    signoff = next(
        r for r in results["rows"] if "sign-off path" in r["metric"] and r["section"] == "history"
    )
    assert signoff["value"] > 0 and signoff["baseline"] > 0
    # throughput alternates service and raw rounds; the rates add every round's lifecycles up
    rate = next(r for r in results["rows"] if r["metric"].startswith("sign-off lifecycles/s"))
    rounds = rate["extra"]["rounds"]
    assert len(rounds) == 2 and all(
        x["service_per_s"] > 0 and x["raw_per_s"] > 0 for x in rounds
    ), rounds
    assert (
        min(x["service_per_s"] for x in rounds)
        <= rate["value"]
        <= max(x["service_per_s"] for x in rounds)
    )
    # deadline precision is measured beside raw Temporal firing at the same rate
    deadline_rows = [
        r
        for r in results["rows"]
        if r["section"] == "deadlines"
        and r["metric"].startswith(("breach lateness", "CPU per breach"))
    ]
    assert len(deadline_rows) == 4 and all(r["baseline"] is not None for r in deadline_rows), (
        deadline_rows
    )
    parts = [r for r in results["rows"] if r["metric"].startswith("lateness part")]
    assert len(parts) == 6 and all(r["value"] is not None for r in parts), parts
    cpu = next(r for r in deadline_rows if r["metric"].startswith("CPU per breach"))
    assert cpu["value"] > 0 and cpu["baseline"] > 0


def test_a_rebuild_at_the_breach_replays_the_history_up_to_the_firing_task():
    from temporalio.api.enums.v1 import EventType
    from temporalio.client import WorkflowHistory

    from bench.replay_cost import up_to_first_firing

    path = ROOT / "tests" / "workflows" / "histories" / "sla_breach_on_time.json"
    history = WorkflowHistory.from_json("escalation-breach", path.read_text())
    cut = up_to_first_firing(history)
    kinds = [e.event_type for e in cut.events]
    fired = kinds.index(EventType.EVENT_TYPE_TIMER_FIRED)
    # the firing, then the task it schedules, started: what the worker is sent at the breach
    assert kinds[fired + 1 :] == [
        EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
    ]
    assert len(cut.events) < len(history.events)
    assert list(cut.events) == list(history.events)[: len(cut.events)]


async def test_replay_cost_rebuilds_an_escalation_and_a_raw_workflow_at_their_firing():
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.replay_cost",
        "--n",
        "5",
        "--target-s",
        "5",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=240)
    assert proc.returncode == 0, out.decode()[-3000:]
    result = json.loads(out.decode().strip().splitlines()[-1])
    assert result["rebuilds"] == 5
    for side in ("service", "raw"):
        assert result[side]["cpu_per_rebuild_ms"] > 0, result
    # the escalation's opening task, its deliveries and the breach's timer, not only a start
    assert result["service"]["events"] > 10 and result["raw"]["events"] > 10, result
    assert result["ratio"] == pytest.approx(
        result["service"]["cpu_per_rebuild_ms"] / result["raw"]["cpu_per_rebuild_ms"], rel=0.05
    )
