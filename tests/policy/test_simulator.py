"""The simulator against a recorded week: cases run by the real workflow on the time-skipping
server (human actions at chosen times), their facts written by the real dispatch into a real
report store; replayed under the same (live) policy, the simulated SLA figures equal the
recorded ones exactly. A draft with longer targets turns the recorded breaches into met clocks."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from core.policy_sim.load import side_by_side
from core.report_store import ReportStore
from core.report_store.queries import Filters, sla
from tests.conftest import run_worker, start_time_skipping
from tests.workflows.fakes import World
from tests.workflows.helpers import (
    HELPLINE,
    LONDON,
    SYSTEM,
    _working_day,
    demo_policy,
    request,
    skip_to,
    start,
    terminate_started,
    wait_for,
)
from workflows.escalation import EscalationWorkflow as W
from workflows.inputs import Acknowledge, ConsultAnswer, CustomerContact, InfoRequest, ResolveCase
from workflows.models import Actor

H = timedelta(hours=1)
M = timedelta(minutes=1)
# (opens at, the request, minutes to the consult answer (None: none), minutes from the transfer
# to the acknowledgement, hours from the opening to the resolution, (info request, reply) hours)
PLAN = [
    (
        timedelta(days=0, hours=10),
        dict(trigger="technical_fault", category="outage"),
        5,
        10,
        6,
        None,
    ),
    (timedelta(days=0, hours=11), dict(), 3, 20, 30, None),  # P3 billing, resolved late
    (timedelta(days=1, hours=9, minutes=30), dict(), 4, 15, 5, (1, 3)),  # waits on the customer
    (timedelta(days=1, hours=14), dict(trigger="legal_threat"), 2, 10, 20, None),  # P1, late
    (timedelta(days=2, hours=23), dict(trigger="legal_threat"), None, 10, 30, None),  # at night
    (
        timedelta(days=3, hours=10),
        dict(category="general", trigger="customer_request"),
        6,
        25,
        50,
        None,
    ),
    (
        timedelta(days=3, hours=12),
        dict(trigger="technical_fault", category="device"),
        5,
        5,
        2,
        None,
    ),
]


async def test_the_live_policy_replayed_gives_the_recorded_compliance(tmp_path):
    # About half the recordings of this week once stalled on the time-skipping server (an update
    # moving a deadline just as it fired); workflows.timers ended that, see tests/workflows/
    # test_timers.py. The week is recorded in about 5 s.
    env = await start_time_skipping()
    try:
        store, week = await asyncio.wait_for(_record_week(env, tmp_path / "reports.sqlite"), 60)
    finally:
        await env.shutdown()

    since, until = week.astimezone(UTC), (week + timedelta(days=7)).astimezone(UTC)
    assert store.count_cases() == len(PLAN)
    live = demo_policy(week.date(), _through_the_help_line)
    recorded = {
        (r["clock"], r["team"], r["severity"]): (r["met"], r["breached"])
        for r in sla(store, Filters(since=since, until=until))
    }
    result = side_by_side(store, live, live, since, until, horizon=until)
    simulated = {
        (r["clock"], r["team"], r["severity"]): (r["met"], r["breached"])
        for r in result["live"]["sla"]
    }
    assert simulated == recorded
    assert sum(b for _, b in recorded.values()) >= 2  # the week has breaches to get right
    assert result["live"]["unknowable"] == 0
    assert result["cannot_know"]

    def slower(p):
        _through_the_help_line(p)
        p.version = "draft-slower"
        for t in p.sla:
            t.first_response_h, t.resolution_h = t.first_response_h * 100, t.resolution_h * 100

    draft = demo_policy(week.date(), slower)
    other = side_by_side(store, live, draft, since, until, horizon=until)
    assert other["draft"]["breaches"] == 0 < other["live"]["breaches"]
    store.close()


async def _record_week(env, path) -> tuple[ReportStore, datetime]:
    """The week's cases run through the real workflow, their facts written to a store at `path`
    by the real dispatch."""
    world = World()
    store = ReportStore(f"sqlite:///{path}")

    async def write(facts) -> None:
        await asyncio.to_thread(store.write, [facts])

    acts = {a.__temporal_activity_definition.name: a for a in world.activities()}
    from activities.dispatch import make_dispatch

    acts["dispatch"] = make_dispatch(acts["deliver"], acts["sync_crm"], write)
    now = (await env.get_current_time()).astimezone(LONDON)
    monday = now.date() + timedelta(days=(7 - now.weekday()) % 7 or 7)
    while not all(_working_day(monday + timedelta(days=i)) for i in range(5)):
        monday += timedelta(days=7)
    week = datetime(monday.year, monday.month, monday.day, tzinfo=LONDON)

    # every human action of the week, in time order
    steps: list[tuple[datetime, int, str]] = []
    for i, (opens, _, consult, _, resolve_h, info) in enumerate(PLAN):
        steps.append((week + opens, i, "open"))
        if consult is not None:
            steps.append((week + opens + consult * M, i, "consult"))
        if info:
            steps.append((week + opens + info[0] * H, i, "info"))
            steps.append((week + opens + info[1] * H, i, "reply"))
        steps.append((week + opens + resolve_h * H, i, "resolve"))
    steps.sort()
    handles: dict[int, object] = {}
    async with run_worker(env.client, [W], list(acts.values())) as tq:
        try:
            for at, i, what in steps:
                await skip_to(env, at)
                _, req, _, ack_min, _, _ = PLAN[i]
                if what == "open":
                    handles[i] = h = await start(
                        env.client,
                        tq,
                        request(600, **req),
                        opened_by=SYSTEM,
                        policy_edit=_through_the_help_line,
                    )
                    await wait_for(h, lambda v: v.stage == "helpline_consult")
                    if PLAN[i][2] is None:  # nobody answers: the window runs out, then routed
                        await skip_to(env, at + 12 * H)
                        v = await wait_for(h, lambda v: v.assignee is not None)
                        await _ack(env, h, v, ack_min)
                    continue
                h = handles[i]
                if what == "consult":
                    v = await _update(
                        h,
                        W.consult_answer,
                        ConsultAnswer(actor=HELPLINE, resolves=False, answer="specialist"),
                    )
                    v = await wait_for(h, lambda v: v.assignee is not None)
                    await _ack(env, h, v, ack_min)
                elif what == "info":
                    await _update(
                        h,
                        W.request_info,
                        InfoRequest(
                            actor=_owner(await wait_for(h, lambda v: True)), question="Which card?"
                        ),
                    )
                elif what == "reply":
                    await _update(
                        h, W.customer_contact, CustomerContact(actor=SYSTEM, message="The Visa")
                    )
                else:
                    await _update(
                        h,
                        W.resolve,
                        ResolveCase(
                            actor=_owner(await wait_for(h, lambda v: True)), outcome="fixed"
                        ),
                    )
            await skip_to(env, week + timedelta(days=6))
        finally:
            await terminate_started()

    return store, week


def _through_the_help_line(p) -> None:
    """The simulator replays the help-line path: threats and P1s take it here too."""
    p.manager_direct_triggers, p.manager_direct_severities = [], []


def _owner(v) -> Actor:
    return Actor(id=v.assignee, name=v.assignee, role="specialist", authority_limit=250)


async def _update(h, update, arg):
    """An update once the case is at rest, as people act on a case here: the recorded times of
    the human actions then fall where the plan puts them."""
    deadline = asyncio.get_running_loop().time() + 30
    while True:
        raw = (await h.describe()).raw_description
        if not raw.pending_activities and not raw.HasField("pending_workflow_task"):
            break
        assert asyncio.get_running_loop().time() < deadline, "the case never came to rest"
        await asyncio.sleep(0.05)
    return await h.execute_update(update, arg)


async def _ack(env, h, v, minutes: int) -> None:
    await env.sleep(minutes * M)
    await _update(h, W.acknowledge, Acknowledge(actor=_owner(v)))
