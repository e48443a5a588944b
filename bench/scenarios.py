"""The benchmark's sections. Every loop is bounded in count and in time."""

from __future__ import annotations

import asyncio
import itertools
import math
import os
import signal
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from bench.api_client import Api
from bench.raw_workflow import RAW_DEADLINE_WORKFLOW, RAW_WORKFLOW, RawDeadlineInput, RawInput
from bench.stack import DEADLINE_CATEGORY, Stack


def auth(role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer demo-{role}"}


def request_body(amount: float, category: str = "billing", n: int = 0) -> dict[str, Any]:
    return {
        "customer": {
            "id": f"C-{n:06d}",
            "name": "Ada Lovelace",
            "tier": "standard",
            "contact": {
                "email": "ada@example.com",
                "phone": "+441000000000",
                "preferred_channel": "email",
            },
        },
        "channel": "phone",
        "category": category,
        "summary": "Charged twice for March",
        "details": "Two identical charges on 3 March",
        "trigger": "customer_request",
        "requested_remedy": {
            "kind": "refund",
            "amount": amount,
            "currency": "GBP",
            "description": "Refund both charges",
        },
        # the demo policy's required billing questions (an agent answers them: 422 otherwise)
        "answers": {"invoice_number": f"INV-{n:06d}", "amount_disputed": f"{amount:.2f}"}
        if category == "billing"
        else {},
    }


def pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    k = max(0, min(len(s) - 1, math.ceil(p / 100 * len(s)) - 1))
    return s[k]


class BenchError(Exception):
    pass


@dataclass
class Ctx:
    stack: Stack
    api: Api
    client: Client
    raw_tq: str
    # [local, regular] activities per phase of the sign-off path, from the real history
    signoff_phases: list[list[int]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# --- HTTP steps ---------------------------------------------------------------------------------


async def post(
    api: Api,
    path: str,
    role: str,
    body: Any = None,
    ok: tuple[int, ...] = (200, 201),
    key: str | None = None,
) -> dict:
    headers = auth(role) | ({"Idempotency-Key": key} if key else {})
    r = await api.post(path, json=body, headers=headers)
    if r.status_code not in ok:
        raise BenchError(f"POST {path} as {role}: {r.status_code} {r.text[:300]}")
    return r.json()


POLLS = {"n": 0}  # GET /escalations/{id} requests made while waiting (reported per lifecycle)


async def wait_view(
    api: Api, eid: str, pred: Callable[[dict], bool], timeout: float = 60, what: str = ""
) -> dict:
    deadline = time.monotonic() + timeout
    delay = 0.02
    while True:
        POLLS["n"] += 1
        r = await api.get(f"/escalations/{eid}", headers=auth("operator"))
        if r.status_code == 200 and pred(view := r.json()):
            return view
        if time.monotonic() > deadline:
            raise BenchError(f"{eid}: gave up waiting for {what} after {timeout:.0f} s")
        await asyncio.sleep(delay)
        delay = min(delay * 1.5, 0.25)


async def open_escalation(
    api: Api, amount: float, category: str = "billing", n: int = 0, key: str | None = None
) -> dict:
    """`key`: an Idempotency-Key, so a request the client must send again opens one case (then
    200 answers the repeat)."""
    ok = (201, 200) if key else (201,)
    body = request_body(amount, category, n)
    return await post(api, "/escalations", "agent", body, ok=ok, key=key)


async def signoff_path(api: Api, n: int = 0) -> str:
    """One escalation along the sign-off path through the API; returns its id."""
    view = await open_escalation(api, 600.0, n=n)
    eid = view["id"]
    if view["stage"] != "helpline_consult":
        await wait_view(api, eid, lambda v: v["stage"] == "helpline_consult", what="consult")
    view = await post(
        api,
        f"/escalations/{eid}/consult-answer",
        "helpline",
        {"resolves": False, "answer": "Needs a specialist"},
    )
    if view["assignee"] is None:  # the answer comes once routed; a stack that predates it
        await wait_view(api, eid, lambda v: v["assignee"] is not None, what="assignee")
    await post(api, f"/escalations/{eid}/acknowledge", "specialist", {})
    view = await post(
        api,
        f"/escalations/{eid}/proposals",
        "specialist",
        {
            "remedy": {
                "kind": "refund",
                "amount": 600.0,
                "currency": "GBP",
                "description": "Refund both charges",
            }
        },
    )
    if view["stage"] != "executive_signoff":
        raise BenchError(f"{eid}: proposal left stage {view['stage']}")
    view = await post(
        api, f"/escalations/{eid}/approvals", "executive", {"decision": "approve", "comment": "ok"}
    )
    if view["stage"] not in ("resolved", "follow_up"):
        raise BenchError(f"{eid}: approval left stage {view['stage']}")
    return eid


async def raw_path(ctx: Ctx, phases: list[list[int]]) -> str:
    """The baseline of one escalation: start + one update per client action of the path."""
    wid = f"bench-raw-{uuid.uuid4().hex[:16]}"
    handle = await ctx.client.start_workflow(
        RAW_WORKFLOW, RawInput(phases=phases, payload="x" * 200), id=wid, task_queue=ctx.raw_tq
    )
    for k in range(1, len(phases)):
        await handle.execute_update("step", k, result_type=str)
    return wid


# --- history ------------------------------------------------------------------------------------


async def stable_history(client: Client, wid: str, timeout: float = 30) -> list:
    """The workflow's history once it stops growing (1.5 s without a new event)."""
    deadline = time.monotonic() + timeout
    last, since = -1, time.monotonic()
    while True:
        events = (await client.get_workflow_handle(wid).fetch_history()).events
        if len(events) != last:
            last, since = len(events), time.monotonic()
        elif time.monotonic() - since >= 1.5:
            return list(events)
        if time.monotonic() > deadline:
            return list(events)
        await asyncio.sleep(0.25)


def activity_phases(events: list) -> list[list[int]]:
    """[local, regular] activities per phase; a phase starts at each accepted update."""
    phases = [[0, 0]]
    for e in events:
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
            phases.append([0, 0])
        elif (
            e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
            # a local activity's marker; not a `workflow.patched` one ("core_patch")
            and e.marker_recorded_event_attributes.marker_name == "core_local_activity"
        ):
            phases[-1][0] += 1
        elif e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            phases[-1][1] += 1
    return phases


async def section_history(ctx: Ctx, res: Results) -> None:
    view = await open_escalation(ctx.api, 40.0)
    await wait_view(ctx.api, view["id"], lambda v: v["stage"] == "follow_up", what="follow_up")
    tier1 = await stable_history(ctx.client, f"escalation-{view['id']}")
    eid = await signoff_path(ctx.api)
    signoff = await stable_history(ctx.client, f"escalation-{eid}")
    ctx.signoff_phases = activity_phases(signoff)
    raw_tier1 = await stable_history(ctx.client, await raw_path(ctx, activity_phases(tier1)[:1]))
    raw_signoff = await stable_history(ctx.client, await raw_path(ctx, ctx.signoff_phases))
    local = sum(p[0] for p in ctx.signoff_phases)
    regular = sum(p[1] for p in ctx.signoff_phases)
    ctx.notes.append(
        f"Sign-off path runs {regular} regular + {local} local activities "
        f"(per phase [local, regular]: {ctx.signoff_phases}); the raw baseline runs the same."
    )
    res.add(
        "history",
        "events per escalation, tier-1 path (refund 40)",
        len(tier1),
        "events",
        baseline=len(raw_tier1),
        better="lower",
        extra={"by_type": event_types(tier1)},
    )
    res.add(
        "history",
        "events per escalation, sign-off path (refund 600)",
        len(signoff),
        "events",
        baseline=len(raw_signoff),
        target=80,
        better="lower",
        extra={"by_type": event_types(signoff), "raw_by_type": event_types(raw_signoff)},
    )


def per_item(before: dict[str, float], after: dict[str, float], n: int) -> dict[str, float]:
    return {k: round((after[k] - before[k]) / max(1, n), 4) for k in after}


def event_types(events: list) -> dict[str, int]:
    counts: dict[str, int] = {}
    for e in events:
        name = EventType.Name(e.event_type).removeprefix("EVENT_TYPE_")
        counts[name] = counts.get(name, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


async def ensure_phases(ctx: Ctx) -> None:
    if not ctx.signoff_phases:
        eid = await signoff_path(ctx.api)
        ctx.signoff_phases = activity_phases(await stable_history(ctx.client, f"escalation-{eid}"))


# --- throughput ---------------------------------------------------------------------------------


async def closed_loop(
    n: int, concurrency: int, one: Callable[[int], Awaitable[Any]], timeout: float
) -> tuple[float, list[float], int]:
    """Run `one(i)` n times with at most `concurrency` in flight; (elapsed, latencies, errors)."""
    counter = itertools.count()
    lat: list[float] = []
    errors = 0

    async def lane() -> None:
        nonlocal errors
        while (i := next(counter)) < n:
            t = time.perf_counter()
            try:
                await one(i)
                lat.append(time.perf_counter() - t)
            except Exception:  # noqa: BLE001 - counted and reported
                errors += 1

    t0 = time.perf_counter()
    lanes = [asyncio.ensure_future(lane()) for _ in range(concurrency)]
    done, pending = await asyncio.wait(lanes, timeout=timeout)
    for t in pending:
        t.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    return time.perf_counter() - t0, lat, errors + (n - len(lat) - errors if pending else 0)


async def section_throughput(
    ctx: Ctx, res: Results, n: int, concurrency: int, timeout: float, rounds: int = 4
) -> None:
    """Sign-off lifecycles through the API against the raw workflow's, in `rounds` alternating
    rounds (service, raw, raw, service, service, raw, ...), so that a host that speeds up or
    slows down during the section weighs on both sides alike. The rates are each side's
    lifecycles over its own time summed over its rounds; the per-round ratios are in the
    row's extra, their spread beside them."""
    await ensure_phases(ctx)
    warm = min(concurrency, n)
    await closed_loop(warm, concurrency, lambda i: signoff_path(ctx.api, i), timeout)
    await closed_loop(warm, concurrency, lambda i: raw_path(ctx, ctx.signoff_phases), timeout)
    st = ctx.stack
    rounds = max(1, min(rounds, n))
    sizes = [n // rounds + (1 if k < n % rounds else 0) for k in range(rounds)]
    sides = {
        "service": (st.service_pids, lambda i: signoff_path(ctx.api, i)),
        "raw": (st.raw_pids, lambda i: raw_path(ctx, ctx.signoff_phases)),
    }
    tot = {
        side: {"elapsed": 0.0, "lat": [], "errors": 0, "cpu": 0.0, "by": {}, "polls": 0}
        for side in sides
    }
    per_round: list[dict[str, float]] = []
    for k, size in enumerate(sizes):
        order = ("service", "raw") if k % 2 == 0 else ("raw", "service")
        rates: dict[str, float] = {}
        for side in order:
            pids, one = sides[side]
            t = tot[side]
            cpu0, by0, polls0 = st.cpu_seconds(*pids), st.cpu_by_process(), POLLS["n"]
            elapsed, lat, errors = await closed_loop(size, concurrency, one, timeout)
            await asyncio.sleep(2)  # let background deliveries of the last ones settle
            t["cpu"] += st.cpu_seconds(*pids) - cpu0
            for name, v in st.cpu_by_process().items():
                t["by"][name] = t["by"].get(name, 0.0) + v - by0[name]
            t["elapsed"] += elapsed
            t["lat"] += lat
            t["errors"] += errors
            t["polls"] += POLLS["n"] - polls0
            rates[side] = len(lat) / max(elapsed, 1e-9)
        per_round.append(
            {
                "service_per_s": round(rates["service"], 2),
                "raw_per_s": round(rates["raw"], 2),
                "ratio": round(rates["service"] / max(rates["raw"], 1e-9), 3),
            }
        )
    s, r = tot["service"], tot["raw"]
    lat_s, lat_r = s["lat"], r["lat"]

    def per_lifecycle(by: dict[str, float], count: int) -> dict[str, float]:
        return {name: round(v / max(1, count), 4) for name, v in by.items()}

    svc, raw = len(lat_s) / max(s["elapsed"], 1e-9), len(lat_r) / max(r["elapsed"], 1e-9)
    ratios = [x["ratio"] for x in per_round]
    res.add(
        "throughput",
        "CPU per lifecycle (service: worker+API+server; raw: worker+server)",
        s["cpu"] / max(1, len(lat_s)),
        "s",
        baseline=r["cpu"] / max(1, len(lat_r)),
        better="lower",
        extra={
            "note": "CPU seconds, insensitive to other load on the machine; includes the "
            "2 s settle after each round",
            "service_by_process_s": per_lifecycle(s["by"], len(lat_s)),
            "raw_by_process_s": per_lifecycle(r["by"], len(lat_r)),
            "service_polls_per_lifecycle": round(s["polls"] / max(1, len(lat_s)), 2),
        },
    )
    res.add(
        "throughput",
        f"sign-off lifecycles/s ({n} in {rounds} alternating rounds, {concurrency} in flight)",
        svc,
        "/s",
        baseline=raw,
        target_ratio=0.7,
        better="higher",
        errors=s["errors"] + r["errors"],
        extra={
            "service_errors": s["errors"],
            "raw_errors": r["errors"],
            "rounds": per_round,
            "round_ratio_min": min(ratios),
            "round_ratio_max": max(ratios),
        },
    )
    res.add(
        "throughput",
        "lifecycle duration p50",
        pct(lat_s, 50),
        "s",
        baseline=pct(lat_r, 50),
        better="lower",
    )
    res.add(
        "throughput",
        "lifecycle duration p95",
        pct(lat_s, 95),
        "s",
        baseline=pct(lat_r, 95),
        better="lower",
    )


# --- anatomy: what each kind of Temporal work costs the dev server -----------------------------


async def section_anatomy(ctx: Ctx, res: Results, n: int, concurrency: int) -> None:
    """The raw workflow of the sign-off path, then the same with one kind of extra Temporal work
    the escalation does (and the raw baseline does not) switched on at a time, each run `n`
    times: dev-server and worker CPU per lifecycle. Prices the gap between the service and the
    baseline in server work that any workflow doing the same would pay."""
    await ensure_phases(ctx)
    phases = ctx.signoff_phases
    base = dict(phases=phases, payload="x" * 200)
    variants = [
        ("raw", RawInput(**base)),
        (
            f"+ {len(phases) - 1} search-attribute upserts (one per phase after the start)",
            RawInput(**base, upsert_from_phase=1),
        ),
        (
            "+ a timer on each wait for the next update, cancelled by it",
            RawInput(**base, timers=True),
        ),
        (
            "+ escalation-sized payloads (7 KB input, 1.5 KB activity inputs and update answers)",
            RawInput(phases=phases, payload="x" * 1500, result="y" * 1500, pad="p" * 7000),
        ),
        (
            "+ all three at once (the escalation's Temporal work without its logic)",
            RawInput(
                phases=phases,
                payload="x" * 1500,
                result="y" * 1500,
                pad="p" * 7000,
                upsert_from_phase=1,
                timers=True,
            ),
        ),
        ("raw, again (the noise between runs)", RawInput(**base)),
    ]
    st = ctx.stack

    async def one(inp: RawInput) -> None:
        handle = await ctx.client.start_workflow(
            RAW_WORKFLOW, inp, id=f"bench-anatomy-{uuid.uuid4().hex[:16]}", task_queue=ctx.raw_tq
        )
        for k in range(1, len(phases)):
            await handle.execute_update("step", k, result_type=str)
        await handle.result()

    raw_server = None
    rates: dict[str, float] = {}
    for label, inp in variants:
        await closed_loop(concurrency, concurrency, lambda i: one(inp), 120)  # warm-up
        c0 = (st.cpu_seconds(st.server_pid), st.cpu_seconds(*st.raw_worker_pids))
        elapsed, lat, errors = await closed_loop(
            n, concurrency, lambda i: one(inp), max(300, n * 2)
        )
        await asyncio.sleep(1)
        server = (st.cpu_seconds(st.server_pid) - c0[0]) / max(1, len(lat))
        worker = (st.cpu_seconds(*st.raw_worker_pids) - c0[1]) / max(1, len(lat))
        if raw_server is None:
            raw_server = server
        res.add(
            "anatomy",
            f"dev-server CPU per lifecycle: {label}",
            server,
            "s",
            baseline=raw_server,
            better="lower",
            errors=errors,
            extra={
                "worker_cpu_s": round(worker, 4),
                "lifecycles": len(lat),
                "lifecycles_per_s": round(len(lat) / max(elapsed, 1e-9), 2),
            },
        )
        rates[label] = len(lat) / max(elapsed, 1e-9)
    everything = variants[-2][0]
    res.add(
        "anatomy",
        "lifecycles/s of the raw workflow with all three at once",
        rates[everything],
        "/s",
        baseline=rates[variants[0][0]],
        better="higher",
        extra={
            "note": "the part of the throughput gap any workflow doing the escalation's "
            "Temporal work would show, in the same closed loop"
        },
    )


# --- start latency (open loop) -----------------------------------------------------------------


async def open_loop(
    rate: float,
    duration: float,
    one: Callable[[int], Awaitable[Any]],
    max_in_flight: int = 1000,
    grace: float = 30,
) -> tuple[list[float], int, float]:
    """Send at `rate`/s for `duration` s on a fixed schedule (not after the previous answer).
    Latency counts from the scheduled send time. Returns (latencies, errors, achieved rate)."""
    loop = asyncio.get_running_loop()
    n = int(rate * duration)
    lat: list[float] = []
    errors = 0
    tasks: set[asyncio.Task] = set()

    async def fire(i: int, due: float) -> None:
        nonlocal errors
        try:
            await one(i)
            lat.append(loop.time() - due)
        except Exception:  # noqa: BLE001 - counted and reported
            errors += 1

    t0 = loop.time()
    for i in range(n):
        due = t0 + i / rate
        if (wait := due - loop.time()) > 0:
            await asyncio.sleep(wait)
        if len(tasks) >= max_in_flight:
            errors += 1  # shed: the service is far behind; counted as a failure
            continue
        t = asyncio.ensure_future(fire(i, due))
        tasks.add(t)
        t.add_done_callback(tasks.discard)
    sent_for = loop.time() - t0
    if tasks:
        done, pending = await asyncio.wait(set(tasks), timeout=grace)
        for t in pending:
            t.cancel()
        errors += len(pending)
    return lat, errors, n / max(sent_for, 1e-9)


async def section_latency(ctx: Ctx, res: Results, rate: float, duration: float) -> None:
    await ensure_phases(ctx)
    phase0 = ctx.signoff_phases[:1]

    async def service(i: int) -> None:
        await open_escalation(ctx.api, 600.0, n=i)

    async def raw(i: int) -> None:
        await ctx.client.start_workflow(
            RAW_WORKFLOW,
            RawInput(phases=phase0, payload="x" * 200),
            id=f"bench-raw-start-{uuid.uuid4().hex[:16]}",
            task_queue=ctx.raw_tq,
        )

    st = ctx.stack
    svc_pids = st.service_pids
    raw_pids = st.raw_pids
    cpu0, by0 = st.cpu_seconds(*svc_pids), st.cpu_by_process()
    lat_s, err_s, _ = await open_loop(rate, duration, service)
    await asyncio.sleep(3)
    cpu_s = st.cpu_seconds(*svc_pids) - cpu0
    by_s = per_item(by0, st.cpu_by_process(), len(lat_s))
    cpu0 = st.cpu_seconds(*raw_pids)
    lat_r, err_r, _ = await open_loop(rate, duration, raw)
    await asyncio.sleep(3)
    cpu_r = st.cpu_seconds(*raw_pids) - cpu0
    res.add(
        "latency",
        "CPU per opened escalation (until it waits for the help line)",
        cpu_s / max(1, len(lat_s)),
        "s",
        baseline=cpu_r / max(1, len(lat_r)),
        better="lower",
        extra={
            "service_by_process_s": by_s,
            "offered_cpu_load_cores": round(cpu_s / max(1, len(lat_s)) * rate, 2),
        },
    )
    for p, target in ((50, None), (95, None), (99, 0.150)):
        res.add(
            "latency",
            f"POST /escalations p{p} at {rate:g}/s for {duration:g} s",
            pct(lat_s, p),
            "s",
            baseline=pct(lat_r, p),
            target=target,
            better="lower",
            errors=err_s + err_r if p == 99 else None,
            extra={"service_errors": err_s, "raw_errors": err_r, "samples": len(lat_s)}
            if p == 99
            else None,
        )
    # The same load with the worker stopped (SIGSTOP): the API and the dev server's start path
    # alone, without the cases' workflow tasks and deliveries competing for the 2 cores. It
    # tells the start path's own latency from the queueing the cases' work causes.
    lat_p, err_p, caught_up = await paused_worker_openings(ctx, rate, duration, service)
    for p in (50, 99):
        res.add(
            "latency",
            f"POST /escalations p{p} at {rate:g}/s, worker stopped (start path alone)",
            pct(lat_p, p),
            "s",
            baseline=pct(lat_s, p),
            baseline_label="worker running",
            better="lower",
            errors=err_p if p == 99 else None,
            extra={"samples": len(lat_p), "catch_up": caught_up} if p == 99 else None,
        )


async def paused_worker_openings(
    ctx: Ctx, rate: float, duration: float, one: Callable[[int], Awaitable[Any]]
) -> tuple[list[float], int, dict[str, float]]:
    """Open at `rate`/s for `duration` s while the worker is stopped, then let it catch up (the
    openings' first workflow tasks and deliveries) before the next section; returns the
    latencies, the errors and how long the catch-up took (`quiet`)."""
    pids = ctx.stack.worker_pids
    if not pids:
        return [], 0, {}
    try:
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        lat, err, _ = await open_loop(rate, duration, lambda i: one(100000 + i))
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)
    return lat, err, await quiet(ctx, max_wait=120.0)


# --- scale: cost growth, memory, deadline precision -------------------------------------------


async def quiet(ctx: Ctx, max_wait: float = 90.0, below: float = 0.15) -> dict[str, float]:
    """Wait until the stack (worker, API, dev server) is idle: under `below` cores for two
    1-second windows in a row, at most `max_wait` s. Both cost probes start from this state, so
    they compare a small and a large store rather than a busy and a quiet moment (the server's
    visibility and transfer queues drain for a while after a burst of openings)."""
    st = ctx.stack
    pids = st.service_pids
    t0, calm = time.monotonic(), 0
    load = 0.0
    while time.monotonic() - t0 < max_wait and calm < 2:
        c0 = st.cpu_seconds(*pids)
        await asyncio.sleep(1.0)
        load = st.cpu_seconds(*pids) - c0
        calm = calm + 1 if load < below else 0
    return {"quiet_wait_s": round(time.monotonic() - t0, 1), "load_cores": round(load, 3)}


async def probe(ctx: Ctx, n: int, max_quiet_wait: float = 90.0) -> dict[str, float | None]:
    """n rounds of one POST /escalations then one GET /escalations?stage=..., sequential, from
    a quiet stack; the CPU the stack used meanwhile is reported beside the latencies."""
    st = ctx.stack
    pids = st.service_pids
    settle = await quiet(ctx, max_quiet_wait)
    post_lat, list_lat = [], []
    c0, t0 = st.cpu_seconds(*pids), time.perf_counter()
    for i in range(n):
        t = time.perf_counter()
        await open_escalation(ctx.api, 600.0, n=900000 + i)
        post_lat.append(time.perf_counter() - t)
        t = time.perf_counter()
        r = await ctx.api.get(
            "/escalations",
            params={"stage": "helpline_consult", "page_size": 20},
            headers=auth("operator"),
        )
        if r.status_code != 200:
            raise BenchError(f"GET /escalations: {r.status_code} {r.text[:200]}")
        list_lat.append(time.perf_counter() - t)
    cores = (st.cpu_seconds(*pids) - c0) / (time.perf_counter() - t0)
    return {
        "post_p50": pct(post_lat, 50),
        "post_p95": pct(post_lat, 95),
        "list_p50": pct(list_lat, 50),
        "list_p95": pct(list_lat, 95),
        "samples": n,
        "stack_cores_during_probe": round(cores, 2),
        **settle,
    }


async def running_escalations(ctx: Ctx) -> int:
    return (
        await ctx.client.count_workflows(
            "WorkflowType = 'EscalationWorkflow' AND ExecutionStatus = 'Running'"
        )
    ).count


def _dt(s: str) -> datetime:
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


async def raw_deadlines(
    ctx: Ctx, n: int, rate: float, gap: float, sample: int, concurrency: int = 40
) -> dict[str, Any]:
    """The deadline baseline: `n` raw deadline workflows started at `rate` per second (the
    service's opening rate), each with a deadline `n / rate + gap` s after its start, so they
    fire at the same rate as the escalations' breaches. CPU of the raw worker and the dev server
    over the firing window, and the lateness each workflow took at its firing (queried)."""
    st = ctx.stack
    loop = asyncio.get_running_loop()
    spread = n / rate
    target_s = spread + gap
    sem = asyncio.Semaphore(concurrency)
    handles: list = []
    errors = 0

    async def start(i: int) -> None:
        nonlocal errors
        try:
            handles.append(
                await ctx.client.start_workflow(
                    RAW_DEADLINE_WORKFLOW,
                    RawDeadlineInput(due=time.time() + target_s),
                    id=f"bench-raw-deadline-{uuid.uuid4().hex[:16]}",
                    task_queue=ctx.raw_tq,
                )
            )
        except Exception:  # noqa: BLE001
            errors += 1
        finally:
            sem.release()

    t_start = loop.time()
    tasks = []
    for i in range(n):
        if (wait := t_start + i / rate - loop.time()) > 0:
            await asyncio.sleep(wait)
        await sem.acquire()
        tasks.append(asyncio.ensure_future(start(i)))
    await asyncio.gather(*tasks)
    opened_in = loop.time() - t_start
    await asyncio.sleep(max(0.0, t_start + target_s - 2.0 - loop.time()))
    by0, t_win = st.cpu_by_process(), loop.time()
    await asyncio.sleep(
        max(0.0, t_start + opened_in + target_s - loop.time()) + max(10.0, 0.05 * spread)
    )
    by = per_item(by0, st.cpu_by_process(), max(1, len(handles)))
    win_s = loop.time() - t_win
    step = max(1, math.ceil(len(handles) / sample))
    lateness: list[float] = []
    missing = 0
    read_sem = asyncio.Semaphore(10)

    async def read(h) -> None:
        nonlocal missing
        async with read_sem:
            try:
                late = await h.query("lateness")
            except Exception:  # noqa: BLE001 - counted with the ones not fired
                late = None
        if late is None:
            missing += 1
        else:
            lateness.append(late)

    await asyncio.wait_for(
        asyncio.gather(*(read(h) for h in handles[::step][:sample]), return_exceptions=True),
        timeout=max(120.0, sample * 0.5),
    )
    return {
        "n": len(handles),
        "errors": errors,
        "missing": missing,
        "lateness": lateness,
        "by_process": by,
        "window_s": win_s,
        "opened_in_s": opened_in,
    }


async def lateness_parts(ctx: Ctx, due: dict[str, datetime]) -> dict[str, list[float]]:
    """Where a breach's lateness comes from, read from each case's history (`due`: workflow id
    -> the first-response deadline; the SLA timer is the first timer under a day). The workflow
    counts the timer's duration from `workflow.now()` (the start of its workflow task, plus the
    run time of the task's local activities before it), but the server starts the timer when
    that task completes: (1) the timer starts late by the time between the two; (2) the server
    fires it late; (3) the firing's workflow task waits for a worker to pick it up."""
    parts: dict[str, list[float]] = {
        "timer_started_late": [],
        "timer_fired_late": [],
        "firing_task_wait": [],
    }
    sem = asyncio.Semaphore(10)

    def at(e) -> float:
        return e.event_time.ToDatetime().timestamp()

    def _fires_within(attrs: Any, seconds: float) -> bool:
        return attrs.start_to_fire_timeout.ToTimedelta().total_seconds() < seconds

    async def one(wid: str, due_at: datetime) -> None:
        async with sem:
            events = (await ctx.client.get_workflow_handle(wid).fetch_history()).events
        timer = next(
            (
                e
                for e in events
                if e.event_type == EventType.EVENT_TYPE_TIMER_STARTED
                and _fires_within(e.timer_started_event_attributes, 86000)
            ),
            None,
        )
        if timer is None:
            return
        attrs = timer.timer_started_event_attributes
        i = events.index(timer)
        completed = next(
            e
            for e in reversed(events[: i + 1])
            if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
        )
        fired = next(
            (
                e
                for e in events
                if e.event_type == EventType.EVENT_TYPE_TIMER_FIRED
                and e.timer_fired_event_attributes.timer_id == attrs.timer_id
            ),
            None,
        )
        if fired is None:
            return
        j = events.index(fired)
        picked = next(
            e for e in events[j:] if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED
        )
        delay = attrs.start_to_fire_timeout.ToTimedelta().total_seconds()
        parts["timer_started_late"].append(at(completed) - (due_at.timestamp() - delay))
        parts["timer_fired_late"].append(at(fired) - at(completed) - delay)
        parts["firing_task_wait"].append(at(picked) - at(fired))

    await asyncio.gather(*(one(w, d) for w, d in due.items()), return_exceptions=True)
    return parts


async def section_scale(
    ctx: Ctx,
    res: Results,
    n: int,
    checkpoint: int,
    spread: float,
    target_s: float,
    probe_n: int,
    sample: int,
    raw_n: int = 0,
    concurrency: int = 40,
) -> None:
    """Open `n` P4 escalations at n/spread per second (deadline = open time + target_s, so the
    deadlines are spread like the openings), probe cost at `checkpoint` and at `n` open, sample
    worker and server RSS, then read the breach lateness from the timelines."""
    stack = ctx.stack
    ids: list[str | None] = [None] * n
    rss_worker: list[float] = []
    rss_server: list[float] = []
    stop_sampling = asyncio.Event()

    async def sampler() -> None:
        while not stop_sampling.is_set():
            if (w := stack.rss_mib(*stack.worker_pids)) is not None:
                rss_worker.append(w)
            if (s := stack.rss_mib(stack.server_pid)) is not None:
                rss_server.append(s)
            try:
                await asyncio.wait_for(stop_sampling.wait(), 2)
            except TimeoutError:
                pass

    sampling = asyncio.ensure_future(sampler())
    errors = 0
    sem = asyncio.Semaphore(concurrency)
    rate = n / spread
    loop = asyncio.get_running_loop()
    t_start = loop.time()
    shift = 0.0  # time spent paused for the checkpoint probe

    async def open_one(i: int) -> None:
        nonlocal errors
        try:
            view = await open_escalation(ctx.api, 600.0, DEADLINE_CATEGORY, n=i)
            ids[i] = view["id"]
        except Exception:  # noqa: BLE001
            errors += 1
        finally:
            sem.release()

    pending: set[asyncio.Task] = set()
    probes: dict[int, dict] = {}

    async def checkpoint_probe(label: int) -> None:
        if pending:
            await asyncio.wait(set(pending), timeout=60)
        # bounded so that the probe ends well before the first deadline
        probes[label] = {
            **await probe(ctx, probe_n, max(5.0, min(90.0, (target_s - spread) / 2))),
            "running": await running_escalations(ctx),
            "worker_rss_mib": stack.rss_mib(*stack.worker_pids),
            "server_rss_mib": stack.rss_mib(stack.server_pid),
        }

    max_open_s = 2 * spread + 60  # a stack far behind schedule must not stretch the run
    opened = 0
    for i in range(n):
        due = t_start + shift + i / rate
        if (wait := due - loop.time()) > 0:
            await asyncio.sleep(wait)
        try:
            left = t_start + shift + max_open_s - loop.time()
            if left <= 0:
                raise TimeoutError
            await asyncio.wait_for(sem.acquire(), left)
        except TimeoutError:
            ctx.notes.append(
                f"Scale: stopped opening after {max_open_s:.0f} s "
                f"(+ probe pause) with {i} of {n} requested; the stack is far "
                "behind the schedule."
            )
            break
        opened = i + 1
        t = asyncio.ensure_future(open_one(i))
        pending.add(t)
        t.add_done_callback(pending.discard)
        if i + 1 == checkpoint and checkpoint < n:
            p0 = loop.time()
            await checkpoint_probe(checkpoint)
            shift += loop.time() - p0
    opened_in = loop.time() - t_start
    await checkpoint_probe(n)
    behind = opened_in - spread - shift
    ctx.notes.append(
        f"Scale: opened {opened - errors} of {n} P4 escalations in {opened_in:.0f} s "
        f"(schedule {spread:.0f} s + {shift:.0f} s probe pause; "
        f"{max(0.0, behind):.0f} s behind schedule), "
        f"{errors} errors; first-response target {target_s:.0f} s."
    )
    # Wait until the last deadline has passed, plus a drain margin; bounded.
    good = [(i, e) for i, e in enumerate(ids) if e]
    first_due = t_start + target_s
    last_due = t_start + opened_in + target_s
    drain = max(10.0, 0.05 * spread)
    # CPU of each process from just before the first deadline to the end of the drain: the
    # breaches' cost (nothing else runs then; the stack is idle between the probe and the first
    # deadline).
    await asyncio.sleep(max(0.0, first_due - 2.0 - loop.time()))
    by0, t_win = stack.cpu_by_process(), loop.time()
    await asyncio.sleep(max(0.0, last_due - loop.time()) + drain)
    by_breach = per_item(by0, stack.cpu_by_process(), max(1, len(good)))
    win_s = loop.time() - t_win
    stop_sampling.set()
    await sampling
    # Read timelines: every k-th escalation, at most `sample`.
    step = max(1, math.ceil(len(good) / sample))
    chosen = [e for _, e in good[::step]][:sample]
    lateness: list[float] = []
    dues: dict[str, datetime] = {}
    missing = 0
    read_sem = asyncio.Semaphore(10)

    async def read(eid: str) -> None:
        nonlocal missing
        async with read_sem:
            v = (await ctx.api.get(f"/escalations/{eid}", headers=auth("operator"))).json()
            tl = (
                await ctx.api.get(f"/escalations/{eid}/timeline", headers=auth("operator"))
            ).json()
        due = next(
            (c["due_at"] for c in v.get("clocks", []) if c["name"] == "first_response"), None
        )
        at = next(
            (
                x["at"]
                for x in tl.get("items", [])
                if x["action"] == "sla_breached" and x["detail"].startswith("first_response")
            ),
            None,
        )
        if due is None or at is None:
            missing += 1
        else:
            lateness.append((_dt(at) - _dt(due)).total_seconds())
            dues[f"escalation-{eid}"] = _dt(due)

    t_read = time.perf_counter()
    await asyncio.wait_for(
        asyncio.gather(*(read(e) for e in chosen), return_exceptions=True),
        timeout=max(120.0, sample * 0.5),
    )
    read_s = time.perf_counter() - t_read
    ctx.notes.append(
        f"Deadline precision: read {len(chosen)} of {len(good)} timelines "
        f"(every {step}th) in {read_s:.0f} s; {missing} without a breach entry yet."
    )

    ordered = sorted(dues.items(), key=lambda kv: kv[1])  # every k-th deadline: the whole window
    parts = await lateness_parts(ctx, dict(ordered[:: max(1, len(ordered) // 200)][:200]))

    raw = None
    if raw_n > 0:
        raw = await raw_deadlines(ctx, raw_n, n / spread, min(target_s - spread, 60.0), sample)
        ctx.notes.append(
            f"Deadline baseline: {raw['n']} raw deadline workflows (of {raw_n}, {raw['errors']} "
            f"errors) started at the escalations' opening rate ({n / spread:.1f}/s, in "
            f"{raw['opened_in_s']:.0f} s), so they fire at the breaches' rate; lateness read from "
            f"{len(raw['lateness'])} ({raw['missing']} not fired yet or unreadable); "
            "CPU per firing: "
            + ", ".join(f"{k} {v * 1000:.1f} ms" for k, v in raw["by_process"].items() if v > 0)
            + f". The raw worker's sticky cache holds {ctx.stack.max_cached_workflows()} "
            "workflows, as the service worker's does."
        )

    lo, hi = probes.get(checkpoint, probes[n]), probes[n]
    for key, what in (
        ("post_p50", "POST /escalations p50"),
        ("post_p95", "POST /escalations p95"),
        ("list_p50", "GET /escalations?stage= p50"),
        ("list_p95", "GET /escalations?stage= p95"),
    ):
        res.add(
            "cost growth",
            f"{what} at {hi['running']} vs {lo['running']} running",
            hi[key],
            "s",
            baseline=lo[key],
            target_ratio=1.5,
            better="lower",
            baseline_label=f"same at {lo['running']} running",
        )
    ctx.notes.append(
        "Cost probes: "
        + "; ".join(
            f"at {p['running']} running, {p['samples']} POST+GET rounds after waiting "
            f"{p['quiet_wait_s']:.0f} s for a quiet stack (last second {p['load_cores']:.2f} "
            f"cores), the stack used {p['stack_cores_during_probe']:.2f} cores meanwhile"
            for p in (lo, hi)
        )
        + "."
    )
    workers = f"{stack.workers} worker processes together" if stack.workers > 1 else "worker"
    res.add(
        "memory",
        f"{workers} RSS with {hi['running']} running escalations",
        hi["worker_rss_mib"],
        "MiB",
        target=400,
        better="lower",
        extra={
            "max_during_section": max(rss_worker, default=None),
            "probes": {str(k): v for k, v in probes.items()},
        },
    )
    if (
        lo is not hi
        and hi["running"] > lo["running"]
        and hi["worker_rss_mib"]
        and lo["worker_rss_mib"]
    ):
        slope = (hi["worker_rss_mib"] - lo["worker_rss_mib"]) / (hi["running"] - lo["running"])
        cache = stack.max_cached_workflows() * stack.workers
        projected = hi["worker_rss_mib"] + slope * max(0, cache - hi["running"])
        ctx.notes.append(
            f"Memory: the {workers} grew {slope * 1024:.0f} KiB per running escalation between "
            f"the probes ({lo['running']} -> {hi['running']} running); the sticky caches hold "
            f"up to {cache} workflows ({stack.workers} x {stack.max_cached_workflows()}, "
            f"ESCALATIONS_WORKER_MAX_CACHED_WORKFLOWS per process), so full caches project to "
            f"about {projected:.0f} MiB."
        )
    res.add(
        "memory",
        f"{workers} RSS max during the scale section",
        max(rss_worker, default=None),
        "MiB",
        target=400,
        better="lower",
    )
    res.add(
        "memory",
        "dev-server RSS max during the scale section",
        max(rss_server, default=None),
        "MiB",
        better="lower",
    )
    ctx.notes.append(
        f"Deadline window: {len(good)} breaches in {win_s:.0f} s; CPU per breach: "
        + ", ".join(f"{k} {v * 1000:.1f} ms" for k, v in by_breach.items() if v > 0)
        + "."
    )
    raw_label = f"raw Temporal, {raw['n']} firings" if raw else "raw Temporal"
    res.add(
        "deadlines",
        "CPU per breach (service: worker + API + dev server; raw: worker + "
        "dev server; firing window)",
        sum(by_breach.get(k, 0.0) for k in ("worker", "api", "dev_server")),
        "s",
        baseline=sum(raw["by_process"].get(k, 0.0) for k in ("raw_worker", "dev_server"))
        if raw
        else None,
        baseline_label=raw_label,
        better="lower",
        extra={
            "by_process_s": by_breach,
            "window_s": round(win_s, 1),
            "breaches_per_s": round(len(good) / max(1.0, win_s), 2),
            **({"raw_by_process_s": raw["by_process"]} if raw else {}),
        },
    )
    for key, what in (
        (
            "timer_started_late",
            "the SLA timer starting late (its task completes "
            "after the workflow time its duration counts from)",
        ),
        ("timer_fired_late", "the dev server firing the timer after its duration"),
        ("firing_task_wait", "the firing's workflow task waiting for the worker"),
    ):
        for p in (50, 99):
            res.add(
                "deadlines",
                f"lateness part p{p} ({len(parts[key])} histories): {what}",
                pct(parts[key], p),
                "s",
                better="lower",
            )
    for p, target in ((50, None), (99, 2.0), (100, None)):
        res.add(
            "deadlines",
            f"breach lateness {'max' if p == 100 else f'p{p}'} "
            f"({len(lateness)} sampled of {len(good)})",
            pct(lateness, p),
            "s",
            target=target,
            better="lower",
            baseline=pct(raw["lateness"], p) if raw else None,
            baseline_label=raw_label,
            errors=missing if p == 99 else None,
        )


# --- results ------------------------------------------------------------------------------------


@dataclass
class Results:
    rows: list[dict] = field(default_factory=list)

    def add(
        self,
        section: str,
        metric: str,
        value: float | None,
        unit: str,
        *,
        baseline: float | None = None,
        target: float | None = None,
        target_ratio: float | None = None,
        better: str = "lower",
        errors: int | None = None,
        extra: dict | None = None,
        baseline_label: str = "raw Temporal",
    ) -> None:
        ratio = None
        if value is not None and baseline:
            ratio = value / baseline
        passed = None
        target_text = ""
        if target is not None and value is not None:
            passed = value <= target if better == "lower" else value >= target
            target_text = f"{'≤' if better == 'lower' else '≥'} {target:g} {unit}"
        if target_ratio is not None:
            target_text = f"ratio {'≤' if better == 'lower' else '≥'} {target_ratio:g}"
            if ratio is not None:
                passed = ratio <= target_ratio if better == "lower" else ratio >= target_ratio
        if value is None and (target is not None or target_ratio is not None):
            passed = False
        if errors:
            passed = False
        self.rows.append(
            dict(
                section=section,
                metric=metric,
                value=value,
                unit=unit,
                baseline=baseline,
                baseline_label=baseline_label if baseline is not None else None,
                ratio=ratio,
                target=target_text or None,
                passed=passed,
                errors=errors,
                **({"extra": extra} if extra else {}),
            )
        )
