"""Access: every path x every caller (the eight roles, no token, an unknown token), table-driven
from the contract; plus authority (an approval above the caller's limit) and wrong roles sent
straight to Temporal, where the workflow's update validators refuse them before they enter
history.

Allowed callers act on an escalation prepared in the stage where the action fits, so the expected
answer is exact (200/201), not merely "not 401/403".
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from core.policy import read_policy
from core.settings import CONFIG_DIR
from tests.api.conftest import auth, request_body
from tests.policy.test_policy_access import POLICY_ACCESS
from workflows.access import ROLES
from workflows.business_hours import next_open
from workflows.inputs import (
    Acknowledge,
    AddNote,
    CallbackDone,
    CallbackPromise,
    ChaseOwner,
    ConsultAnswer,
    ContributionAnswer,
    ContributionRequest,
    CustomerContact,
    Decision,
    FeedbackAnswer,
    InfoRequest,
    Proposal,
    Reason,
    ReassignCase,
    ResolveCase,
    SeverityChange,
)
from workflows.models import Actor, Person, Remedy
from workflows.views import EscalationView

pytestmark = pytest.mark.timeout(120)


def next_working_morning() -> datetime:
    """An hour after the office opens on its next working day (open in every demo calendar),
    read from the calendar as the tests load it (the demo clock may have moved it)."""
    office = read_policy(CONFIG_DIR / "policy.toml", today=date.today()).calendars["uk_office"]
    zone = ZoneInfo(office.timezone)
    tomorrow = datetime.combine(datetime.now(zone).date() + timedelta(days=1), time(), zone)
    return next_open(office, tomorrow) + timedelta(hours=1)


ANY = frozenset(ROLES)
STAFF = ANY - {"system"}
# a specialist, or the escalated-accounts manager on the threats and P1s sent straight to them
OWNERS = frozenset({"specialist", "manager"})
OWNER_ACTIONS = {"acknowledge", "info-requests", "proposals", "resolve"}
ID = "{escalation_id}"

# (method, path) -> (roles allowed by the contract, a valid body, the stage the case must be in
# for the action to fit; None: no case / any open case)
ACCESS: dict[tuple[str, str], tuple[frozenset[str], Any, str | None]] = {
    ("POST", "/escalations"): (frozenset({"system", "agent"}), request_body(), None),
    ("GET", "/escalations"): (ANY, None, None),
    ("GET", f"/escalations/{ID}"): (ANY, None, "helpline_consult"),
    ("GET", f"/escalations/{ID}/timeline"): (ANY, None, "helpline_consult"),
    ("GET", f"/escalations/{ID}/handover"): (ANY, None, "helpline_consult"),
    ("POST", f"/escalations/{ID}/consult-answer"): (
        frozenset({"helpline"}),
        {"resolves": False, "answer": "needs a specialist"},
        "helpline_consult",
    ),
    ("POST", f"/escalations/{ID}/acknowledge"): (OWNERS, {}, "specialist"),
    ("POST", f"/escalations/{ID}/notes"): (STAFF, {"text": "access check"}, "helpline_consult"),
    ("POST", f"/escalations/{ID}/info-requests"): (
        OWNERS,
        {"question": "Which card was charged?"},
        "acknowledged",  # only the owner asks: the demo specialist, once they acknowledged
    ),
    ("POST", f"/escalations/{ID}/answers"): (
        frozenset({"system", "agent", "helpline", "specialist", "supervisor", "manager"}),
        {"answers": {"charge_date": "2026-03-03"}, "checklist": ["asked_outcome"]},
        "helpline_consult",
    ),
    ("POST", f"/escalations/{ID}/customer-contact"): (
        frozenset({"system", "agent"}),
        {"message": "hello", "still_broken": False},
        "helpline_consult",
    ),
    ("POST", f"/escalations/{ID}/proposals"): (
        OWNERS,
        {"remedy": {"kind": "refund", "amount": 100, "currency": "GBP"}},
        "acknowledged",
    ),
    ("POST", f"/escalations/{ID}/approvals"): (
        frozenset({"supervisor", "manager", "executive"}),
        {"decision": "approve", "comment": "ok"},
        "executive_signoff",
    ),
    ("POST", f"/escalations/{ID}/resolve"): (
        OWNERS,
        {"outcome": "fixed"},
        "acknowledged",
    ),
    ("POST", f"/escalations/{ID}/reopen"): (
        frozenset({"system", "agent", "manager"}),
        {"reason": "it is back"},
        "resolved",
    ),
    ("POST", f"/escalations/{ID}/cancel"): (
        frozenset({"operator", "manager"}),
        {"reason": "duplicate"},
        "helpline_consult",
    ),
    ("POST", f"/escalations/{ID}/operator/cancel"): (
        frozenset({"operator", "manager"}),
        {"reason": "duplicate"},
        "helpline_consult",
    ),
    ("POST", f"/escalations/{ID}/operator/reset"): (
        frozenset({"operator"}),
        {"reason": "access check"},
        "helpline_consult",
    ),
    ("GET", f"/escalations/{ID}/operator/activities"): (
        frozenset({"operator"}),
        None,
        "helpline_consult",
    ),
    ("POST", f"/escalations/{ID}/severity"): (
        frozenset({"supervisor", "manager", "executive"}),
        {"severity": "P1", "reason": "press"},
        "helpline_consult",
    ),
    ("POST", f"/escalations/{ID}/callbacks"): (
        frozenset({"agent", "specialist"}),
        {"at": next_working_morning().isoformat(), "note": "access check"},
        "helpline_consult",
    ),
    ("POST", f"/escalations/{ID}/callbacks/{{number}}/done"): (
        frozenset({"agent", "specialist"}),
        {"note": "called"},
        "callback_promised",
    ),
    ("POST", f"/escalations/{ID}/contributions"): (
        frozenset({"specialist"}),
        {"team": "technical-specialists", "question": "access check"},
        "acknowledged",
    ),
    ("POST", f"/escalations/{ID}/contributions/{{number}}/answer"): (
        frozenset({"specialist", "supervisor"}),
        {"answer": "access check"},
        "contribution_asked",
    ),
    ("POST", f"/escalations/{ID}/reassign"): (
        frozenset({"manager"}),
        {"assignee": "p-specialist-tech", "reason": "access check"},  # never routed billing
        "specialist",
    ),
    ("POST", f"/escalations/{ID}/chase"): (
        frozenset({"supervisor", "manager"}),
        {"message": "access check"},
        "specialist",
    ),
    ("GET", "/reports/summary"): (
        frozenset({"supervisor", "manager", "executive", "operator"}),
        None,
        None,
    ),
    **{
        ("GET", f"/reports/{name}"): (
            frozenset({"supervisor", "manager", "executive", "operator"}),
            None,
            None,
        )
        for name in (
            "volume",
            "avoidable",
            "resolution",
            "sla",
            "stages",
            "approvals",
            "feedback",
            "root-causes",
        )
    },
    ("GET", "/reports/coaching"): (frozenset({"supervisor", "manager"}), None, None),
    ("GET", "/policy"): (ANY, None, None),
    ("GET", "/policy/capture"): (ANY, None, None),
    ("POST", "/codec/decode"): (frozenset({"operator"}), {"payloads": []}, None),
    ("POST", "/codec/encode"): (frozenset({"operator"}), {"payloads": []}, None),
}
PUBLIC = {("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/metrics"), ("GET", "/hours")}
# No bearer token: the signed link's token is the authority (tests/api/test_feedback.py,
# tests/console/test_customer_pages.py)
TOKEN_LINKS = {
    ("GET", "/feedback/{token}"),
    ("POST", "/feedback/{token}"),
    ("POST", "/feedback"),
    ("GET", "/status/{token}"),
    ("POST", "/status/{token}"),
    ("POST", "/status/{token}/escalate"),
}
# Needs a stuck activity: its access and its answers are in tests/api/test_operator_actions.py
OPERATOR_LEVERS = {("POST", f"/escalations/{ID}/operator/retry-activity")}
# Stages an action leaves the case in unchanged: one case serves every allowed role.
SHARED = {"GET", "notes", "customer-contact", "answers"}

CALLERS = [*ROLES, "no-token", "bad-token"]


def headers_for(caller: str) -> dict[str, str]:
    if caller == "no-token":
        return {}
    if caller == "bad-token":
        return {"Authorization": "Bearer demo-nobody"}
    return auth(caller)


async def call(stack, method: str, path: str, caller: str, body: Any, eid: str | None):
    url = path.replace(ID, eid or "E-0000000000000000").replace("{number}", "1")
    if method == "GET":
        return await stack.http.get(url, headers=headers_for(caller))
    return await stack.http.post(url, json=body, headers=headers_for(caller))


async def case_at(stack, stage: str, amount: float = 300, direct: bool = False) -> str:
    """A fresh escalation (billing refund 600 -> help-line consult), driven to `stage`; `direct`:
    a legal threat, straight to the manager, who owns it."""
    if direct:
        return await direct_case_at(stack, stage)
    if stage == "contribution_asked":  # Tess (technical) owns it and asks the billing team
        eid = await case_at(stack, "acknowledged")
        body = {"assignee": "p-specialist-tech"}
        r = await stack.http.post(
            f"/escalations/{eid}/reassign", json=body, headers=auth("manager")
        )
        assert r.status_code == 200, r.text
        tess = Actor(
            id="p-specialist-tech",
            name="Tess Technical",
            role="specialist",
            team="technical-specialists",
        )
        ask = ContributionRequest(actor=tess, team="billing-specialists", question="access")
        handle = stack.client.get_workflow_handle(f"escalation-{eid}")
        await handle.execute_update("request_contribution", ask, result_type=EscalationView)
        return eid
    if stage == "callback_promised":  # a case with callback 1 promised by the agent
        eid = await case_at(stack, "helpline_consult")
        body = {"at": next_working_morning().isoformat()}
        r = await stack.http.post(f"/escalations/{eid}/callbacks", json=body, headers=auth("agent"))
        assert r.status_code == 200, r.text
        return eid
    eid = (await stack.open())["id"]
    await stack.wait_stage(eid, "helpline_consult")
    if stage == "helpline_consult":
        return eid

    async def act(path: str, role: str, body: dict) -> dict:
        r = await stack.http.post(f"/escalations/{eid}/{path}", json=body, headers=auth(role))
        assert r.status_code == 200, (path, r.text)
        return r.json()

    await act("consult-answer", "helpline", {"resolves": False, "answer": "to a specialist"})
    await stack.wait_stage(eid, "specialist")
    if stage == "specialist":
        return eid
    await act("acknowledge", "specialist", {})
    if stage == "acknowledged":
        return eid
    if stage == "executive_signoff":
        view = await act(
            "proposals",
            "specialist",
            {
                "remedy": {
                    "kind": "refund",
                    "amount": amount,
                    "currency": "GBP",
                    "description": "both",
                }
            },
        )
        assert view["stage"] == "executive_signoff", view
        return eid
    assert stage == "resolved", stage
    await act("resolve", "specialist", {"outcome": "refunded"})
    await stack.wait_stage(eid, "resolved", "follow_up")
    return eid


async def direct_case_at(stack, stage: str) -> str:
    eid = (await stack.open(trigger="legal_threat"))["id"]
    view = await stack.wait_stage(eid, "specialist")
    while view["assignee"] is None:
        view = await stack.wait_stage(eid, "specialist")
    assert view["assignee"] == "p-manager", view
    if stage == "acknowledged":
        r = await stack.http.post(f"/escalations/{eid}/acknowledge", headers=auth("manager"))
        assert r.status_code == 200, r.text
    return eid


@pytest.fixture(scope="module")
def shared_cases() -> dict[str, str]:
    return {}


async def test_the_table_covers_every_path_of_the_api(stack):
    spec = (await stack.http.get("/openapi.json")).json()
    operations = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops}
    covered = (
        set(ACCESS) | PUBLIC | TOKEN_LINKS | set(POLICY_ACCESS) | OPERATOR_LEVERS
    )  # /policy/versions: tests/policy
    assert operations == covered, operations ^ covered


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("operation", list(ACCESS), ids=lambda op: f"{op[0]} {op[1]}")
async def test_access(stack, shared_cases, operation, caller):
    method, path = operation
    allowed, body, stage = ACCESS[operation]
    if caller in ("no-token", "bad-token"):
        r = await call(stack, method, path, caller, body, None)
        assert r.status_code == 401, r.text
        assert r.json()["error"] == "unauthorized" and r.headers["WWW-Authenticate"] == "Bearer"
        return
    if caller not in allowed:
        # a case that exists, so the 403 is about the caller and nothing else
        eid = shared_cases.get("helpline_consult")
        if eid is None and ID in path:
            eid = shared_cases["helpline_consult"] = await case_at(stack, "helpline_consult")
        r = await call(stack, method, path, caller, body, eid)
        assert r.status_code == 403, r.text
        assert r.json()["error"] == "forbidden" and caller in r.json()["detail"]
        return
    eid = None
    if stage is not None:
        action = "GET" if method == "GET" else path.rsplit("/", 1)[-1]
        if action in SHARED:
            eid = shared_cases.get(stage) or await case_at(stack, stage)
            shared_cases[stage] = eid
        else:
            direct = caller == "manager" and action in OWNER_ACTIONS
            eid = await case_at(stack, stage, direct=direct)
    r = await call(stack, method, path, caller, body, eid)
    expected = 201 if (method, path) == ("POST", "/escalations") else 200
    assert r.status_code == expected, r.text


async def test_operational_endpoints_are_public(stack):
    for _, path in sorted(PUBLIC):
        for caller in ("no-token", "bad-token", "agent"):
            r = await stack.http.get(path, headers=headers_for(caller))
            assert r.status_code == 200, (path, caller, r.text)


# --- authority and roles at the workflow itself ---------------------------------------------


def actor(role: str, limit: float | None = None) -> Actor:
    limits = {
        "agent": 50,
        "specialist": 250,
        "supervisor": 500,
        "manager": 1000,
        "executive": 10000,
    }
    return Actor(
        id=f"p-{role}",
        name=f"Demo {role}",
        role=role,
        authority_limit=limits.get(role, 0) if limit is None else limit,
    )


async def accepted_update_ids(stack, eid: str) -> set[str]:
    handle = stack.client.get_workflow_handle(f"escalation-{eid}")
    history = await handle.fetch_history()
    return {
        e.workflow_execution_update_accepted_event_attributes.accepted_request.meta.update_id
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
    }


async def refused_by_validator(stack, eid: str, update: str, arg: Any) -> tuple[str, str]:
    """Send `update` straight to Temporal; it must fail with the validator's Forbidden."""
    handle = stack.client.get_workflow_handle(f"escalation-{eid}")
    update_id = f"refused-{update}-{uuid.uuid4().hex[:8]}"
    with pytest.raises(WorkflowUpdateFailedError) as info:
        await handle.execute_update(update, arg, id=update_id, result_type=EscalationView)
    cause = info.value.cause
    assert isinstance(cause, ApplicationError), (update, cause)
    assert cause.type == "Forbidden", (update, cause.type, cause.message)
    return update_id, cause.message


