"""The stage machine and the access table: what every other part reads, checked as data."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.workflows.helpers import AGENT, request
from workflows import access, opening
from workflows.access import ACCESS, CASE_ACTIONS, Action
from workflows.escalation import EscalationWorkflow
from workflows.escalation.stage_work import STAGE_WORK
from workflows.models import EscalationState
from workflows.stages import (
    ALLOWED,
    FINAL_STAGES,
    OPEN_STAGES,
    STAGES,
    IllegalTransition,
    Stage,
    check_transition,
)

PACKAGE = Path(__file__).parents[2] / "workflows"


def test_every_stage_is_reachable_and_every_open_stage_can_end():
    reached = {Stage.TRIAGE} | {target for _, target in ALLOWED}
    assert reached == set(Stage)
    for stage in OPEN_STAGES:
        assert (stage, Stage.CANCELLED) in ALLOWED
    for stage in FINAL_STAGES:
        assert not [t for s, t in ALLOWED if s == stage], f"{stage} is final"
    assert set(STAGES) == set(Stage)


def test_the_main_loop_has_work_for_every_stage_a_started_case_can_rest_in():
    # triage and the tier-1 check happen in the opening, before the workflow's first task; a
    # grant the opening allows waits in tier1_exception for the customer's goodwill budget
    assert set(STAGE_WORK) == set(OPEN_STAGES) - {Stage.TRIAGE}


def test_a_move_the_table_does_not_list_is_refused():
    check_transition(Stage.HELPLINE_CONSULT, Stage.SPECIALIST)
    with pytest.raises(IllegalTransition, match="from closed to specialist"):
        check_transition(Stage.CLOSED, Stage.SPECIALIST)
    with pytest.raises(IllegalTransition, match="from triage to resolved"):
        check_transition(Stage.TRIAGE, Stage.RESOLVED)
    with pytest.raises(IllegalTransition, match="'specialst' is not a valid Stage"):
        check_transition(Stage.SPECIALIST, "specialst")  # type: ignore[arg-type]


def test_the_opening_moves_through_the_table():
    from datetime import UTC, datetime

    from tests.workflows.helpers import demo_policy

    now = datetime(2026, 12, 2, 10, tzinfo=UTC)
    policy = demo_policy(now.date())
    s = EscalationState(
        id="E-1", request=request(40), opened_by=AGENT, opened_at=now, updated_at=now
    )
    opening.triage(s, policy, now)
    assert s.stage is Stage.TIER1_EXCEPTION
    opening.tier1(s, policy, now, rules_version=0)  # before issue 22: granted at once
    assert s.stage is Stage.RESOLVED
    with pytest.raises(IllegalTransition):
        opening.move(s, Stage.EXECUTIVE_SIGNOFF, now)
    assert s.stage is Stage.RESOLVED


def test_a_grant_waits_in_tier1_for_the_goodwill_budget_and_a_threat_skips_it():
    from datetime import UTC, datetime

    from tests.workflows.helpers import demo_policy

    now = datetime(2026, 12, 2, 10, tzinfo=UTC)
    policy = demo_policy(now.date())
    for req, stage in (
        (request(40), Stage.TIER1_EXCEPTION),
        (request(400), Stage.HELPLINE_CONSULT),
        (request(40, trigger="legal_threat"), Stage.SPECIALIST),
        (request(40, trigger="regulator_threat"), Stage.SPECIALIST),
    ):
        s = EscalationState(id="E-1", request=req, opened_by=AGENT, opened_at=now, updated_at=now)
        opening.triage(s, policy, now)
        opening.tier1(s, policy, now)
        assert s.stage is stage, req
        if req.trigger == "regulator_threat":  # a complaint to a regulator is a P1 threat
            assert s.severity == "P1"


def test_every_case_action_is_an_update_of_the_workflow_and_back():
    from temporalio.workflow import _Definition

    updates = set(_Definition.must_from_class(EscalationWorkflow).updates)
    assert updates == {a.value for a in CASE_ACTIONS}


def test_every_validator_reads_the_access_table():
    """Each update's validator names its own action in the table (no role list of its own)."""
    checked: dict[str, str] = {}
    files = ("workflow.py", "follow_through.py")  # follow_through: a base class of the workflow
    nodes = [
        n for f in files for n in ast.walk(ast.parse((PACKAGE / "escalation" / f).read_text()))
    ]
    for fn in nodes:
        if isinstance(fn, ast.FunctionDef) and fn.name.startswith("_v_"):
            for call in ast.walk(fn):
                if (
                    isinstance(call, ast.Call)
                    and isinstance(call.func, ast.Attribute)
                    and ast.unparse(call.func) == "guards.allowed"
                ):
                    checked[fn.name.removeprefix("_v_")] = ast.unparse(call.args[1])
    assert checked == {a.value: f"Action.{a.name}" for a in CASE_ACTIONS}


@pytest.mark.parametrize("action", list(Action))
def test_refusals_name_who_may(action: Action):
    rule = ACCESS[action]
    outsider = next((r for r in access.ROLES if r not in rule.roles), None)
    if outsider is None:
        return
    assert access.role_refusal(action, rule.roles[0]) is None
    refusal = access.role_refusal(action, outsider)
    assert refusal and outsider in refusal and rule.roles[0] in refusal


def test_stage_refusals():
    assert access.stage_refusal(Action.DECIDE, Stage.EXECUTIVE_SIGNOFF) is None
    assert (
        access.stage_refusal(Action.DECIDE, Stage.SPECIALIST)
        == "not possible in stage specialist (only in executive_signoff)"
    )
    assert access.stage_refusal(Action.ADD_NOTE, Stage.CLOSED) == "the escalation is closed"
    assert (
        access.stage_refusal(Action.CHANGE_SEVERITY, Stage.FOLLOW_UP)
        == "the escalation is resolved; reopen it first"
    )
