"""The customer's words read at intake (time-skipping server, the real offline analysis): angry
words raise the urgency and say why; neutral words change nothing; a threat the agent did not
record is shown on the timeline, never applied; bad text gets an answer, never a failed task."""

from __future__ import annotations

import pytest

from tests.conftest import run_worker
from tests.workflows.fakes import World
from tests.workflows.helpers import request, start, terminate_started, wait_for
from workflows.escalation import EscalationWorkflow

W = EscalationWorkflow

ANGRY = (
    "This is absolutely disgusting. You charged me twice AGAIN, I am furious, nobody listens "
    "and I have wasted hours on hold. Useless!"
)


@pytest.fixture
def world():
    return World()


async def read(env, world, **req) -> tuple:
    async with run_worker(env.client, [W], world.activities()) as tq:
        try:
            h = await start(env.client, tq, req=request(600, **req))
            v = await wait_for(h, lambda v: v.reading is not None, timeout=60)
            tl = (await h.query(W.timeline)).items
            return v, {e.action: e.detail for e in tl}
        finally:
            await terminate_started()


async def test_angry_words_raise_the_urgency(fresh_ts_env, world):
    v, did = await read(fresh_ts_env, world, details=ANGRY)
    assert v.reading.angry and v.urgency == "high"
    assert did["urgency_raised"].startswith("the customer's words read angry")
    assert did["urgency_raised"].endswith("urgency normal to high")


async def test_neutral_words_change_nothing(fresh_ts_env, world):
    v, did = await read(
        fresh_ts_env, world, details="I noticed two charges on my statement, could you check?"
    )
    assert not v.reading.angry and v.urgency == "normal"
    assert "urgency_raised" not in did and "threat_noticed" not in did


async def test_a_threat_the_agent_did_not_record_is_shown_not_applied(fresh_ts_env, world):
    v, did = await read(
        fresh_ts_env,
        world,
        details="If this is not refunded by Friday my solicitor will take you to court.",
    )
    assert "legal" in v.reading.threats
    assert v.trigger == "customer_request"
    assert v.stage == "helpline_consult" and v.assignee is None  # not sent to the manager
    assert "legal threat" in did["threat_noticed"]
    assert "shown, not applied" in did["threat_noticed"]


@pytest.mark.parametrize(
    "details",
    [
        "",
        "<p><b>" * 500 + "refund" + "</b></p>" * 500,
        "😡" * 400,
        "Обман! Верните деньги",
        "x" * 19_000,
    ],
    ids=["empty", "markup", "emoji", "cyrillic", "long"],
)
async def test_any_text_gets_an_answer(fresh_ts_env, world, details):
    v, did = await read(fresh_ts_env, world, details=details)
    assert "text_read" in did and v.reading is not None
