"""PolicyChangeWorkflow on the time-skipping server (its test server takes updates since 1.40, so
approvals go through the same validated updates as in production), with the real store activity
on a real SQLite store: an approved change goes live at its scheduled time, a rejected one never,
reminders go to the approvers who have not decided, and the validators refuse whom the live
policy does not name."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from activities.policy_store import PolicyStoreActivities
from core.policy import LivePolicy
from core.report_store import ReportStore
from core.settings import CONFIG_DIR
from tests.conftest import run_worker
from tests.workflows.fakes import World
from tests.workflows.helpers import EXECUTIVE, MANAGER, SUPERVISOR, server_time
from workflows.policy_change.models import ChangeDecision, ChangeStart, ChangeStatus
from workflows.policy_change.models import VersionState as S
from workflows.policy_change.workflow import PolicyChangeWorkflow

NEW = "2026.12-test"

# four eyes: the proposer (MANAGER) never decides; another manager does
MANAGER_2 = MANAGER.model_copy(update={"id": "p-manager-2", "name": "Mika Manager"})


@pytest.fixture
def store(tmp_path):
    s = ReportStore(f"sqlite:///{tmp_path / 'reports.sqlite'}")
    LivePolicy(s.policies, CONFIG_DIR / "policy.toml").seed()
    text = (CONFIG_DIR / "policy.toml").read_text().replace("2026.11-demo", NEW, 1)
    s.policies.create_draft(NEW, text, MANAGER.id, "P3 resolution 24 -> 20 h", None, server_now())
    yield s
    s.close()


def server_now():
    from datetime import UTC, datetime

    return datetime.now(UTC)


async def change_worker(env, store: ReportStore, world: World):
    fakes = {a.__temporal_activity_definition.name: a for a in world.activities()}
    return run_worker(
        env.client,
        workflows=[PolicyChangeWorkflow],
        activities=[
            PolicyStoreActivities(store).move_policy_version,
            fakes["find_people"],
            fakes["deliver"],
        ],
    )


def decision(actor, what="approve", comment="Figures look right") -> ChangeDecision:
    return ChangeDecision(actor=actor, decision=what, comment=comment)


async def test_an_approved_change_goes_live_at_its_scheduled_time(fresh_ts_env, store):
    env, world = fresh_ts_env, World()
    async with await change_worker(env, store, world) as tq:
        at = (await server_time(env.client)) + timedelta(days=3)
        handle = await env.client.start_workflow(
            PolicyChangeWorkflow.run,
            ChangeStart(
                version=NEW,
                proposer=MANAGER,
                note="shorter P3",
                approvers=["manager", "executive"],
                go_live_at=at,
                reminder_every_h=24,
            ),
            id=f"policy-change-{uuid.uuid4().hex[:8]}",
            task_queue=tq,
        )
        first = await handle.execute_update(PolicyChangeWorkflow.decide_change, decision(MANAGER_2))
        assert first.state == S.IN_REVIEW and first.waiting_for == ["executive"]
        await env.sleep(timedelta(hours=25))  # the executive is reminded once
        after = await handle.execute_update(PolicyChangeWorkflow.decide_change, decision(EXECUTIVE))
        assert after.state in (S.APPROVED, S.SCHEDULED) and after.reminders_sent == 1
        assert store.policies.live().version == "2026.11-demo"  # type: ignore[union-attr]
        done: ChangeStatus = await handle.result()
    # the durable timer fires at the chosen time (the test server keeps milliseconds)
    assert done.state == S.LIVE and done.live_at is not None
    assert timedelta(0) <= done.live_at - at < timedelta(seconds=1)
    live = store.policies.live()
    assert live is not None and live.version == NEW and live.live_at == done.live_at
    assert store.policies.get("2026.11-demo").state == S.RETIRED
    reminded = [d for d in world.deliveries if d.event == "policy_change_reminder"]
    assert [d.recipient_name for d in reminded] == ["Eve Executive"]


async def test_a_rejected_change_never_goes_live(fresh_ts_env, store):
    env, world = fresh_ts_env, World()
    async with await change_worker(env, store, world) as tq:
        at = (await server_time(env.client)) + timedelta(hours=2)
        handle = await env.client.start_workflow(
            PolicyChangeWorkflow.run,
            ChangeStart(
                version=NEW, proposer=MANAGER, approvers=["manager", "executive"], go_live_at=at
            ),
            id=f"policy-change-{uuid.uuid4().hex[:8]}",
            task_queue=tq,
        )
        await handle.execute_update(PolicyChangeWorkflow.decide_change, decision(MANAGER_2))
        out = await handle.execute_update(
            PolicyChangeWorkflow.decide_change,
            decision(EXECUTIVE, "reject", "Breaches would double for gold customers"),
        )
        assert out.state == S.REJECTED
        done = await handle.result()
        await env.sleep(timedelta(days=2))  # well past the time it would have gone live
    assert done.state == S.REJECTED and done.live_at is None
    assert [d.comment for d in done.decisions][-1] == "Breaches would double for gold customers"
    assert store.policies.get(NEW).state == S.REJECTED
    assert store.policies.live().version == "2026.11-demo"  # type: ignore[union-attr]


async def test_only_the_named_approvers_decide_once_each(fresh_ts_env, store):
    env, world = fresh_ts_env, World()
    async with await change_worker(env, store, world) as tq:
        handle = await env.client.start_workflow(
            PolicyChangeWorkflow.run,
            ChangeStart(version=NEW, proposer=MANAGER, approvers=["manager", "executive"]),
            id=f"policy-change-{uuid.uuid4().hex[:8]}",
            task_queue=tq,
        )
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(PolicyChangeWorkflow.decide_change, decision(SUPERVISOR))
        assert isinstance(refused.value.cause, ApplicationError)
        assert refused.value.cause.type == "Forbidden"
        assert "manager, executive" in str(refused.value.cause)
        await handle.execute_update(PolicyChangeWorkflow.decide_change, decision(MANAGER_2))
        with pytest.raises(WorkflowUpdateFailedError) as twice:
            await handle.execute_update(PolicyChangeWorkflow.decide_change, decision(MANAGER_2))
        assert twice.value.cause.type == "Conflict"  # type: ignore[union-attr]
        await handle.execute_update(PolicyChangeWorkflow.decide_change, decision(EXECUTIVE))
        done = await handle.result()  # no go-live time: live at once
    assert done.state == S.LIVE
    assert store.policies.live().version == NEW  # type: ignore[union-attr]
