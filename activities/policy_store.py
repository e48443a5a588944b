"""The policy store's writes for PolicyChangeWorkflow (one activity: move a version's state).

The store refuses a move its rules do not allow (core/report_store/policies.py); that refusal is
final (non-retryable): the change workflow fails visibly instead of retrying a move that can
never succeed. Repeating a move that is done answers the row, so a retry after a crash is safe.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from temporalio import activity
from temporalio.exceptions import ApplicationError

from core.report_store import ReportStore
from core.report_store.policies import PolicyStoreError
from workflows.policy_change.models import StoredVersion, VersionMove


class PolicyStoreActivities:
    def __init__(self, store: ReportStore) -> None:
        self.store = store

    @activity.defn(name="move_policy_version")
    async def move_policy_version(self, m: VersionMove) -> StoredVersion:
        def move() -> StoredVersion:
            row = self.store.policies.move(
                m.version,
                m.to,
                m.from_states,
                m.at or datetime.now(UTC),
                change_id=m.change_id,
                go_live_at=m.go_live_at,
            )
            return row.model_copy(update={"text": None})  # the text stays out of history

        try:
            return await asyncio.to_thread(move)
        except PolicyStoreError as e:
            raise ApplicationError(str(e), type="PolicyStore", non_retryable=True) from e
