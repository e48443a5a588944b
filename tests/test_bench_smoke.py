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
        sys.executable, "-m", "bench", "--quick", "--results-dir", str(tmp_path),
        "--workers", "2",  # the service's and the baseline's, measured together
        cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "ESCALATIONS_LOG_FORMAT": "json"},
    )
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=400)
    assert proc.returncode == 0, out.decode()[-3000:]
    results = json.loads((tmp_path / "results.json").read_text())
    # both of the service's worker processes were found (their CPU and RSS are summed)
    assert len(results["pids"]["workers"]) == results["workers"] == 2
    sections = {row["section"] for row in results["rows"]}
    assert {"history", "throughput", "anatomy", "latency", "cost growth", "memory",
            "deadlines"} <= sections, sections
    assert not [r for r in results["rows"] if r["metric"] == "section completed"], results["rows"]
    signoff = next(r for r in results["rows"] if "sign-off path" in r["metric"]
                   and r["section"] == "history")
    assert signoff["value"] > 0 and signoff["baseline"] > 0
    # deadline precision is measured beside raw Temporal firing at the same rate
    deadline_rows = [r for r in results["rows"] if r["section"] == "deadlines"
                     and r["metric"].startswith(("breach lateness", "CPU per breach"))]
    assert len(deadline_rows) == 4 and all(r["baseline"] is not None for r in deadline_rows), \
        deadline_rows
    parts = [r for r in results["rows"] if r["metric"].startswith("lateness part")]
    assert len(parts) == 6 and all(r["value"] is not None for r in parts), parts
    cpu = next(r for r in deadline_rows if r["metric"].startswith("CPU per breach"))
    assert cpu["value"] > 0 and cpu["baseline"] > 0
