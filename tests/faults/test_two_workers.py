"""Two worker processes share a task queue; one is SIGKILLed with a batch of escalations in
flight; the survivor finishes every one of them."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.faults.conftest import (
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
    state,
    unique,
    update,
    wait_quiet,
    wait_stage,
    worker_env,
    write_policy,
)
from workflows.inputs import ConsultAnswer

N = 20


async def test_one_of_two_workers_sigkilled_the_other_finishes_the_batch(
    dev_env, receiver: HoldingReceiver, smtp, procs: Processes, tmp_path: Path
):
    mail, smtp_port = smtp
    client = service_client(dev_env.client)
    task_queue = unique("faults-two-")
    env = worker_env(
        address=dev_env_address(dev_env),
        task_queue=task_queue,
        receiver=receiver,
        smtp_port=smtp_port,
        policy=write_policy(tmp_path),
        data_dir=tmp_path / "data",
    )
    doomed, survivor = await asyncio.gather(
        procs.worker(env, "worker-a"), procs.worker(env, "worker-b")
    )

    # half granted at tier 1 at once (refund 30), half P1 legal threats for the help line (600)
    tier1 = [i % 2 == 0 for i in range(N)]
    handles = await asyncio.gather(
        *(
            open_escalation(
                client,
                task_queue,
                request(
                    trigger="customer_request" if t else "legal_threat",
                    amount=30 if t else 600,
                    n=i,
                ),
                tmp_path / "policy.toml",
            )
            for i, t in enumerate(tier1)
        )
    )

    # kill one worker in the middle of the burst: some messages out, most still to go
    deadline = asyncio.get_running_loop().time() + 30
    while len(receiver.requests) < N // 2:
        assert doomed.alive and survivor.alive
        assert asyncio.get_running_loop().time() < deadline, f"{len(receiver.requests)} requests"
        await asyncio.sleep(0.02)
    seen_at_kill = len(receiver.requests)
    await procs.sigkill(doomed)
    in_flight = N  # every escalation of the batch was open (none had reached a final stage)

    # the survivor alone: answer the consults, wait until every case has settled
    async def consult(h):
        await wait_stage(h, "helpline_consult", timeout=45)
        await update(
            h,
            "consult_answer",
            ConsultAnswer(actor=HELPLINE, resolves=True, answer="Refund issued"),
        )

    await asyncio.gather(*(consult(h) for h, t in zip(handles, tier1, strict=True) if not t))
    await wait_quiet(list(handles), timeout=75)
    assert survivor.alive, survivor.tail()

    lost = 0
    for h, t in zip(handles, tier1, strict=True):
        v = await state(h)
        if v.stage != "follow_up" or v.resolved_at_tier != ("tier1" if t else "helpline"):
            lost += 1
            print(f"{h.id}: {v.stage} / {v.resolved_at_tier}")
    duplicates = duplicate_deliveries(receiver, mail)
    replay = await replay_failures(list(handles), dump_dir=tmp_path)
    report(
        "two_workers_one_killed",
        faults=1,
        in_flight=in_flight,
        lost=lost,
        duplicates=duplicates,
        escalations=N,
        gateway_requests_before_kill=seen_at_kill,
        nondeterministic_replays=len(replay),
    )
    assert not replay, replay
    assert lost == 0
    assert duplicates == 0
    for h, t in zip(handles, tier1, strict=True):  # every message of each path arrived, once
        expected = (
            {("tier1_granted", "/sms"): 1}
            if t
            else {
                ("opened", "/sms"): 1,
                ("consult_requested", "/staff"): 1,
                ("consult_answered", "/staff"): 1,  # the answer relayed to the agent
                ("helpline_resolved", "/sms"): 1,  # the customer: the policy's words
            }
        )
        assert accepted_events(receiver, h.id.removeprefix("escalation-")) == expected, h.id
