"""The contract's full path against the embedded stack, started as `make run` starts it:
dev server (SQLite file), worker, API and the demo mail relay / webhook gateway, each its own
process. Then a restart on the same data folder: the case is still there and goes on."""

from __future__ import annotations

import asyncio
import json
import mailbox
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from core.binaries import find_binary
from tests.worker.test_embedded import free_port, start_stack, wait_ready

BODY = {
    "customer": {
        "id": "C-1001",
        "name": "Ada Lovelace",
        "tier": "standard",
        "contact": {
            "email": "ada@example.com",
            "phone": "+44 20 7946 0000",
            "preferred_channel": "email",
        },
    },
    "channel": "phone",
    "category": "billing",
    "answers": {"invoice_number": "INV-2026-0311", "amount_disputed": "600.00"},
    "summary": "Charged twice for March",
    "details": "Two identical charges on 3 March",
    "trigger": "customer_request",
    "requested_remedy": {
        "kind": "refund",
        "amount": 600,
        "currency": "GBP",
        "description": "Refund both charges",
    },
    "external_ref": "CRM-778812",
}


def auth(role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer demo-{role}"}


async def until(http: httpx.AsyncClient, eid: str, pred, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        view = (await http.get(f"/escalations/{eid}", headers=auth("operator"))).json()
        if pred(view):
            return view
        assert time.monotonic() < deadline, view
        await asyncio.sleep(0.2)


async def stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:  # one that already ended is judged by its exit and its output
        try:
            proc.send_signal(signal.SIGINT)
        except ProcessLookupError:
            pass
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode == 0, out.decode()[-2000:]


@pytest.fixture
def ports() -> dict[str, int]:
    return {n: free_port() for n in ("temporal", "ui", "api", "metrics", "smtp", "webhook")}


async def test_full_path_through_the_running_stack_and_a_restart(tmp_path: Path, ports):
    api = f"http://127.0.0.1:{ports['api']}"
    proc = await start_stack(tmp_path, ports)
    try:
        await wait_ready(f"{api}/readyz", proc)
        async with httpx.AsyncClient(base_url=api, timeout=30) as http:
            r = await http.post(
                "/escalations", json=BODY, headers={**auth("system"), "Idempotency-Key": "e2e-1"}
            )
            assert r.status_code == 201, r.text
            eid = r.json()["id"]
            again = await http.post(
                "/escalations", json=BODY, headers={**auth("system"), "Idempotency-Key": "e2e-1"}
            )
            assert (again.status_code, again.json()["id"]) == (200, eid)
            view = await until(http, eid, lambda v: v["stage"] == "helpline_consult")
            assert view["severity"] == "P3" and view["promise_at"]

            r = await http.post(
                f"/escalations/{eid}/consult-answer",
                headers=auth("helpline"),
                json={"resolves": False, "answer": "Needs a refund above tier 1"},
            )
            assert r.status_code == 200, r.text
            view = r.json()  # answered once routed
            assert view["assignee"] and view["assigned_team"] == "billing-specialists"
            r = await http.post(f"/escalations/{eid}/acknowledge", headers=auth("specialist"))
            assert r.status_code == 200, r.text
            r = await http.post(
                f"/escalations/{eid}/proposals",
                headers=auth("specialist"),
                json={
                    "remedy": {
                        "kind": "refund",
                        "amount": 600,
                        "currency": "GBP",
                        "description": "Both charges",
                    }
                },
            )
            assert r.json()["stage"] == "executive_signoff", r.text
            assert r.json()["pending_approval"]["required_authority"] == 600
            refused = await http.post(
                f"/escalations/{eid}/approvals",
                headers=auth("supervisor"),
                json={"decision": "approve", "comment": "ok"},
            )
            assert refused.status_code == 403
            assert refused.json()["error"] == "forbidden"
            r = await http.post(
                f"/escalations/{eid}/approvals",
                headers=auth("executive"),
                json={"decision": "approve", "comment": "Loyal customer"},
            )
            assert r.status_code == 200, r.text
            assert (r.json()["stage"], r.json()["resolved_at_tier"]) == ("resolved", "executive")
            await until(http, eid, lambda v: v["stage"] == "follow_up")
            timeline = (
                await http.get(f"/escalations/{eid}/timeline", headers=auth("manager"))
            ).json()
            acts = [i["action"] for i in timeline["items"]]
            for a in (
                "opened",
                "triaged",
                "tier1_declined",
                "consult_requested",
                "consult_answered",
                "transferred",
                "acknowledged",
                "proposal_made",
                "approval_granted",
                "resolved",
            ):
                assert a in acts, acts
            assert "approval_rejected" not in acts  # the refused approval left no trace

        # the operator's view through Temporal itself: visibility and search attributes
        temporal = find_binary("temporal")
        listed = subprocess.run(
            [
                temporal,
                "workflow",
                "list",
                "--address",
                f"127.0.0.1:{ports['temporal']}",
                "--query",
                'EscalationStage="follow_up" AND ResolvedAtTier="executive"',
                "-o",
                "json",
            ],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        assert f"escalation-{eid}" in listed.stdout

        # real e-mail and real webhooks reached the demo relay and gateway
        outbox = tmp_path / "outbox"
        deadline = time.monotonic() + 20
        while True:
            mails = (
                [m for m in mailbox.mbox(str(outbox / "mail.mbox"))]
                if (outbox / "mail.mbox").exists()
                else []
            )
            to_ada = [m for m in mails if m["To"] and "ada@example.com" in m["To"]]
            hooks = (
                [json.loads(ln) for ln in (outbox / "webhooks.jsonl").read_text().splitlines()]
                if (outbox / "webhooks.jsonl").exists()
                else []
            )
            crm = [h for h in hooks if h["channel"] == "crm" and h["escalation_id"] == eid]
            if any("resolved" in (m["Subject"] or "") for m in to_ada) and any(
                h["body"]["stage"] == "follow_up" for h in crm
            ):
                break
            assert time.monotonic() < deadline, (len(mails), hooks[-3:])
            await asyncio.sleep(0.3)
        keys = [h["idempotency_key"] for h in hooks]
        assert len(keys) == len(set(keys))
    finally:
        await stop(proc)

    # run the same command again on the same data folder: the case is still in follow-up
    proc = await start_stack(tmp_path, ports)
    try:
        await wait_ready(f"{api}/readyz", proc)
        async with httpx.AsyncClient(base_url=api, timeout=30) as http:
            view = await until(http, eid, lambda v: True)
            assert (view["stage"], view["granted_remedy"]["amount"]) == ("follow_up", 600)
            r = await http.post(
                f"/escalations/{eid}/customer-contact",
                headers=auth("agent"),
                json={"message": "Still charged twice", "still_broken": True},
            )
            assert r.status_code == 200, r.text
            assert (r.json()["stage"], r.json()["severity"]) == ("specialist", "P2")
    finally:
        await stop(proc)
