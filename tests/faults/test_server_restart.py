"""SIGKILL the Temporal dev server (SQLite file store, WAL, as the embedded run starts it) and the
worker with escalations at several stages; restart both on the same file: every escalation is
still open at the same stage with the same clocks, and each one can be driven to the end."""

from __future__ import annotations

from pathlib import Path

from tests.faults.conftest import (
    EXECUTIVE,
    HELPLINE,
    MANAGER,
    HoldingReceiver,
    Processes,
    dump,
    duplicate_deliveries,
    free_port,
    open_escalation,
    replay_failures,
    report,
    request,
    snapshot,
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
from workflows.inputs import Acknowledge, ConsultAnswer, Decision, Proposal, Reason, ResolveCase
from workflows.models import Remedy

REFUND = Remedy(kind="refund", amount=600, currency="GBP", description="both charges")


async def test_dev_server_sigkilled_and_restarted_on_the_same_sqlite_file(
    receiver: HoldingReceiver, smtp, procs: Processes, tmp_path: Path
):
    mail, smtp_port = smtp
    db = tmp_path / "temporal.sqlite"
    port = free_port()
    server, client = await procs.dev_server(db, port)
    task_queue = unique("faults-restart-")
    env = worker_env(
        address=f"127.0.0.1:{port}",
        task_queue=task_queue,
        receiver=receiver,
        smtp_port=smtp_port,
        policy=write_policy(tmp_path),
        data_dir=tmp_path / "data",
    )
    worker = await procs.worker(env, "worker-1")

    # one escalation at each stage
    consult, acked, signoff, follow = [
        await open_escalation(client, task_queue, request(n=i), tmp_path / "policy.toml")
        for i in range(4)
    ]
    for h in (consult, acked, signoff, follow):
        await wait_stage(h, "helpline_consult")
    await update(
        follow,
        "consult_answer",
        ConsultAnswer(actor=HELPLINE, resolves=True, answer="Refund issued"),
    )
    for h in (acked, signoff):
        await update(
            h,
            "consult_answer",
            ConsultAnswer(actor=HELPLINE, resolves=False, answer="needs a specialist"),
        )
        v = await wait_stage(h, "specialist", extra=lambda v: v.assignee is not None)
        await update(h, "acknowledge", Acknowledge(actor=specialist(v.assignee)))
    v = await update(
        signoff,
        "propose",
        Proposal(actor=specialist((await state(signoff)).assignee), remedy=REFUND),
    )
    assert v.stage == "executive_signoff"
    handles = {
        "helpline_consult": consult,
        "specialist": acked,
        "executive_signoff": signoff,
        "follow_up": follow,
    }
    await wait_quiet(list(handles.values()), timeout=30)  # nothing in flight: a clean cut
    before = {}
    for stage, h in handles.items():
        v = await state(h)
        assert v.stage == stage, v.stage
        before[stage] = (snapshot(v), len((await timeline(h)).items))
    assert (await state(acked)).assignee is not None

    # the fault: the server and the worker die without a goodbye
    await procs.sigkill(server)
    await procs.sigkill(worker)
    in_flight = len(handles)

    server, client = await procs.dev_server(db, port)
    await procs.worker(env, "worker-2")
    lost = 0
    for stage, h in handles.items():
        h = client.get_workflow_handle(h.id)
        handles[stage] = h
        v = await state(h, timeout=30)
        after = (snapshot(v), len((await timeline(h)).items))
        if after != before[stage]:
            lost += 1
            print(f"{h.id} changed across the restart:\n{dump(before[stage])}\n{dump(after)}")
    open_now = (
        await client.count_workflows(f"TaskQueue = '{task_queue}' AND ExecutionStatus = 'Running'")
    ).count

    # drive each to the end of its path on the restarted stack
    h = handles["helpline_consult"]
    await update(
        h, "consult_answer", ConsultAnswer(actor=HELPLINE, resolves=True, answer="Refund issued")
    )
    h = handles["specialist"]
    await update(
        h,
        "resolve",
        ResolveCase(actor=specialist((await state(h)).assignee), outcome="Refund issued"),
    )
    h = handles["executive_signoff"]
    await update(h, "decide", Decision(actor=EXECUTIVE, decision="approve", comment="ok"))
    h = handles["follow_up"]  # the customer says it is still broken: reopened, then resolved
    await update(h, "reopen", Reason(actor=MANAGER, reason="still broken"))
    v = await wait_stage(h, "specialist", extra=lambda v: v.assignee is not None)
    # another specialist takes it over (so no message of the second round repeats the first)
    other = specialist("p-specialist-2" if v.assignee == "p-specialist" else "p-specialist")
    await update(h, "acknowledge", Acknowledge(actor=other))
    await update(h, "resolve", ResolveCase(actor=other, outcome="Fixed again"))
    await wait_quiet(list(handles.values()), timeout=30)

    expected_tier = {
        "helpline_consult": "helpline",
        "specialist": "specialist",
        "executive_signoff": "executive",
        "follow_up": "specialist",
    }
    for stage, h in handles.items():
        v = await state(h)
        if v.stage != "follow_up" or v.resolved_at_tier != expected_tier[stage]:
            lost += 1
            print(f"{h.id} ({stage}) ended at {v.stage} / {v.resolved_at_tier}")
    duplicates = duplicate_deliveries(receiver, mail)
    if duplicates:
        print(
            dump([(r.path, r.headers.get("idempotency-key"), r.json()) for r in receiver.accepted])
        )
    replay = await replay_failures(list(handles.values()), dump_dir=tmp_path)
    report(
        "server_restart",
        faults=1,
        in_flight=in_flight,
        lost=lost,
        duplicates=duplicates,
        open_after_restart=open_now,
        nondeterministic_replays=len(replay),
    )
    assert not replay, replay
    assert open_now == len(handles)
    assert lost == 0
    assert duplicates == 0
