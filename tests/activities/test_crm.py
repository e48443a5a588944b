"""`sync_crm` through a real worker against the signed-webhook receiver."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.crm import CrmActivities
from tests.activities.conftest import make_settings
from tests.activities.workflows_for_tests import SyncCrmOnce
from tests.conftest import run_worker
from workflows.messages import CrmEvent

EVENT = CrmEvent(
    escalation_id="E-9",
    external_ref="CRM-778812",
    event="transferred",
    stage="specialist",
    at=datetime(2026, 11, 18, 12, 0, tzinfo=UTC),
    severity="P3",
    assignee="p-specialist-2",
    detail="routed to billing-specialists",
)


async def run_sync(client, crm: CrmActivities):
    async with run_worker(client, [SyncCrmOnce], [crm.sync_crm]) as tq:
        handle = await client.start_workflow(
            SyncCrmOnce.run, EVENT, id=f"crm-{uuid.uuid4()}", task_queue=tq
        )
        try:
            return handle, await handle.result()
        except WorkflowFailureError as e:
            return handle, e


async def test_event_is_posted_signed_once_despite_a_503(dev_env, webhooks, tmp_path):
    webhooks.fail_first = 1
    crm = CrmActivities(make_settings(tmp_path, crm_webhook_url=webhooks.url("/crm")))
    handle, result = await run_sync(dev_env.client, crm)
    assert result is None
    assert [r.status for r in webhooks.requests] == [503, 200]
    assert all(r.signature_ok for r in webhooks.requests)
    [accepted] = webhooks.accepted
    assert accepted.json() == EVENT.model_dump(mode="json", exclude={"idempotency_key"})
    assert accepted.headers["idempotency-key"] == f"{handle.result_run_id}:1"
    assert webhooks.keys == {f"{handle.result_run_id}:1": 2}
    assert accepted.headers["x-escalation-id"] == "E-9"
    assert accepted.headers["x-escalation-event"] == "transferred"


async def test_no_crm_configured_is_a_no_op(webhooks, tmp_path):
    crm = CrmActivities(make_settings(tmp_path))
    assert await ActivityEnvironment().run(crm.sync_crm, EVENT) is None
    assert webhooks.requests == []


async def test_crm_outage_is_retryable(dev_env, webhooks, tmp_path):
    webhooks.status = 502
    crm = CrmActivities(make_settings(tmp_path, crm_webhook_url=webhooks.url("/crm")))
    _, err = await run_sync(dev_env.client, crm)
    assert isinstance(err, WorkflowFailureError)
    assert isinstance(err.cause, ActivityError)
    app = err.cause.cause
    assert isinstance(app, ApplicationError)
    assert app.type == "WebhookUnavailable" and not app.non_retryable
    assert len(webhooks.requests) == 5  # the test policy's maximum_attempts
