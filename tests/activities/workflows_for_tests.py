"""Tiny workflows that call one activity by name with the retry policy under test."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from workflows.messages import CrmEvent, Delivery, DeliveryReceipt

RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=100), maximum_attempts=5)


@workflow.defn
class DeliverOnce:
    @workflow.run
    async def run(self, d: Delivery) -> DeliveryReceipt:
        return await workflow.execute_activity(
            "deliver",
            d,
            result_type=DeliveryReceipt,
            start_to_close_timeout=timedelta(seconds=10),
            retry_policy=RETRY,
        )


@workflow.defn
class SyncCrmOnce:
    @workflow.run
    async def run(self, e: CrmEvent) -> None:
        await workflow.execute_activity(
            "sync_crm",
            e,
            start_to_close_timeout=timedelta(seconds=10),
            retry_policy=RETRY,
        )
