"""Guided capture in the workflow (time-skipping server): a case without the policy's required
answers is not transferred to a specialist; the opener is told what is missing, the answers
unblock it and travel in the handover. And the customer's "I want this escalated" reaches the
escalated-accounts manager with its reason."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from temporalio.client import WorkflowUpdateFailedError

from tests.conftest import run_worker
from tests.workflows.fakes import World
from tests.workflows.helpers import (
    AGENT,
    HELPLINE,
    SYSTEM,
    actions,
    demo_policy,
    request,
    skip_to_office_hours,
    start,
    terminate_started,
    wait_for,
    wait_until,
)
from workflows import capture
from workflows.escalation import EscalationWorkflow
from workflows.inputs import AnswerQuestions, ConsultAnswer, EscalationAsk
from workflows.models import Actor

W = EscalationWorkflow
CUSTOMER = Actor(id="customer:C-1001", name="Ada Lovelace", role="customer")


@pytest.fixture
def world():
    return World()


def unanswered(amount: float = 600):
    return request(amount, answers={})


async def test_a_case_without_the_required_answers_waits_and_then_goes_with_them(
    fresh_ts_env, world
):
    """A CRM opened it without the billing questions: the help line cannot send it on, the
    consult window passes and the transfer is held (the manager is told, as nobody at the
    frontline opened it); the agent's answers release it, and the specialist gets them."""
    env = fresh_ts_env
    await skip_to_office_hours(env)
    async with run_worker(env.client, [W], world.activities()) as tq:
        try:
            h = await start(env.client, tq, req=unanswered(), opened_by=SYSTEM)
            v = await wait_for(h, lambda v: v.stage == "helpline_consult")
            assert v.missing_answers == ["invoice_number", "amount_disputed"]
            with pytest.raises(WorkflowUpdateFailedError) as refused:
                await h.execute_update(
                    W.consult_answer,
                    ConsultAnswer(actor=HELPLINE, resolves=False, answer="Needs billing"),
                )
            assert "How much is in dispute?" in str(refused.value.cause)

            await env.sleep(timedelta(minutes=11))  # the consult window (10 min) passes
            v = await wait_for(h, lambda v: v.transfer_held_since is not None)
            assert (v.stage, v.assignee) == ("helpline_consult", None)
            await wait_until(lambda: "answers_needed" in world.events("Morgan Manager"))
            assert "transferred" not in await actions(h)

            with pytest.raises(WorkflowUpdateFailedError) as wrong:
                await h.execute_update(
                    W.answer_questions,
                    AnswerQuestions(actor=AGENT, answers={"amount_disputed": "six hundred"}),
                )
            assert "amount in digits" in str(wrong.value.cause)
            await h.execute_update(
                W.answer_questions,
                AnswerQuestions(
                    actor=AGENT,
                    answers={"invoice_number": "INV-9", "amount_disputed": "600"},
                    checklist=["acknowledged_upset"],
                ),
            )
            v = await wait_for(h, lambda v: v.assignee is not None)
            assert v.stage == "specialist" and v.missing_answers == []
            assert v.transfer_held_since is None
            names = await actions(h)
            assert names.index("transfer_held") < names.index("answers_added")
            assert names.index("transfer_released") < names.index("transferred")
            handover = await h.query(W.handover)
            assert [(a.question, a.answer) for a in handover.answers] == [
                ("Which invoice or charge is it?", "INV-9"),
                ("How much is in dispute?", "600"),
            ]
            assert handover.checklist[0].done and not handover.checklist[1].done
            await wait_until(lambda: "transferred" in world.events(handover.assignee_name))
            sent = next(d.body for d in world.deliveries if d.event == "transferred")
            assert (
                "Answers: Which invoice or charge is it? INV-9; How much is in dispute? 600" in sent
            )
        finally:
            await terminate_started()


async def test_an_agent_who_opened_without_answers_is_told_and_threats_never_wait(
    fresh_ts_env, world
):
    """The opener hears what is missing; a legal threat goes straight to the manager whatever
    is unanswered (it is not the frontline's to hold)."""
    env = fresh_ts_env
    await skip_to_office_hours(env)
    async with run_worker(env.client, [W], world.activities()) as tq:
        try:
            h = await start(env.client, tq, req=unanswered())
            await env.sleep(timedelta(minutes=11))
            await wait_for(h, lambda v: v.transfer_held_since is not None)
            await wait_until(lambda: "answers_needed" in world.events("Alex Agent"))

            threat = await start(
                env.client, tq, req=request(40, trigger="legal_threat", answers={})
            )
            v = await wait_for(threat, lambda v: v.assignee is not None)
            assert (v.stage, v.assignee) == ("specialist", "p-manager")
            assert v.missing_answers == ["invoice_number", "amount_disputed"]
        finally:
            await terminate_started()


async def test_the_customers_request_for_escalation_reaches_the_manager_once_an_hour(
    fresh_ts_env, world
):
    env = fresh_ts_env
    await skip_to_office_hours(env)
    async with run_worker(env.client, [W], world.activities()) as tq:
        try:
            h = await start(env.client, tq, req=request(600))
            await wait_for(h, lambda v: v.stage == "helpline_consult")
            ask = EscalationAsk(actor=CUSTOMER, reason="Nobody has called me back")
            v = await h.execute_update(W.ask_escalation, ask)
            assert v.escalation_asked_at is not None
            await wait_until(lambda: "escalation_asked" in world.events("Morgan Manager"))
            body = next(d.body for d in world.deliveries if d.event == "escalation_asked")
            assert "Nobody has called me back" in body
            with pytest.raises(WorkflowUpdateFailedError) as again:
                await h.execute_update(W.ask_escalation, ask)
            assert "already asked" in str(again.value.cause)
            await env.sleep(timedelta(minutes=61))
            await h.execute_update(W.ask_escalation, ask)
            tl = (await h.query(W.timeline)).items
            asks = [e for e in tl if e.action == "escalation_asked"]
            assert [(e.role, e.detail) for e in asks] == [
                ("customer", "Nobody has called me back")
            ] * 2
        finally:
            await terminate_started()


def test_the_capture_rules_name_each_field() -> None:
    demo = demo_policy(date(2026, 12, 7))
    assert capture.problems(
        demo,
        "billing",
        {"amount_disputed": "4O", "charge_date": "03/03/2026", "colour": "red"},
        ["smiled"],
        require=True,
    ) == {
        "answers.amount_disputed": "How much is in dispute?: an amount in digits, e.g. 40 or 40.00",
        "answers.charge_date": "When was it charged?: a date as YYYY-MM-DD",
        "answers.colour": "not a question of this category (its questions: invoice_number, "
        "amount_disputed, charge_date, payment_method)",
        "answers.invoice_number": "Which invoice or charge is it?: required",
        "checklist": "not a step of this category's checklist: smiled",
    }
    # a system may leave the required ones to the frontline; a wrong type is wrong for anyone
    assert capture.problems(demo, "billing", {}, require=False) == {}
    assert capture.problems(demo, "Payments", {"payment_method": "cash"}, require=False) == {
        "answers.payment_method": "How did they pay?: one of: card, direct debit, bank "
        "transfer, other"
    }
    # a category no guide names gets the catch-all: nothing required
    assert capture.guide(demo, "technical").questions[0].id == "tried_already"
    assert capture.problems(demo, "technical", {}, require=True) == {}
