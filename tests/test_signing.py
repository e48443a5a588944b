"""Nobody acts as someone else: the workers refuse updates and starts the API did not sign.

A real dev server, the real worker (`worker.main.build_worker`, with its verifying interceptor)
and the real API app (whose client signs). What an attacker with namespace access can send is
sent with a plain client: refused before anything enters history.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowFailureError, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from core.policy import read_policy
from core.settings import CONFIG_DIR, Settings
from core.signing import ActionSigner, signer_from_settings
from core.temporal import data_converter
from tests.api.conftest import auth, request_body
from workflows.inputs import Decision, StartEscalation
from workflows.models import Actor
from workflows.opening import new_case

EXECUTIVE = Actor(id="p-exec", name="Mallory", role="executive", authority_limit=1e12)


@pytest.fixture
async def stack(dev_env) -> AsyncIterator[tuple[httpx.AsyncClient, Client, str]]:
    from api.main import create_app
    from worker.main import build_worker

    task_queue = f"signing-{uuid.uuid4().hex[:8]}"
    settings = Settings(_env_file=None, demo=True, task_queue=task_queue, log_level="WARNING")
    plain = Client(
        dev_env.client.service_client,
        namespace=dev_env.client.namespace,
        data_converter=data_converter(settings),
    )
    app = create_app(settings, client=plain)
    async with (
        build_worker(plain, settings),
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as http,
    ):
        yield http, plain, task_queue


async def to_signoff(http: httpx.AsyncClient) -> str:
    r = await http.post("/escalations", json=request_body(), headers=auth("agent"))
    assert r.status_code == 201, r.text
    eid = r.json()["id"]
    r = await http.post(
        f"/escalations/{eid}/consult-answer",
        json={"resolves": False, "answer": "needs a specialist"},
        headers=auth("helpline"),
    )
    assert r.status_code == 200, r.text
    # the demo specialist takes the case over within their team if routing chose a colleague
    for path, body in (
        ("acknowledge", {}),
        ("proposals", {"remedy": {"kind": "refund", "amount": 600}}),
    ):
        r = await http.post(f"/escalations/{eid}/{path}", json=body, headers=auth("specialist"))
        assert r.status_code == 200, r.text
    assert r.json()["stage"] == "executive_signoff"
    return eid


async def updates_in_history(client: Client, eid: str) -> int:
    history = await client.get_workflow_handle(f"escalation-{eid}").fetch_history()
    return sum(
        e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
        for e in history.events
    )


async def test_a_forged_approval_is_refused_before_it_enters_history(stack):
    http, plain, _ = stack
    eid = await to_signoff(http)
    before = await updates_in_history(plain, eid)
    handle = plain.get_workflow_handle(f"escalation-{eid}")
    forged = Decision(actor=EXECUTIVE, decision="approve", comment="trust me")
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update("decide", forged)
    assert isinstance(refused.value.cause, ApplicationError)
    assert refused.value.cause.type == "Forbidden"
    # a signature made with another key is no better
    other = ActionSigner({"k": b"x" * 32}, "k")
    update_id = "forged-1"
    forged.signature = other.sign(*other.update_parts(handle.id, "decide", update_id, forged))
    with pytest.raises(WorkflowUpdateFailedError):
        await handle.execute_update("decide", forged, id=update_id)
    assert await updates_in_history(plain, eid) == before
    r = await http.get(f"/escalations/{eid}", headers=auth("manager"))
    assert r.json()["stage"] == "executive_signoff" and r.json()["pending_approval"]


async def test_a_signed_approval_cannot_be_replayed_on_another_case_or_altered(stack):
    http, plain, _ = stack
    first, second = await to_signoff(http), await to_signoff(http)
    signer = signer_from_settings(Settings(_env_file=None, demo=True))  # as the API signs
    approval = Decision(actor=EXECUTIVE, decision="reject", comment="no")
    approval.signature = signer.sign(
        *signer.update_parts(f"escalation-{first}", "decide", "u-1", approval)
    )
    other = plain.get_workflow_handle(f"escalation-{second}")
    with pytest.raises(WorkflowUpdateFailedError):  # the signature names the first case
        await other.execute_update("decide", approval, id="u-1")
    altered = approval.model_copy(update={"decision": "approve"})
    with pytest.raises(WorkflowUpdateFailedError):  # the signature covers the decision
        await plain.get_workflow_handle(f"escalation-{first}").execute_update(
            "decide", altered, id="u-1"
        )
    for eid in (first, second):
        assert (await http.get(f"/escalations/{eid}", headers=auth("manager"))).json()[
            "stage"
        ] == "executive_signoff"


async def test_a_start_the_api_did_not_sign_fails_at_once(stack):
    _, plain, task_queue = stack
    now = datetime.now(UTC)
    policy = read_policy(CONFIG_DIR / "policy.toml", today=now.date())
    eid = f"E-{uuid.uuid4().hex[:12].upper()}"
    from workflows.models import EscalationRequest

    case = new_case(
        policy,
        policy.model_dump(mode="json"),
        eid,
        EscalationRequest.model_validate(request_body()),
        EXECUTIVE,
        now,
    )
    handle = await plain.start_workflow(
        "EscalationWorkflow", case.start, id=f"escalation-{eid}", task_queue=task_queue
    )
    with pytest.raises(WorkflowFailureError) as failed:
        await handle.result()
    assert "not signed by the API" in str(failed.value.cause)
    # a forged "resumed" state is no way round it: only a continue-as-new may carry one
    eid2 = f"E-{uuid.uuid4().hex[:12].upper()}"
    resumed = StartEscalation.model_validate(
        case.start.model_dump() | {"id": eid2, "resume": case.state.model_dump()}
    )
    handle = await plain.start_workflow(
        "EscalationWorkflow", resumed, id=f"escalation-{eid2}", task_queue=task_queue
    )
    with pytest.raises(WorkflowFailureError) as failed:
        await handle.result()
    assert "continue an earlier run" in str(failed.value.cause)


async def test_outside_the_demo_a_payload_in_the_clear_is_refused_and_the_case_lives_on(dev_env):
    """`temporal workflow update execute --input '{...}'` sends JSON in the clear. Outside the
    demo the workers' codec reads it as a refusal that fits no model: the update is rejected
    (raising in the codec instead would fail the workflow task again and again), the case still
    answers and takes signed actions."""
    import base64
    import os

    from temporalio.contrib.pydantic import pydantic_data_converter

    from api.gateway import start_case
    from worker.main import build_worker
    from workflows.inputs import AddNote
    from workflows.models import EscalationRequest

    task_queue = f"clear-{uuid.uuid4().hex[:8]}"
    settings = Settings(
        _env_file=None,
        demo=False,
        task_queue=task_queue,
        log_level="ERROR",
        payload_keys={"k1": base64.b64encode(os.urandom(32)).decode()},
        action_keys={"a1": base64.b64encode(os.urandom(32)).decode()},
    )
    service = Client(
        dev_env.client.service_client,
        namespace=dev_env.client.namespace,
        data_converter=data_converter(settings),
    )
    from core.signing import signing_client

    api = signing_client(service, signer_from_settings(settings))
    plain = Client(
        dev_env.client.service_client,
        namespace=dev_env.client.namespace,
        data_converter=pydantic_data_converter,
    )
    now = datetime.now(UTC)
    policy = read_policy(CONFIG_DIR / "policy.toml", today=now.date())
    eid = f"E-{uuid.uuid4().hex[:12].upper()}"
    agent = Actor(id="p-agent", name="Alex Agent", role="agent", authority_limit=50)
    case = new_case(
        policy,
        policy.model_dump(mode="json"),
        eid,
        EscalationRequest.model_validate(request_body()),
        agent,
        now,
    )
    helpline = Actor(id="p-helpline", name="Harper Helpline", role="helpline")
    async with build_worker(service, settings):
        handle, created = await start_case(api, task_queue, case)
        assert created
        with pytest.raises(WorkflowUpdateFailedError):
            await plain.get_workflow_handle(handle.id).execute_update(
                "add_note", AddNote(actor=helpline, text="typed in the clear")
            )
        view = await api.get_workflow_handle(handle.id).query("state")
        assert view["stage"] == "helpline_consult"
        await api.get_workflow_handle(handle.id).execute_update(
            "add_note", AddNote(actor=helpline, text="through the API's client")
        )
        notes = [
            e
            for e in (await api.get_workflow_handle(handle.id).query("timeline"))["items"]
            if e["action"] == "note_added"
        ]
        assert [n["detail"] for n in notes] == ["through the API's client"]
        history = await plain.get_workflow_handle(handle.id).fetch_history()
        failed = [
            e for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
        ]
        assert not failed