async def test_approval_above_authority_is_refused_by_api_and_workflow(stack):
    eid = await case_at(stack, "executive_signoff", amount=600)
    before = (await stack.http.get(f"/escalations/{eid}", headers=auth("operator"))).json()
    assert before["pending_approval"]["required_authority"] >= 600

    r = await stack.http.post(
        f"/escalations/{eid}/approvals",
        headers=auth("supervisor"),
        json={"decision": "approve", "comment": "ok"},
    )
    assert r.status_code == 403, r.text
    assert r.json()["error"] == "forbidden"

    supervisor = Actor(
        id="p-supervisor", name="Sasha Supervisor", role="supervisor", authority_limit=500
    )
    update_id, message = await refused_by_validator(
        stack, eid, "decide", Decision(actor=supervisor, decision="approve")
    )
    assert "500" in message and "600" in message, message

    after = (await stack.http.get(f"/escalations/{eid}", headers=auth("operator"))).json()
    assert after["stage"] == "executive_signoff"
    assert after["pending_approval"] == before["pending_approval"]
    assert after["granted_remedy"] is None
    assert update_id not in await accepted_update_ids(stack, eid)
    timeline = (
        await stack.http.get(f"/escalations/{eid}/timeline", headers=auth("operator"))
    ).json()["items"]
    assert not [i for i in timeline if i["action"] in ("approval_granted", "approval_rejected")]

    # an approver whose authority covers it may (the refusal was about authority, not the stage)
    r = await stack.http.post(
        f"/escalations/{eid}/approvals",
        headers=auth("manager"),
        json={"decision": "approve", "comment": "covered"},
    )
    assert r.status_code == 200, r.text


