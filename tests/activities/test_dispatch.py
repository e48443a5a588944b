"""`dispatch`: each item tried once, concurrently, by the single-item senders; the workflow is
told what went out, what is refused for good and what to retry on its own."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.dispatch import make_dispatch
from workflows.messages import (
    CrmEvent,
    Delivery,
    DeliveryReceipt,
    Dispatch,
    DispatchProgress,
    OutboxItem,
)


def msg(*channels: str, key: str = "k") -> OutboxItem:
    return OutboxItem(
        deliveries=[
            Delivery(
                escalation_id="E-1",
                event="opened",
                channel=ch,
                address=f"{ch}-address",
                recipient_name="Ada",
                subject="s",
                body="b",
                idempotency_key=f"{key}:{ch}",
            )
            for ch in channels
        ]
    )


CRM = CrmEvent(
    escalation_id="E-1",
    external_ref=None,
    event="stage_changed",
    stage="specialist",
    at=datetime(2026, 11, 24, tzinfo=UTC),
    idempotency_key="k:crm",
)


async def test_outcomes_per_item():
    sent: list[str] = []
    crm_seen: list[CrmEvent] = []

    async def deliver(d: Delivery) -> DeliveryReceipt:
        if d.address == "sms-address":
            raise ApplicationError("no gateway", type="ChannelUnavailable", non_retryable=True)
        if d.address == "phone-address":
            raise ApplicationError("gateway said 503")  # transient
        if d.address == "social-address":
            raise ApplicationError("refused", type="Rejected", non_retryable=True)
        await asyncio.sleep(0.01)
        sent.append(d.idempotency_key)
        return DeliveryReceipt(channel=d.channel, idempotency_key=d.idempotency_key)

    async def sync_crm(e: CrmEvent) -> None:
        crm_seen.append(e)

    dispatch = make_dispatch(deliver, sync_crm)
    batch = Dispatch(
        items=[
            msg("email"),  # sent
            msg("sms", "chat", key="f"),  # sms unusable, falls back to chat
            msg(
                "sms", "phone", "email", key="t"
            ),  # transient on phone: the workflow retries from it
            msg("sms", "social"),  # refused for good everywhere
            OutboxItem(crm=CRM),
        ]
    )
    res = (await ActivityEnvironment().run(dispatch, batch)).results
    assert [r.status for r in res] == ["done", "done", "retry", "failed", "done"]
    assert res[1].channel == "chat" and res[1].failed_channels == ["sms"]
    assert res[2].retry_from == 1 and res[2].failed_channels == ["sms"]
    assert res[3].failed_channels == ["sms", "social"]
    # the workflow's keys are used as given (so a later single-item retry carries the same one)
    assert sorted(sent) == ["f:chat", "k:email"]
    assert [e.idempotency_key for e in crm_seen] == ["k:crm"]


async def test_crm_failures_are_told_apart():
    async def deliver(d: Delivery) -> DeliveryReceipt:
        raise AssertionError("no messages here")

    async def rejected(e: CrmEvent) -> None:
        raise ApplicationError("400", type="Rejected", non_retryable=True)

    async def down(e: CrmEvent) -> None:
        raise ConnectionError("refused")

    for sync, status in ((rejected, "failed"), (down, "retry")):
        res = await ActivityEnvironment().run(
            make_dispatch(deliver, sync), Dispatch(items=[OutboxItem(crm=CRM)])
        )
        assert res.results[0].status == status


async def test_finished_items_are_recorded_in_heartbeats_while_others_are_pending():
    release = asyncio.Event()

    async def deliver(d: Delivery) -> DeliveryReceipt:
        if d.idempotency_key == "slow:email":
            await release.wait()
        return DeliveryReceipt(channel=d.channel, idempotency_key=d.idempotency_key or "")

    async def sync_crm(e: CrmEvent) -> None:
        return None

    env = ActivityEnvironment()
    beats: list = []
    env.on_heartbeat = lambda *details: beats.append(details[0])
    batch = Dispatch(
        items=[
            msg("sms", key="b"),
            msg("email", key="slow"),
            OutboxItem(crm=CRM),
            msg("email", key="a"),
        ]
    )
    run = asyncio.create_task(env.run(make_dispatch(deliver, sync_crm), batch))
    while not beats:
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)
    # the e-mail of item 3 went out while item 1 is still going: recorded, with the sms and the
    # CRM event finished before it; a crash now re-sends only item 1
    [beat] = beats  # webhooks and the CRM (deduplicated by their receivers) do not heartbeat
    last = DispatchProgress.model_validate(beat)
    assert sorted(i for i, _ in last.finished) == [0, 2, 3]
    assert all(r.status == "done" for _, r in last.finished)
    release.set()
    await run
    assert len(beats) == 1  # no heartbeat for the last item: the completion follows


async def test_facts_still_committing_hold_no_heartbeat():
    """An e-mail that goes out while the batch's report facts are still being committed is as
    good as the last item: the facts write is idempotent and commits at once, so no heartbeat
    (each is a write on the server)."""
    from tests.report_store.data import E1

    committing = asyncio.Event()
    commit = asyncio.Event()

    async def deliver(d: Delivery) -> DeliveryReceipt:
        await committing.wait()
        return DeliveryReceipt(channel=d.channel, idempotency_key=d.idempotency_key or "")

    async def write_facts(_facts) -> None:
        committing.set()
        await commit.wait()

    async def sync_crm(e: CrmEvent) -> None:
        return None

    env = ActivityEnvironment()
    beats: list = []
    env.on_heartbeat = lambda *details: beats.append(details[0])
    run = asyncio.create_task(
        env.run(
            make_dispatch(deliver, sync_crm, write_facts),
            Dispatch(items=[OutboxItem(facts=E1), msg("email", key="a")]),
        )
    )
    await asyncio.sleep(0.1)  # the e-mail went out; the facts are still committing
    assert not run.done() and beats == []
    commit.set()
    res = await run
    assert [r.status for r in res.results] == ["done", "done"] and beats == []
