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
from workflows.policy_change.models import (
    SimulationDone,
    SimulationStart,
    StoredVersion,
    VersionMove,
)


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


class SimulationActivities:
    """Run a policy simulation (core/policy_sim) in a thread, heartbeating its progress."""

    def __init__(self, store: ReportStore) -> None:
        self.store = store

    @activity.defn(name="simulate_policy")
    async def simulate_policy(self, s: SimulationStart) -> SimulationDone:
        from core.policy import parse_policy
        from core.policy_sim.load import side_by_side

        loop = asyncio.get_running_loop()

        def progress(n: int) -> None:
            self.store.simulations.progress(s.id, n)
            loop.call_soon_threadsafe(activity.heartbeat, n)

        def run() -> dict:
            draft = parse_policy(self.store.policies.get(s.version).text or "")
            live = parse_policy(self.store.policies.get(s.against).text or "")
            return side_by_side(
                self.store, live, draft, s.since, s.until, datetime.now(UTC), progress
            )

        try:
            report = await asyncio.to_thread(run)
        except PolicyStoreError as e:
            await asyncio.to_thread(self.store.simulations.finish, s.id, None, datetime.now(UTC))
            raise ApplicationError(str(e), type="PolicyStore", non_retryable=True) from e
        await asyncio.to_thread(self.store.simulations.finish, s.id, report, datetime.now(UTC))
        return SimulationDone(id=s.id, state="done", cases=report["live"]["cases"])