REMEDY = Remedy(kind="refund", amount=100, currency="GBP")
# update name -> (a wrong role, the update's argument for an actor)
WRONG_ROLE: dict[str, tuple[str, Any]] = {
    "consult_answer": ("agent", lambda a: ConsultAnswer(actor=a, resolves=True, answer="x")),
    "acknowledge": ("helpline", lambda a: Acknowledge(actor=a)),
    "propose": ("agent", lambda a: Proposal(actor=a, remedy=REMEDY)),
    "decide": ("specialist", lambda a: Decision(actor=a, decision="approve")),
    "resolve": ("supervisor", lambda a: ResolveCase(actor=a, outcome="done")),
    "reopen": ("operator", lambda a: Reason(actor=a, reason="again")),
    "cancel": ("agent", lambda a: Reason(actor=a, reason="dup")),
    "add_note": ("system", lambda a: AddNote(actor=a, text="note")),
    "request_info": ("agent", lambda a: InfoRequest(actor=a, question="which card?")),
    "customer_contact": ("specialist", lambda a: CustomerContact(actor=a, message="hi")),
    "change_severity": ("agent", lambda a: SeverityChange(actor=a, severity="P1")),
    "promise_callback": (
        "helpline",
        lambda a: CallbackPromise(actor=a, at=next_working_morning(), note="x"),
    ),
    "callback_done": ("manager", lambda a: CallbackDone(actor=a, number=1)),
    "reassign": (
        "supervisor",
        lambda a: ReassignCase(
            actor=a, to=Person(id="p-specialist-2", name="Sky Specialist", role="specialist")
        ),
    ),
    "chase": ("agent", lambda a: ChaseOwner(actor=a, message="hurry")),
    "request_contribution": (
        "supervisor",
        lambda a: ContributionRequest(actor=a, team="technical-specialists", question="?"),
    ),
    "answer_contribution": ("agent", lambda a: ContributionAnswer(actor=a, number=1, answer="x")),
    "customer_feedback": ("agent", lambda a: FeedbackAnswer(actor=a, key="0.1", score=5)),
}


@pytest.fixture(scope="module")
async def signoff_case(stack) -> str:
    return await case_at(stack, "executive_signoff", amount=600)


@pytest.mark.parametrize("update", list(WRONG_ROLE))
async def test_wrong_role_straight_to_temporal_is_refused_by_the_validator(
    stack, signoff_case, update
):
    role, make = WRONG_ROLE[update]
    # a top authority limit: only the role is wrong
    update_id, message = await refused_by_validator(
        stack, signoff_case, update, make(actor(role, limit=1_000_000))
    )
    assert role in message, message
    assert update_id not in await accepted_update_ids(stack, signoff_case)
    view = (await stack.http.get(f"/escalations/{signoff_case}", headers=auth("operator"))).json()
    assert view["stage"] == "executive_signoff" and view["pending_approval"] is not None
