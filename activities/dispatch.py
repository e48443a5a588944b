"""The outbox (activity ``dispatch``): every message and CRM event one workflow task produces,
sent by one activity instead of one activity each.

Each item is tried once, concurrently with the others, by the same code as the single-item
activities (``deliver``, ``sync_crm``): a message goes down its channels in order past the ones
that cannot take it (``ChannelUnavailable``, ``Rejected``), exactly as the workflow's fallback
does. An item that meets a transient failure is answered ``retry`` and the workflow sends it
again on its own with the single-item activity and its retry policy; so one slow gateway never
holds up, or re-sends, the others. Idempotency keys come with the items (set by the workflow), so
a message sent here and then again by the single-item activity (after a worker crash, say)
carries the same key both times and the receiver drops the duplicate.

Progress: while other items of the batch are still going, each e-mail accepted by the relay is
recorded, with every item finished so far, in the activity's heartbeat details
(:class:`DispatchProgress`). If the worker dies mid-batch, the
activity times out and the workflow reads those details from the timeout failure: it takes the
recorded results as they are and sends only the other items again. Heartbeats are throttled by
the worker (``ESCALATIONS_WORKER_HEARTBEAT_THROTTLE_S``), so what an item accepted in the last
moment before a kill may still be sent twice; never the whole batch.

Why: each activity costs three history events, a workflow task to take its result, and a billed
action on Temporal Cloud, and one workflow task often has several things to send (bench/README.md).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from workflows.messages import (
    CaseFacts,
    CrmEvent,
    Delivery,
    DeliveryReceipt,
    Dispatch,
    DispatchProgress,
    DispatchResult,
    OutboxItem,
    OutboxResult,
)

Deliver = Callable[[Delivery], Awaitable[DeliveryReceipt]]
SyncCrm = Callable[[CrmEvent], Awaitable[Any]]
WriteFacts = Callable[[CaseFacts], Awaitable[None]]


def _why(e: BaseException) -> str:
    return f"{type(e).__name__}: {e}"[:500]


class Dispatcher:
    """The ``dispatch`` activity over the given single-item senders (the real ones in the worker,
    fakes in workflow tests)."""

    def __init__(
        self, deliver: Deliver, sync_crm: SyncCrm, write_facts: WriteFacts | None = None
    ) -> None:
        self._deliver = deliver
        self._sync_crm = sync_crm
        self._write_facts = write_facts

    async def _one(self, item: OutboxItem) -> OutboxResult:
        if item.facts is not None:
            if self._write_facts is None:  # no report store on this worker
                return OutboxResult(status="done", detail="no report store")
            try:
                await self._write_facts(item.facts)
                return OutboxResult(status="done")
            except Exception as e:  # noqa: BLE001 - the workflow sends them again next time
                activity.logger.warning("report facts not written: %s", _why(e))
                return OutboxResult(status="retry", detail=_why(e))
        if item.crm is not None:
            try:
                await self._sync_crm(item.crm)
                return OutboxResult(status="done")
            except ApplicationError as e:
                return OutboxResult(status="failed" if e.non_retryable else "retry", detail=_why(e))
            except Exception as e:  # noqa: BLE001 - anything else is worth another try
                return OutboxResult(status="retry", detail=_why(e))
        failed: list[str] = []
        for i, d in enumerate(item.deliveries):
            try:
                receipt = await self._deliver(d)
                return OutboxResult(
                    status="done",
                    channel=receipt.channel,
                    failed_channels=failed,
                    detail=receipt.detail,
                )
            except ApplicationError as e:
                if e.non_retryable:
                    failed.append(d.channel)
                    continue
                return OutboxResult(
                    status="retry", failed_channels=failed, retry_from=i, detail=_why(e)
                )
            except Exception as e:  # noqa: BLE001
                return OutboxResult(
                    status="retry", failed_channels=failed, retry_from=i, detail=_why(e)
                )
        return OutboxResult(status="failed", failed_channels=failed)

    @activity.defn(name="dispatch")
    async def dispatch(self, batch: Dispatch) -> DispatchResult:
        progress = DispatchProgress()
        # Items a retry could send twice; the facts are not among them (their write is
        # idempotent, and commits within milliseconds), so an e-mail that finishes before them
        # needs no heartbeat (one was a write on the server for nothing).
        pending = sum(item.facts is None for item in batch.items)

        async def one(index: int, item: OutboxItem) -> OutboxResult:
            nonlocal pending
            result = await self._one(item)
            if item.facts is None:
                pending -= 1
            progress.finished.append((index, result))
            # Only an e-mail needs it: webhook and CRM receivers drop a repeat by its key, SMTP
            # cannot. Each heartbeat is a write on the server, so none for the other items,
            # none for the last item (the completion follows at once), none for one-item
            # batches. The details hold every item finished so far, e-mail or not.
            if pending and result.status == "done" and result.channel == "email":
                activity.heartbeat(progress.model_copy(deep=True))
            return result

        results = await asyncio.gather(*(one(i, item) for i, item in enumerate(batch.items)))
        return DispatchResult(results=list(results))


def make_dispatch(
    deliver: Deliver, sync_crm: SyncCrm, write_facts: WriteFacts | None = None
) -> Callable:
    """The bound ``dispatch`` activity (what a worker registers)."""
    return Dispatcher(deliver, sync_crm, write_facts).dispatch
