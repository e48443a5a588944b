"""Section `facts`: what writing the report store's facts costs the sign-off lifecycle, measured
in one run. Two services share the dev server (`Stack.start_facts_off`): the usual one, whose
workers write the facts, and a second one, the same code on its own task queue with
`ESCALATIONS_REPORT_FACTS=false`. Rounds alternate between them (on, off, off, on, ...), as the
throughput section alternates service and raw, so a host that speeds up or slows down weighs on
both alike. The workflow sends the facts on both sides; only the write differs.
"""

from __future__ import annotations

import asyncio

from bench.api_client import Api
from bench.scenarios import Ctx, Results, closed_loop, signoff_path


async def section_facts(
    ctx: Ctx, res: Results, off_api: Api, n: int, concurrency: int, timeout: float, rounds: int
) -> None:
    st = ctx.stack
    warm = min(concurrency, n)
    for api in (ctx.api, off_api):
        await closed_loop(warm, concurrency, lambda i, api=api: signoff_path(api, i), timeout)
    sides = {
        "on": (
            {"worker": st.worker_pids, "api": [st.api_pid], "dev_server": [st.server_pid]},
            lambda i: signoff_path(ctx.api, i),
        ),
        "off": (
            {"worker": st.off_worker_pids, "api": [st.off_api_pid], "dev_server": [st.server_pid]},
            lambda i: signoff_path(off_api, i),
        ),
    }
    tot: dict[str, dict] = {
        side: {"elapsed": 0.0, "done": 0, "errors": 0, "cpu": {}} for side in sides
    }
    rounds = max(1, min(rounds, n))
    sizes = [n // rounds + (1 if k < n % rounds else 0) for k in range(rounds)]
    per_round: list[dict[str, float]] = []
    for k, size in enumerate(sizes):
        order = ("on", "off") if k % 2 == 0 else ("off", "on")
        rates: dict[str, float] = {}
        for side in order:
            procs, one = sides[side]
            t = tot[side]
            cpu0 = {name: st.cpu_seconds(*pids) for name, pids in procs.items()}
            elapsed, lat, errors = await closed_loop(size, concurrency, one, timeout)
            await asyncio.sleep(2)  # let background deliveries and writes of the last ones settle
            for name, pids in procs.items():
                t["cpu"][name] = t["cpu"].get(name, 0.0) + st.cpu_seconds(*pids) - cpu0[name]
            t["elapsed"] += elapsed
            t["done"] += len(lat)
            t["errors"] += errors
            rates[side] = len(lat) / max(elapsed, 1e-9)
        per_round.append(
            {
                "on_per_s": round(rates["on"], 2),
                "off_per_s": round(rates["off"], 2),
                "ratio": round(rates["on"] / max(rates["off"], 1e-9), 3),
            }
        )
    on, off = tot["on"], tot["off"]
    rate_on = on["done"] / max(on["elapsed"], 1e-9)
    rate_off = off["done"] / max(off["elapsed"], 1e-9)
    ratios = [r["ratio"] for r in per_round]
    res.add(
        "facts",
        f"sign-off lifecycles/s, facts written ({n} a side in {rounds} alternating rounds, "
        f"{concurrency} in flight)",
        rate_on,
        "/s",
        baseline=rate_off,
        baseline_label="facts not written",
        target_ratio=0.9,
        better="higher",
        errors=int(on["errors"] + off["errors"]),
        extra={
            "cost_of_facts_pct": round(100 * (1 - rate_on / max(rate_off, 1e-9)), 1),
            "rounds": per_round,
            "round_ratio_min": min(ratios),
            "round_ratio_max": max(ratios),
        },
    )

    def per_lifecycle(t: dict) -> dict[str, float]:
        return {name: round(v / max(1, t["done"]), 4) for name, v in t["cpu"].items()}

    res.add(
        "facts",
        "worker CPU per lifecycle, facts written",
        on["cpu"]["worker"] / max(1, on["done"]),
        "s",
        baseline=off["cpu"]["worker"] / max(1, off["done"]),
        baseline_label="facts not written",
        better="lower",
        extra={
            "on_by_process_s": per_lifecycle(on),
            "off_by_process_s": per_lifecycle(off),
            "note": "CPU seconds per lifecycle; the dev server is shared (each side counts it "
            "during its own rounds); includes the 2 s settle after each round",
        },
    )
