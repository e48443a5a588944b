"""Racing and late actions: 20 concurrent approvals of one pending proposal apply exactly once
(through the API and through Temporal directly); actions on closed or cancelled escalations are
409 and change nothing."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from core.settings import Settings
from tests.faults.conftest import (
    EXECUTIVE,
    HELPLINE,
    MANAGER,
    SECRET,
    HoldingReceiver,
    accepted_events,
    duplicate_deliveries,
    open_escalation,
    replay_failures,
    report,
    request,
    service_client,
    specialist,
    timeline,
    unique,
    update,
    wait_quiet,
    wait_stage,
)
from workflows.inputs import Acknowledge, ConsultAnswer, Decision, Proposal
from workflows.models import Remedy

RACERS = 20
BODY = {
    "customer": {
        "id": "C-2001",
        "name": "Grace Hopper",
        "tier": "standard",
        "contact": {
            "email": "grace@example.com",
            "phone": "+44 7700 900456",
            "preferred_channel": "sms",
        },
    },
    "channel": "phone",
    "category": "billing",
    "answers": {"invoice_number": "INV-2026-0311", "amount_disputed": "600.00"},
    "summary": "Charged twice",
    "details": "Two identical charges",
    "trigger": "legal_threat",
    "requested_remedy": {
        "kind": "refund",
        "amount": 600.0,
        "currency": "GBP",
        "description": "Refund",
    },
}
REFUND = {"kind": "refund", "amount": 600.0, "currency": "GBP", "description": "both charges"}


def auth(role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer demo-{role}"}


@dataclass
class Api:
    http: httpx.AsyncClient
    client: Client
    receiver: HoldingReceiver
    mail: object
    task_queue: str
    dump_dir: Path

    async def get(self, eid: str, what: str = "") -> dict:
        r = await self.http.get(f"/escalations/{eid}{what}", headers=auth("operator"))
        assert r.status_code == 200, r.text
        return r.json()

    async def wait(
        self, eid: str, *stages: str, assignee: bool = False, timeout: float = 30
    ) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            v = await self.get(eid)
            if v["stage"] in stages and (not assignee or v["assignee"]):
                return v
            assert time.monotonic() < deadline, f"{eid}: {v['stage']}, wanted {stages}"
            await asyncio.sleep(0.1)

    async def post(
        self,
        eid: str,
        action: str,
        role: str,
        body: dict | None = None,
        headers: dict | None = None,
    ) -> httpx.Response:
        return await self.http.post(
            f"/escalations/{eid}/{action}", json=body, headers={**auth(role), **(headers or {})}
        )

    async def to_signoff(self) -> str:
        """Open a case (P1 legal threat, refund 600) and bring it to executive_signoff."""
        r = await self.http.post("/escalations", json=BODY, headers=auth("agent"))
        assert r.status_code == 201, r.text
        eid = r.json()["id"]
        await self.wait(eid, "helpline_consult")
        r = await self.post(
            eid, "consult-answer", "helpline", {"resolves": False, "answer": "needs a specialist"}
        )
        assert r.status_code == 200, r.text
        await self.wait(eid, "specialist", assignee=True)
        r = await self.post(eid, "acknowledge", "specialist", {})
        assert r.status_code == 200, r.text
        r = await self.post(eid, "proposals", "specialist", {"remedy": REFUND})
        assert r.status_code == 200 and r.json()["stage"] == "executive_signoff", r.text
        return eid


@pytest.fixture
async def api(dev_env, receiver: HoldingReceiver, smtp, tmp_path: Path) -> AsyncIterator[Api]:
    from api.main import create_app
    from tests.faults.conftest import write_policy
    from worker.main import build_worker

    mail, smtp_port = smtp
    client = service_client(dev_env.client)
    task_queue = unique("faults-race-")
    settings = Settings(
        _env_file=None,
        demo=True,
        task_queue=task_queue,
        # check-ins after 3.6 s: a resolved case closes within the test
        policy_path=write_policy(tmp_path, follow_up_h=[0.001]),
        data_dir=tmp_path / "data",
        webhook_secret=SecretStr(SECRET),
        webhook_sms_url=receiver.url("/sms"),
        webhook_chat_url=receiver.url("/chat"),
        webhook_staff_url=receiver.url("/staff"),
        crm_webhook_url=receiver.url("/crm"),
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        http_timeout_s=10,
        worker_graceful_shutdown_s=1,
        log_level="WARNING",
    )
    async with build_worker(client, settings):
        app = create_app(settings, client=client)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://api", timeout=45
            ) as http,
        ):
            yield Api(http, client, receiver, mail, task_queue, tmp_path)


async def test_concurrent_approvals_apply_once_and_closed_cases_refuse_actions(api: Api):
    # --- 20 approvals at once through the API, by managers and executives ------------------
    eid = await api.to_signoff()
    racers = [
        api.post(
            eid,
            "approvals",
            "manager" if i % 2 else "executive",
            {"decision": "approve", "comment": f"racer {i}"},
        )
        for i in range(RACERS)
    ]
    answers = await asyncio.gather(*racers)
    statuses = Counter(r.status_code for r in answers)
    assert statuses == {200: 1, 409: RACERS - 1}, [(r.status_code, r.text) for r in answers]
    for r in answers:
        if r.status_code == 409:
            assert set(r.json()) == {"error", "detail"}, r.text
    items = (await api.get(eid, "/timeline"))["items"]
    actions = Counter(e["action"] for e in items)
    assert actions["approval_granted"] == 1 and actions["resolved"] == 1

    # --- 20 approvals at once by the same executive with one Idempotency-Key: one decision,
    # every retry answered with it ----------------------------------------------------------
    eid_same = await api.to_signoff()
    same = await asyncio.gather(
        *(
            api.post(
                eid_same,
                "approvals",
                "executive",
                {"decision": "approve", "comment": "once"},
                headers={"Idempotency-Key": "approve-once"},
            )
            for _ in range(RACERS)
        )
    )
    assert Counter(r.status_code for r in same) == {200: RACERS}, [r.text for r in same]
    items = (await api.get(eid_same, "/timeline"))["items"]
    assert Counter(e["action"] for e in items)["approval_granted"] == 1

    # --- 20 decide updates at once through Temporal ------------------------------------------
    h = await open_escalation(
        api.client, api.task_queue, request(n=7), api.dump_dir / "policy.toml"
    )  # (write_policy's file)
    await wait_stage(h, "helpline_consult")
    await update(h, "consult_answer", ConsultAnswer(actor=HELPLINE, resolves=False, answer="x"))
    v = await wait_stage(h, "specialist", extra=lambda v: v.assignee is not None)
    await update(h, "acknowledge", Acknowledge(actor=specialist(v.assignee)))
    await update(h, "propose", Proposal(actor=specialist(v.assignee), remedy=Remedy(**REFUND)))
    results = await asyncio.gather(
        *(
            update(h, "decide", Decision(actor=MANAGER if i % 2 else EXECUTIVE, decision="approve"))
            for i in range(RACERS)
        ),
        return_exceptions=True,
    )
    ok = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, WorkflowUpdateFailedError)]
    assert len(ok) == 1 and len(refused) == RACERS - 1, results
    assert all(
        isinstance(r.cause, ApplicationError) and r.cause.type == "Conflict" for r in refused
    ), [r.cause for r in refused]
    assert Counter(e.action for e in (await timeline(h)).items)["approval_granted"] == 1

    # --- actions on a closed case (follow-up done after 3.6 s) and a cancelled one ----------
    closed = await api.wait(eid, "closed", timeout=30)
    r = await api.http.post(
        "/escalations", json={**BODY, "summary": "to cancel"}, headers=auth("agent")
    )
    eid_cancel = r.json()["id"]
    await api.wait(eid_cancel, "helpline_consult")
    r = await api.post(eid_cancel, "cancel", "operator", {"reason": "duplicate case"})
    assert r.status_code == 200 and r.json()["stage"] == "cancelled", r.text
    late = [
        ("approvals", "executive", {"decision": "approve", "comment": "late"}),
        ("approvals", "manager", {"decision": "reject", "comment": "late"}),
        ("acknowledge", "specialist", {}),
        ("notes", "specialist", {"text": "late note"}),
        ("consult-answer", "helpline", {"resolves": True, "answer": "late"}),
        ("info-requests", "specialist", {"question": "late?"}),
        ("customer-contact", "agent", {"message": "late", "still_broken": True}),
        ("proposals", "specialist", {"remedy": REFUND}),
        ("resolve", "specialist", {"outcome": "late"}),
        ("reopen", "manager", {"reason": "late"}),
        ("cancel", "operator", {"reason": "late"}),
    ]
    refused_late = 0
    for case, expected_stage in ((eid, "closed"), (eid_cancel, "cancelled")):
        view = await api.get(case)
        assert view["stage"] == expected_stage
        before = (await api.get(case, "/timeline"))["items"]
        answers = await asyncio.gather(*(api.post(case, a, role, body) for a, role, body in late))
        bad = [
            (a, r.status_code, r.text)
            for (a, _, _), r in zip(late, answers, strict=True)
            if r.status_code != 409 or set(r.json()) != {"error", "detail"}
        ]
        assert not bad, bad
        refused_late += len(answers)
        assert (await api.get(case, "/timeline"))["items"] == before
        assert await api.get(case) == view

    # --- deliveries: each escalation's messages once ----------------------------------------
    handles = [
        api.client.get_workflow_handle(f"escalation-{e}") for e in (eid, eid_same, eid_cancel)
    ] + [h]
    await wait_quiet(handles, timeout=30)
    duplicates = duplicate_deliveries(api.receiver, api.mail)
    for e in (eid, eid_same, h.id.removeprefix("escalation-")):
        events = accepted_events(api.receiver, e)
        assert events[("resolved", "/sms")] == 1, events
    replay = await replay_failures(handles, dump_dir=api.dump_dir)
    lost = sum(1 for s in (closed["stage"],) if s != "closed")
    report(
        "concurrency",
        faults=3 * (RACERS - 1) + refused_late,
        in_flight=3,
        lost=lost,
        duplicates=duplicates,
        racing_approvals=3 * RACERS,
        approvals_applied=3,
        late_actions_refused=refused_late,
        nondeterministic_replays=len(replay),
    )
    assert duplicates == 0
    assert not replay, replay
