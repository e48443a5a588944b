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
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from workflows.escalation import calls
    from workflows.escalation.facts import FactLog
    from workflows.messages import CaseFacts, CrmEvent, Dispatch, OutboxItem, OutboxResult
    from workflows.models import EscalationState

Spawn = Callable[[Awaitable[None]], None]
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
        except ActivityError as e:  # crashed or timed out: each item goes on alone
            results = [OutboxResult(status="retry", detail=str(e.cause or e))] * len(waiting)
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
        try:
            await calls.sync_crm(event)
        except ActivityError as e:
            self._record("crm_sync_failed", f"{event.stage}: {e.cause or e}")
