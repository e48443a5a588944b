"""SIGKILL the worker process (1) while notifications are in flight at a gateway and (2) while
escalations wait for sign-off; a new worker process carries every escalation on, and no
message is delivered twice."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import select

from core.report_store import ReportStore
from core.report_store.schema import cases, events
from tests.faults.conftest import (
    EXECUTIVE,
    HELPLINE,
    HoldingReceiver,
    Processes,
    accepted_events,
    dev_env_address,
    duplicate_deliveries,
    open_escalation,
    replay_failures,
    report,
    request,
    service_client,
    specialist,
    state,
    timeline,
    unique,
    update,
    wait_quiet,
    wait_stage,
    worker_env,
    write_policy,
)
from workflows.inputs import Acknowledge, ConsultAnswer, Decision, Proposal
from workflows.models import Remedy

N = 5


async def test_worker_sigkilled_during_notification_delivers_each_message_once(
    dev_env, receiver: HoldingReceiver, smtp, procs: Processes, tmp_path: Path
):
    mail, smtp_port = smtp
    client = service_client(dev_env.client)
    task_queue = unique("faults-kill-")
    env = worker_env(
        address=dev_env_address(dev_env),
        task_queue=task_queue,
        receiver=receiver,
        smtp_port=smtp_port,
        policy=write_policy(tmp_path),
        data_dir=tmp_path / "data",
    )
    first = await procs.worker(env, "worker-1")

    receiver.holding = True  # the gateway takes each first request and sits on it
    handles = [
        await open_escalation(client, task_queue, request(n=i), tmp_path / "policy.toml")
        for i in range(N)
    ]
    ids = {h.id.removeprefix("escalation-") for h in handles}

    async def every_escalation_has_a_message_held() -> bool:
        held = {h.escalation_id for h in receiver.held if h.path != "/crm"}
        return ids <= held

    deadline = asyncio.get_running_loop().time() + 30
    while not await every_escalation_has_a_message_held():
        assert first.alive, first.tail()
        assert asyncio.get_running_loop().time() < deadline, (
            f"only {len(receiver.held)} requests reached the gateway:\n{first.tail()}"
        )
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.3)  # let the rest of the first burst arrive too

    in_flight = N
    await procs.sigkill(first)  # mid-request: the gateway has them, the worker never hears back
    held = list(receiver.held)
    receiver.release()  # the gateway now accepts what it held (answers go to a dead socket)
    await procs.worker(env, "worker-2")

    # every escalation carries on: the help line answers, the case resolves
    for h in handles:
        await wait_stage(h, "helpline_consult", timeout=30)
        await update(
            h,
            "consult_answer",
            ConsultAnswer(actor=HELPLINE, resolves=True, answer="Refund issued"),
        )
    # the killed attempts time out (start-to-close 30 s) and are retried on worker-2
    await wait_quiet(handles, timeout=75)

    lost = 0
    for h in handles:
        v = await state(h)
        if v.stage != "follow_up" or v.resolved_at_tier != "helpline":
            lost += 1
    duplicates = duplicate_deliveries(receiver, mail)
    retried = [h for h in held if receiver.retries_of(h.key)]
    replay = await replay_failures(handles, dump_dir=tmp_path)
    report(
        "worker_kill_during_delivery",
        faults=1,
        in_flight=in_flight,
        lost=lost,
        duplicates=duplicates,
        held_requests=len(held),
        retried_keys=len(retried),
        nondeterministic_replays=len(replay),
    )
    assert not replay, replay

    assert lost == 0
    assert duplicates == 0
    for eid in ids:  # every message arrived, once
        assert accepted_events(receiver, eid) == {
            ("opened", "/sms"): 1,
            ("consult_requested", "/staff"): 1,
            ("consult_answered", "/staff"): 1,  # the answer relayed to the agent
            ("helpline_resolved", "/sms"): 1,  # the customer: the policy's words
        }, eid
    for h in handles:
        actions = [e.action for e in (await timeline(h)).items]
        assert "notification_failed" not in actions
    # the held requests were retried by the new worker with the same key, answered "duplicate"
    assert {h.escalation_id for h in retried if h.path != "/crm"} == ids
    for h in held:
        assert all(status == 200 for status in receiver.retries_of(h.key)), h
    assert all(r.signature_ok for r in receiver.requests)
    await facts_written_once(handles, tmp_path / "data" / "reports.sqlite")


async def facts_written_once(handles, db: Path) -> None:
    """The report store holds each case's timeline once, entry for entry, and the case as it
    rests, though the killed worker wrote some of the facts before the new one wrote them again."""
    store = ReportStore(f"sqlite:///{db}", run_migrations=False)
    try:
        for h in handles:
            eid = h.id.removeprefix("escalation-")
            view, held = await state(h), [e.action for e in (await timeline(h)).items]
            with store.engine.connect() as conn:
                written = conn.execute(
                    select(events.c.seq, events.c.action)
                    .where(events.c.escalation_id == eid)
                    .order_by(events.c.seq)
                ).all()
                case = conn.execute(
                    select(cases.c.stage, cases.c.resolved_tier).where(cases.c.escalation_id == eid)
                ).one()
            assert [tuple(r) for r in written] == list(enumerate(held)), eid
            assert tuple(case) == (view.stage, view.resolved_at_tier), eid
    finally:
        store.close()


async def test_worker_sigkilled_during_signoff_wait_then_approval_completes(
    dev_env, receiver: HoldingReceiver, smtp, procs: Processes, tmp_path: Path
):
    mail, smtp_port = smtp
    client = service_client(dev_env.client)
    task_queue = unique("faults-signoff-")
    env = worker_env(
        address=dev_env_address(dev_env),
        task_queue=task_queue,
        receiver=receiver,
        smtp_port=smtp_port,
        policy=write_policy(tmp_path),
        data_dir=tmp_path / "data",
    )
    first = await procs.worker(env, "worker-1")

    handles = [
        await open_escalation(client, task_queue, request(n=i), tmp_path / "policy.toml")
        for i in range(3)
    ]
    for h in handles:
        await wait_stage(h, "helpline_consult")
        await update(
            h,
            "consult_answer",
            ConsultAnswer(actor=HELPLINE, resolves=False, answer="needs a specialist"),
        )
        v = await wait_stage(h, "specialist", extra=lambda v: v.assignee is not None)
        await update(h, "acknowledge", Acknowledge(actor=specialist(v.assignee)))
        v = await update(
            h,
            "propose",
            Proposal(
                actor=specialist(v.assignee),
                remedy=Remedy(
                    kind="refund", amount=600, currency="GBP", description="both charges"
                ),
            ),
        )
        assert v.stage == "executive_signoff"
    await wait_quiet(handles, timeout=20)
    before = {h.id: await state(h) for h in handles}

    await procs.sigkill(first)
    await procs.worker(env, "worker-2")

    lost = 0
    for h in handles:
        v = await state(h)
        assert v.stage == "executive_signoff"
        assert v.pending_approval == before[h.id].pending_approval
        v = await update(h, "decide", Decision(actor=EXECUTIVE, decision="approve", comment="ok"))
        if v.stage not in ("resolved", "follow_up"):
            lost += 1
    await wait_quiet(handles, timeout=30)
    for h in handles:
        v = await state(h)
        actions = [e.action for e in (await timeline(h)).items]
        if (
            v.stage != "follow_up"
            or v.resolved_at_tier != "executive"
            or actions.count("approval_granted") != 1
        ):
            lost += 1
    duplicates = duplicate_deliveries(receiver, mail)
    replay = await replay_failures(handles, dump_dir=tmp_path)
    report(
        "worker_kill_during_signoff",
        faults=1,
        in_flight=len(handles),
        lost=lost,
        duplicates=duplicates,
        nondeterministic_replays=len(replay),
    )
    assert not replay, replay
    assert lost == 0
    assert duplicates == 0
    for h in handles:
        events = accepted_events(receiver, h.id.removeprefix("escalation-"))
        assert events[("resolved", "/sms")] == 1
        assert events[("approval_needed", "/staff")] >= 1  # the managers with authority 600
