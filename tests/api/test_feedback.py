"""The customer's feedback link end to end: the check-in the worker sends carries a signed link
(signed by the `deliver` activity's own code), the customer answers through the public page or
the JSON endpoint, the answer is on the case once; forged, expired and reused links are refused
in the one error shape."""

from __future__ import annotations

import asyncio
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from activities.notify import with_feedback_link
from api.main import create_app
from core.feedback import FeedbackLinks
from core.settings import CONFIG_DIR, Settings
from tests.api.conftest import auth, request_body
from workflows.messages import Delivery

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
async def quick(stack, tmp_path_factory):
    """The API with a policy whose check-ins come seconds after resolution (same worker)."""
    text = (CONFIG_DIR / "policy.toml").read_text()
    text = text.replace('version = "2026.11-demo"', 'version = "2026.11-quick-check-ins"')
    text = text.replace("follow_up_h = [24, 168]", "follow_up_h = [0.0003, 0.0006]")
    folder: Path = tmp_path_factory.mktemp("policy")
    path = folder / "policy.toml"
    path.write_text(text)
    # a store of its own: the file seeds the live version only in a store not yet seeded
    settings = Settings(
        demo=True, task_queue=stack.settings.task_queue, policy_path=path, data_dir=folder
    )
    app = create_app(settings, client=stack.client)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as http,
    ):
        yield http, settings


async def resolved_case(http: httpx.AsyncClient) -> str:
    """A tier-1 refund (40 GBP): resolved once tier 1 has read the customer's history (moments
    after the opening), check-ins within seconds."""
    r = await http.post(
        "/escalations",
        json=request_body(
            requested_remedy={
                "kind": "refund",
                "amount": 40,
                "currency": "GBP",
                "description": "one charge",
            }
        ),
        headers=auth("agent"),
    )
    assert r.status_code == 201, r.text
    eid, deadline = r.json()["id"], time.monotonic() + 15
    while (stage := r.json()["stage"]) not in ("resolved", "follow_up"):
        assert stage == "tier1_exception" and time.monotonic() < deadline, r.text
        await asyncio.sleep(0.1)
        r = await http.get(f"/escalations/{eid}", headers=auth("agent"))
    return eid


async def check_in_token(stack, settings: Settings, eid: str, n: int) -> str:
    """The token in the n-th check-in message, as the real `deliver` activity signs it in."""
    deadline = time.monotonic() + 20
    while True:
        found = [d for d in stack.deliveries if d.escalation_id == eid and d.event == "check_in"]
        if len(found) >= n:
            break
        assert time.monotonic() < deadline, "no check-in sent"
        await asyncio.sleep(0.1)
    d: Delivery = with_feedback_link(found[n - 1], FeedbackLinks.from_settings(settings))
    match = re.search(r"http://localhost:8000/feedback/(\S+)", d.body)
    assert match, d.body
    return match.group(1)


async def view(stack, eid: str) -> dict:
    r = await stack.http.get(f"/escalations/{eid}", headers=auth("operator"))
    assert r.status_code == 200, r.text
    return r.json()


async def test_a_check_in_link_takes_one_answer_through_the_form(stack, quick):
    http, settings = quick
    eid = await resolved_case(http)
    token = await check_in_token(stack, settings, eid, 1)

    page = await http.get(f"/feedback/{token}", headers={"Accept": "text/html"})
    assert page.status_code == 200, page.text
    assert 'name="score"' in page.text and "Charged twice for March" in page.text
    assert f'action="/feedback/{token}"' in page.text

    r = await http.post(
        f"/feedback/{token}",
        content="score=5&comment=Refund+arrived",
        headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "text/html"},
    )
    assert r.status_code == 200 and "Thank you" in r.text, r.text
    v = await view(stack, eid)
    assert [(f["key"], f["score"], f["comment"]) for f in v["feedback"]] == [
        ("0.1", 5, "Refund arrived")
    ]
    assert v["stage"] == "follow_up"

    # the same link again: refused in the one error shape (JSON), or a page for a browser
    again = await http.post("/feedback", json={"token": token, "score": 1})
    assert again.status_code == 409, again.text
    assert again.json()["error"] == "conflict" and "already answered" in again.json()["detail"]
    page = await http.get(f"/feedback/{token}", headers={"Accept": "text/html"})
    assert page.status_code == 409 and "already answered" in page.text
    v = await view(stack, eid)
    assert len(v["feedback"]) == 1 and v["stage"] == "follow_up"  # recorded once, not reopened

    timeline = await stack.http.get(f"/escalations/{eid}/timeline", headers=auth("operator"))
    received = [i for i in timeline.json()["items"] if i["action"] == "feedback_received"]
    assert [(i["role"], i["detail"]) for i in received] == [
        ("customer", "5/5 on check-in 0.1: Refund arrived")
    ]


