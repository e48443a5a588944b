"""The outbox: the side effects of one workflow task (messages, the CRM's stage event) go out
together in one `dispatch` activity, once the stage has settled (its entry work done), or at
once when it already has. Which effects go together, and in which order, follows from the
workflow's own steps, never from the order in which background coroutines wake (which a replay
need not reproduce).

Every message and CRM event carries an idempotency key, `<run id>:o<n>`, the same however it is
sent (in the batch or alone) and on every retry, so a receiver drops a repeat.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from temporalio import workflow
from temporalio.exceptions import ActivityError, TimeoutError

with workflow.unsafe.imports_passed_through():
    from workflows.escalation import calls
    from workflows.escalation.facts import FactLog
    from workflows.messages import (
        CaseFacts,
        CrmEvent,
        Dispatch,
        DispatchProgress,
        OutboxItem,
        OutboxResult,
    )
    from workflows.models import EscalationState

Spawn = Callable[[Awaitable[None]], object]
Record = Callable[[str, str], None]


class Outbox:
    def __init__(
        self,
        spawn: Spawn,
        record: Record,
        settled: Callable[[], bool],
        case: Callable[[], EscalationState],
    ) -> None:
        self._spawn = spawn
        self._case = case
        self.facts = FactLog(case())
        # Whether this run sends facts to the report store: decided once per run, so a case
        # that started before the store replays its history unchanged (no extra dispatch).
        self._facts_on: bool | None = None
        self._record = record  # (action, detail) on the timeline, as the process
        self._settled = settled
        self._queue: list[tuple[OutboxItem, asyncio.Future[OutboxResult], str]] = []
        self._seq = 0
        self._crm_stage: str | None = None  # the stage the CRM was last told
        # coroutines retrying one item for a long time (a failing CRM, a relay that is down):
        # on continue-as-new they are cancelled and their item carried to the next run
        self.retrying: set[asyncio.Task] = set()
        self.carried: list[OutboxItem] = []
        self.handing_over = False

    def key(self) -> str:
        """An idempotency key for one message or CRM event of this run (deterministic)."""
        self._seq += 1
        return f"{workflow.info().run_id}:o{self._seq}"

    def send(self, item: OutboxItem, label: str) -> asyncio.Future[OutboxResult]:
        """Queue one side effect; the future gets its OutboxResult."""
        done: asyncio.Future[OutboxResult] = asyncio.get_running_loop().create_future()
        self._queue.append((item, done, label))
        if self._settled():
            self.flush()
        return done

    def flush(self) -> None:
        self._queue_facts()
        if not self._queue:
            return
        batch, self._queue = self._queue, []
        handle = calls.start_dispatch(
            Dispatch(items=[item for item, _, _ in batch]),
            ", ".join(label for _, _, label in batch),
        )
        self._spawn(self._dispatched(handle, [done for _, done, _ in batch]))

    async def _dispatched(self, handle: Awaitable, waiting: list[asyncio.Future]) -> None:
        try:
            results = (await handle).results
        except ActivityError as e:  # crashed or timed out: each unfinished item goes on alone
            results = [OutboxResult(status="retry", detail=str(e.cause or e))] * len(waiting)
            finished = _finished_before(e)
            if finished and workflow.patched("dispatch-progress"):
                results = [finished.get(i, r) for i, r in enumerate(results)]
        for done, r in zip(waiting, results, strict=True):
            done.set_result(r)

    def _queue_facts(self) -> None:
        if self._facts_on is None:
            self._facts_on = workflow.patched("report-facts")
        if not self._facts_on:
            return
        facts = self.facts.pending(self._case(), workflow.now())
        if facts is None:
            return
        done: asyncio.Future[OutboxResult] = asyncio.get_running_loop().create_future()
        self._queue.append((OutboxItem(facts=facts), done, "report facts"))
        self._spawn(self._facts_written(facts, done))

    async def _facts_written(self, facts: CaseFacts, done: asyncio.Future[OutboxResult]) -> None:
        if (await done).status == "done":
            self.facts.acked(facts)
        else:
            self.facts.failed()

    def sync_stage(self, s: EscalationState) -> None:
        """Tell the CRM the stage the case rests in (once per stage, with the assignee)."""
        if s.stage == self._crm_stage:
            return
        self._crm_stage = s.stage
        event = CrmEvent(
            escalation_id=s.id,
            external_ref=s.request.external_ref,
            event="stage_changed",
            stage=s.stage,
            at=workflow.now(),
            severity=s.severity,
            assignee=s.assignee,
            idempotency_key=self.key(),
            detail=f"resolved at {s.resolved_at_tier}: {s.outcome}" if s.resolved_at_tier else "",
        )
        self._spawn(
            self._crm_synced_or_retry(event, self.send(OutboxItem(crm=event), f"CRM {s.stage}"))
        )

    async def _crm_synced_or_retry(
        self, event: CrmEvent, queued: asyncio.Future[OutboxResult]
    ) -> None:
        """A failing CRM is retried and recorded; it never blocks the case."""
        sent = await queued
        if sent.status == "failed":
            self._record("crm_sync_failed", f"{event.stage}: {sent.detail}")
        if sent.status != "retry":
            return
        async with self.retry(OutboxItem(crm=event)):
            try:
                await calls.sync_crm(event)
            except ActivityError as e:
                self._record("crm_sync_failed", f"{event.stage}: {e.cause or e}")

    def retry(self, item: OutboxItem) -> _Retrying:
        """Around a long retry of `item`: cancelled at a continue-as-new, it is carried over."""
        return _Retrying(self, item)

    def resume(self, carried: OutboxItem, deliver: Callable[[OutboxItem], None]) -> None:
        """An item the previous run was still retrying: sent again (same idempotency keys)."""
        if carried.crm is not None:
            crm = carried.crm
            self._spawn(self._crm_synced_or_retry(crm, self.send(carried, f"CRM {crm.stage}")))
        elif carried.deliveries:
            deliver(carried)


class _Retrying:
    def __init__(self, outbox: Outbox, item: OutboxItem) -> None:
        self.outbox, self.item = outbox, item
        self.task: asyncio.Task | None = None

    async def __aenter__(self) -> None:
        self.task = asyncio.current_task()
        if self.task is not None:
            self.outbox.retrying.add(self.task)

    async def __aexit__(self, kind: type[BaseException] | None, *_: object) -> bool:
        if self.task is not None:
            self.outbox.retrying.discard(self.task)
        if kind is asyncio.CancelledError and self.outbox.handing_over:
            self.outbox.carried.append(self.item)
        return False


def _finished_before(e: ActivityError) -> dict[int, OutboxResult]:
    """The items a timed-out dispatch recorded as finished in its heartbeats (index -> result)."""
    cause = e.cause
    if not isinstance(cause, TimeoutError) or not cause.last_heartbeat_details:
        return {}
    progress = DispatchProgress.model_validate(cause.last_heartbeat_details[0])
    return dict(progress.finished)
