"""A customer's past escalations (activity ``customer_history``), from the report store: what a
case asks for its tier-1 goodwill budget and its handover packet (issue 22)."""

from __future__ import annotations

import asyncio

from temporalio import activity

from core.report_store import ReportStore
from core.report_store.customers import customer_history
from workflows.messages import CustomerHistory, CustomerHistoryQuery


class HistoryActivities:
    def __init__(self, store: ReportStore) -> None:
        self._store = store

    @activity.defn(name="customer_history")
    async def customer_history(self, q: CustomerHistoryQuery) -> CustomerHistory:
        return await asyncio.to_thread(customer_history, self._store, q)
