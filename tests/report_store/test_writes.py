"""Writes are idempotent: the same facts twice, an older snapshot after a newer one, a visit's
end before its start, and the dispatch activity retried, all leave the store as one write would."""

from __future__ import annotations

import asyncio
import threading

from sqlalchemy import select
from temporalio.testing import ActivityEnvironment

from activities.dispatch import Dispatcher
from core.report_store.schema import cases, events, stage_visits
from core.report_store.writer import GroupWriter
from tests.report_store.data import ALL, E2, E4, at
from workflows.messages import Dispatch, OutboxItem, StageVisit


def dump(store) -> dict[str, list]:
    with store.engine.connect() as conn:
        return {
            t.name: [tuple(r) for r in conn.execute(select(t).order_by(*t.primary_key.columns))]
            for t in (cases, events, stage_visits)
        }


def test_the_same_facts_twice_change_nothing(store):
    store.write(ALL)
    once = dump(store)
    store.write(ALL)
    store.write(list(reversed(ALL)))
    assert dump(store) == once
    assert len(once["cases"]) == 5 and len(once["events"]) == 3 and len(once["stage_visits"]) == 13


def test_an_older_snapshot_does_not_overwrite_a_newer_one(store):
    newer = E4
    older = E4.model_copy(deep=True)
    older.case.as_of = at(12, 10)
    older.case.stage = "specialist"
    older.case.resolved_tier = None
    store.write([newer])
    store.write([older])
    with store.engine.connect() as conn:
        row = conn.execute(select(cases.c.stage, cases.c.resolved_tier)).one()
    assert tuple(row) == ("resolved", "specialist")


def test_a_visit_keeps_its_end_whatever_the_order(store):
    ended = E2.model_copy(deep=True)
    still_open = E2.model_copy(deep=True)
    still_open.stages = [StageVisit(stage=v.stage, entered_at=v.entered_at) for v in E2.stages]
    store.write([ended])
    store.write([still_open])  # a retried earlier batch arrives late
    with store.engine.connect() as conn:
        ends = conn.execute(
            select(stage_visits.c.stage, stage_visits.c.seconds).order_by(stage_visits.c.entered_at)
        ).all()
    assert [tuple(r) for r in ends] == [
        ("helpline_consult", 1800.0),
        ("specialist", 7200.0),
        ("executive_signoff", 3600.0),
        ("resolved", None),
    ]


async def test_a_retried_dispatch_writes_the_facts_once(store):
    async def deliver(_):
        raise AssertionError("no messages in this batch")

    async def write(facts):
        await asyncio.to_thread(store.write, [facts])

    dispatcher = Dispatcher(deliver, deliver, write)
    batch = Dispatch(items=[OutboxItem(facts=f) for f in ALL])
    env = ActivityEnvironment()
    first = await env.run(dispatcher.dispatch, batch)
    once = dump(store)
    second = await env.run(dispatcher.dispatch, batch)  # the same activity, retried
    assert [r.status for r in first.results] == ["done"] * 5 == [r.status for r in second.results]
    assert dump(store) == once


async def test_a_failing_store_answers_retry_and_sends_the_rest(store):
    sent = []

    async def deliver(d):
        sent.append(d)
        from workflows.messages import DeliveryReceipt

        return DeliveryReceipt(channel=d.channel, idempotency_key=d.idempotency_key or "k")

    async def broken(_):
        raise OSError("database is locked")

    from workflows.messages import Delivery

    message = Delivery(
        escalation_id="E2",
        event="opened",
        channel="email",
        address="a@example.com",
        recipient_name="A",
        subject="s",
        body="b",
        idempotency_key="k1",
    )
    dispatcher = Dispatcher(deliver, deliver, broken)
    out = await ActivityEnvironment().run(
        dispatcher.dispatch,
        Dispatch(items=[OutboxItem(facts=E2), OutboxItem(deliveries=[message])]),
    )
    assert [r.status for r in out.results] == ["retry", "done"]
    assert len(sent) == 1


def test_two_snapshots_of_one_case_in_one_batch_keep_the_newer(store):
    """A group commit may carry two flushes of one case; whichever comes first, the newer wins."""
    newer = E4
    older = E4.model_copy(deep=True)
    older.case.as_of = at(12, 10)
    older.case.stage = "specialist"
    older.case.resolved_tier = None
    for batch in ([older, newer], [newer, older]):
        store.write(batch)
        with store.engine.connect() as conn:
            row = conn.execute(select(cases.c.stage, cases.c.resolved_tier)).one()
        assert tuple(row) == ("resolved", "specialist")


async def test_group_commit_writes_waiting_facts_together_and_answers_each(store):
    """Facts that arrive while a transaction runs go in the next one; each caller returns only
    once its own facts are committed."""
    transactions: list[int] = []
    write = store.write
    gate = threading.Event()

    def counting(batch):
        transactions.append(len(batch))
        gate.wait(10)
        write(batch)

    store.write = counting
    writer = GroupWriter(store)
    first = asyncio.ensure_future(writer.write(ALL[0]))
    while not transactions:  # the first transaction is running
        await asyncio.sleep(0.01)
    rest = [asyncio.ensure_future(writer.write(f)) for f in ALL[1:]]
    await asyncio.sleep(0.1)
    assert not first.done() and not any(r.done() for r in rest)  # nothing answered before commit
    gate.set()
    await asyncio.gather(first, *rest)
    assert transactions == [1, 4]  # the first alone, the four that waited for it together
    store.write = write
    grouped = dump(store)
    assert [len(grouped[t]) for t in ("cases", "events", "stage_visits")] == [5, 3, 13]
    store.write(ALL)  # as if written one by one: nothing to add
    assert dump(store) == grouped


async def test_group_commit_keeps_one_bad_case_from_failing_the_others(store):
    bad = E2.model_copy(deep=True)
    bad.case.escalation_id = "x" * 100  # longer than the column: PostgreSQL refuses it
    write = store.write

    def strict(batch):
        if any(len(f.case.escalation_id) > 64 for f in batch):
            raise ValueError("value too long")
        write(batch)

    store.write = strict
    writer = GroupWriter(store)
    results = await asyncio.gather(
        *(writer.write(f) for f in [E2, bad, E4]), return_exceptions=True
    )
    assert results[0] is None and isinstance(results[1], ValueError) and results[2] is None
    store.write = write
    assert {r[0] for r in dump(store)["cases"]} == {"E2", "E4"}
