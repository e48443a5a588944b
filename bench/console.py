"""Section *console*: the console's inboxes and case page at `n` open escalations, beside
`GET /escalations` in the same run, over HTTP against the stack's API process.

Server time is the API's own `Server-Timing: app;dur=...` (from the request's arrival to its
response's start, set by api/main.py), so the client's share of the two cores does not count.
"""

from __future__ import annotations

import asyncio
import re
import time
from datetime import UTC, datetime, timedelta

import httpx

from bench.scenarios import (
    BenchError,
    Ctx,
    Results,
    auth,
    open_escalation,
    pct,
    post,
    quiet,
    running_escalations,
    wait_view,
)
from core.settings import Settings
from core.status_links import StatusLinks

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
TARGET_MS = 100.0
DUR = re.compile(r"app;dur=([0-9.]+)")
TEMPORAL = re.compile(r"temporal;dur=([0-9.]+)")
LIST = "GET /escalations?status=open (20 a page)"
DAY = timedelta(days=1)


async def to_signoff(ctx: Ctx, eid: str) -> None:
    """Consult answered, acknowledged, 600 proposed: the case waits for an executive."""
    await wait_view(ctx.api, eid, lambda v: v["stage"] == "helpline_consult", what="consult")
    answer = {"resolves": False, "answer": "Needs a specialist"}
    await post(ctx.api, f"/escalations/{eid}/consult-answer", "helpline", answer)
    await post(ctx.api, f"/escalations/{eid}/acknowledge", "specialist", {})
    remedy = {"kind": "refund", "amount": 600.0, "currency": "GBP", "description": "refund"}
    view = await post(ctx.api, f"/escalations/{eid}/proposals", "specialist", {"remedy": remedy})
    if view["stage"] != "executive_signoff":
        raise BenchError(f"{eid}: proposal left stage {view['stage']}")


async def signed_in(base: str, role: str) -> httpx.AsyncClient:
    http = httpx.AsyncClient(base_url=base, timeout=30)
    form = (await http.get("/console/sign-in")).text
    match = re.search(r'name="csrf" value="([^"]+)"', form)
    if not match:
        raise BenchError("no CSRF token on the console's sign-in form")
    body = f"token=demo-{role}&csrf={match.group(1)}"
    r = await http.post("/console/sign-in", content=body, headers=FORM)
    if r.status_code != 303:
        raise BenchError(f"console sign-in as {role}: {r.status_code}")
    return http


async def server_times(
    http: httpx.AsyncClient, url: str, n: int, **kw
) -> list[tuple[float, float]]:
    """Seconds of server time of `n` sequential GETs, each with the part spent waiting on
    Temporal (summed over the request's calls)."""
    out = []
    for _ in range(n):
        r = await http.get(url, **kw)
        if r.status_code != 200:
            raise BenchError(f"GET {url}: {r.status_code} {r.text[:200]}")
        timing = r.headers.get("server-timing", "")
        found, temporal = DUR.search(timing), TEMPORAL.search(timing)
        if not found:
            raise BenchError(f"GET {url}: no Server-Timing header (an API before the console's)")
        out.append(
            (float(found.group(1)) / 1000, float(temporal.group(1)) / 1000 if temporal else 0)
        )
    return out


async def section_console(
    ctx: Ctx, res: Results, n: int, signoff: int, requests: int, concurrency: int = 20
) -> None:
    """Open cases up to `n` running (the scale section's count), take `signoff` new ones to
    sign-off, wait for a quiet stack, then time each page `requests` times, in rounds."""
    running = await running_escalations(ctx)
    sem = asyncio.Semaphore(concurrency)
    errors = 0

    async def open_one(i: int) -> str | None:
        nonlocal errors
        async with sem:
            try:
                view = await open_escalation(ctx.api, 600.0, n=700000 + i, key=f"console-{i}")
                return view["id"]
            except BenchError:
                errors += 1
                return None

    t0 = time.monotonic()
    ids = [e for e in await asyncio.gather(*(open_one(i) for i in range(signoff))) if e]
    await asyncio.gather(*(to_signoff(ctx, e) for e in ids))
    missing = max(0, n - running - len(ids))
    await asyncio.gather(*(open_one(signoff + i) for i in range(missing)))
    opening_s = time.monotonic() - t0
    # the workers run every new case's first tasks well after the API accepted it: measure the
    # pages on a stack at rest, not beside that backlog
    settle = await quiet(ctx, max_wait=900.0)
    running = await running_escalations(ctx)

    base = ctx.stack.api_url
    operator = httpx.AsyncClient(base_url=base, timeout=30)
    customer = httpx.AsyncClient(base_url=base, timeout=30, headers={"accept": "text/html"})
    executive = await signed_in(base, "executive")
    manager = await signed_in(base, "manager")
    agent = await signed_in(base, "agent")
    # the customer's link of a case waiting on sign-off, signed as the stack's workers sign it
    status = StatusLinks.from_settings(Settings()).token(ids[0], datetime.now(UTC) + DAY)
    typed = "category=billing&customer_id=C-1001&remedy_kind=refund&remedy_amount=40"
    pages = {
        LIST: (operator, "/escalations?status=open&page_size=20", auth("operator")),
        "executive's inbox (approvals, live part)": (executive, "/console/work/live", None),
        "manager's board and approvals (live part)": (manager, "/console/work/live", None),
        "case page in sign-off (whole page)": (executive, f"/console/cases/{ids[0]}", None),
        "case page (live part)": (executive, f"/console/cases/{ids[0]}/live", None),
        "intake form (whole page)": (agent, "/console/escalate", None),
        "intake form's help as the agent types (tier 1, budget, knowledge base)": (
            agent,
            f"/console/escalate/help?{typed}&summary=charged+twice+for+march",
            None,
        ),
        "customer's status page": (customer, f"/status/{status}", None),
        "public hours page": (customer, "/hours", None),
    }
    times: dict[str, list[tuple[float, float]]] = {k: [] for k in pages}
    rounds = 5  # interleaved, so a busy moment of the host falls on every page alike
    try:
        for _ in range(rounds):
            for name, (http, url, headers) in pages.items():
                times[name] += await server_times(http, url, requests // rounds, headers=headers)
    finally:
        for http in (operator, customer, executive, manager, agent):
            await http.aclose()
    extra = {
        "running": running,
        "in_signoff_opened_here": len(ids),
        "opening_s": round(opening_s, 1),
        "open_errors": errors,
        **settle,
    }
    base_p95 = pct([app for app, _ in times[LIST]], 95)
    for name, pairs in times.items():
        values = [app for app, _ in pairs]
        is_list = name == LIST
        res.add(
            "console",
            f"{name}, server time p95 at {running} open",
            pct(values, 95),
            "s",
            baseline=None if is_list else base_p95,
            baseline_label="GET /escalations",
            target=None if is_list else TARGET_MS / 1000,
            extra={
                **extra,
                "p50_s": pct(values, 50),
                # what the API waited on Temporal (visibility, queries), summed over its calls
                "temporal_p50_s": pct([tem for _, tem in pairs], 50),
                "samples": len(values),
            },
        )