async def test_still_broken_through_the_json_endpoint_reopens(stack, quick):
    http, settings = quick
    eid = await resolved_case(http)
    token = await check_in_token(stack, settings, eid, 1)
    r = await http.post(
        "/feedback",
        json={"token": token, "score": 3, "comment": "Charged again", "still_broken": True},
    )
    assert r.status_code == 200, r.text
    receipt = r.json()
    assert receipt["escalation_id"] == eid and receipt["check_in"] == "0.1"
    assert receipt["being_worked_on"] is True
    v = await view(stack, eid)
    assert v["stage"] == "specialist" and v["severity"] == "P2"
    assert v["feedback"][0]["still_broken"] is True


async def test_forged_expired_and_invalid_answers_are_refused(stack, quick):
    http, settings = quick
    eid = await resolved_case(http)
    token = await check_in_token(stack, settings, eid, 1)
    links = FeedbackLinks.from_settings(settings)

    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    r = await http.post("/feedback", json={"token": forged, "score": 5})
    assert r.status_code == 403 and r.json()["error"] == "forbidden", r.text
    other_secret = FeedbackLinks("not-the-secret", settings.public_url)
    r = await http.get(
        f"/feedback/{other_secret.token(eid, '0.1', datetime.now(UTC) + timedelta(hours=1))}"
    )
    assert r.status_code == 403 and r.json()["error"] == "forbidden", r.text

    expired = links.token(eid, "0.1", datetime.now(UTC) - timedelta(seconds=1))
    r = await http.post("/feedback", json={"token": expired, "score": 5})
    assert r.status_code == 410 and r.json()["error"] == "expired", r.text
    page = await http.get(f"/feedback/{expired}", headers={"Accept": "text/html"})
    assert page.status_code == 410 and "expired" in page.text

    r = await http.post("/feedback", json={"token": token, "score": 6})
    assert r.status_code == 422 and "score" in r.json()["detail"], r.text
    r = await http.post(
        f"/feedback/{token}",
        content="comment=no+score",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 422 and r.json()["error"] == "invalid", r.text
    assert (await view(stack, eid))["feedback"] == []


def test_the_demo_feedback_secret_is_refused_outside_the_demo():
    from pydantic import SecretStr

    from core.feedback import feedback_secret_refusal

    assert feedback_secret_refusal(Settings(_env_file=None, demo=True)) is None
    refusal = feedback_secret_refusal(Settings(_env_file=None, demo=False)) or ""
    assert "ESCALATIONS_FEEDBACK_SECRET" in refusal
    real = Settings(_env_file=None, demo=False, feedback_secret=SecretStr("x" * 32))
    assert feedback_secret_refusal(real) is None


async def test_a_forged_link_for_a_check_in_never_sent_is_refused(stack):
    """Signed with the public demo secret but naming a check-in the workflow never sent: the
    validator refuses it (403), nothing is recorded and the just-resolved case stays resolved."""
    eid = await resolved_case(stack.http)  # the demo policy: the first check-in is a day away
    links = FeedbackLinks.from_settings(stack.settings)
    forged = links.token(eid, "0.1", datetime.now(UTC) + timedelta(hours=1))
    r = await stack.http.post("/feedback", json={"token": forged, "score": 1})
    assert r.status_code == 403 and r.json()["error"] == "forbidden", r.text
    assert "not sent" in r.json()["detail"]
    page = await stack.http.post(
        f"/feedback/{forged}",
        content="score=1",
        headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "text/html"},
    )
    assert page.status_code == 403 and "not sent" in page.text
    v = await view(stack, eid)
    assert v["stage"] in ("resolved", "follow_up") and v["feedback"] == []
    assert v["severity"] == "P3"
