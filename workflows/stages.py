"""The stage machine of an escalation: the stages, which may follow which and what moves a case
from one to the next, and the outcomes of a wait. Pure data: the workflow
(`workflows/escalation/`), the opening (`workflows/opening.py`) and the docs read it.

Every row of `TRANSITIONS` names what moves the case (an action, a deadline, or the process
itself); `STAGES` names each stage's entry work and its deadlines, and where they live.
`check_transition` refuses any move that is not in the table.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Stage(StrEnum):
    TRIAGE = "triage"
    TIER1_EXCEPTION = "tier1_exception"
    HELPLINE_CONSULT = "helpline_consult"
    SPECIALIST = "specialist"
    EXECUTIVE_SIGNOFF = "executive_signoff"
    RESOLVED = "resolved"
    FOLLOW_UP = "follow_up"
    CLOSED = "closed"
    CANCELLED = "cancelled"
    # Never entered by the workflow: the API's name for a case whose workflow ended outside the
    # process (terminated, timed out, failed or cancelled in Temporal itself), read from the
    # workflow's status (api/ended_outside.py), so such a case never shows as still open.
    TERMINATED = "terminated"


FINAL_STAGES: frozenset[Stage] = frozenset({Stage.CLOSED, Stage.CANCELLED, Stage.TERMINATED})
OPEN_STAGES: tuple[Stage, ...] = tuple(s for s in Stage if s not in FINAL_STAGES)


class Wake(StrEnum):
    """Why a stage's wait ended."""

    TIMEOUT = "timeout"  # its deadline (a durable timer) passed
    TRANSITION = "transition"  # the case moved to another stage
    CONDITION = "condition"  # the condition the stage waited for came true
    CONTINUE_AS_NEW = "continue_as_new"  # the history is long: hand over to a new run


@dataclass(frozen=True)
class Transition:
    source: Stage
    target: Stage
    by: str  # what moves the case: an action (update name), a deadline, or the process


@dataclass(frozen=True)
class StageSpec:
    entry: str  # the work done on entering the stage
    deadlines: tuple[str, ...]  # the durable timers the stage waits on (besides the SLA clocks)
    where: str  # the function that does the entry work and waits


# Every move a case can make. Cancel is possible from every open stage.
TRANSITIONS: tuple[Transition, ...] = (
    Transition(Stage.TRIAGE, Stage.TIER1_EXCEPTION, "opening: the policy's triage rules"),
    Transition(Stage.TIER1_EXCEPTION, Stage.RESOLVED, "opening: tier 1 grants the remedy"),
    Transition(
        Stage.TIER1_EXCEPTION, Stage.RESOLVED, "process: within the customer's goodwill budget"
    ),
    Transition(
        Stage.TIER1_EXCEPTION,
        Stage.HELPLINE_CONSULT,
        "process: beyond the customer's goodwill budget",
    ),
    Transition(Stage.TIER1_EXCEPTION, Stage.HELPLINE_CONSULT, "opening: beyond tier 1"),
    Transition(
        Stage.TIER1_EXCEPTION,
        Stage.SPECIALIST,
        "opening: a threat or P1 goes straight to the escalated-accounts manager",
    ),
    Transition(Stage.HELPLINE_CONSULT, Stage.RESOLVED, "consult_answer (resolves)"),
    Transition(Stage.HELPLINE_CONSULT, Stage.SPECIALIST, "consult_answer (needs a specialist)"),
    Transition(Stage.HELPLINE_CONSULT, Stage.SPECIALIST, "deadline: consult window"),
    Transition(Stage.SPECIALIST, Stage.RESOLVED, "propose (within authority) or resolve"),
    Transition(Stage.SPECIALIST, Stage.EXECUTIVE_SIGNOFF, "propose (needs sign-off)"),
    Transition(Stage.EXECUTIVE_SIGNOFF, Stage.RESOLVED, "decide (approve)"),
    Transition(Stage.EXECUTIVE_SIGNOFF, Stage.SPECIALIST, "decide (reject)"),
    Transition(Stage.RESOLVED, Stage.FOLLOW_UP, "process: the customer is told the outcome"),
    Transition(Stage.RESOLVED, Stage.SPECIALIST, "reopen, or customer_contact (still broken)"),
    Transition(Stage.FOLLOW_UP, Stage.SPECIALIST, "reopen, or customer_contact (still broken)"),
    Transition(Stage.FOLLOW_UP, Stage.CLOSED, "deadline: the last check-in"),
    *(Transition(s, Stage.CANCELLED, "cancel") for s in OPEN_STAGES),
    *(
        Transition(s, Stage.TERMINATED, "outside the process: ended in Temporal itself")
        for s in OPEN_STAGES
    ),
)

ALLOWED: frozenset[tuple[Stage, Stage]] = frozenset((t.source, t.target) for t in TRANSITIONS)

STAGES: dict[Stage, StageSpec] = {
    Stage.TRIAGE: StageSpec(
        "severity, urgency, avoidable trigger, SLA clocks started",
        (),
        "workflows/opening.py triage",
    ),
    Stage.TIER1_EXCEPTION: StageSpec(
        "tier-1 exception catalogue against the frontline's authority; a grant it allows waits "
        "here for the customer's past year (the goodwill budget)",
        (),
        "workflows/opening.py tier1, workflows/escalation/goodwill.py tier1",
    ),
    Stage.HELPLINE_CONSULT: StageSpec(
        "customer told; knowledge-base lookup; the help line asked",
        ("consult window (help-line business hours)",),
        "workflows/escalation/stage_work.py consult",
    ),
    Stage.SPECIALIST: StageSpec(
        "routed to a team and specialist (warm transfer), or for a threat or P1 to the "
        "escalated-accounts manager; the assignee told",
        (
            "acknowledgement window (team business hours; the manager's first response in "
            "wall-clock minutes): re-routed when it passes",
        ),
        "workflows/escalation/stage_work.py specialist",
    ),
    Stage.EXECUTIVE_SIGNOFF: StageSpec(
        "the approvers of the required level told",
        ("sign-off reminder; after the policy's reminders, the next authority level",),
        "workflows/escalation/stage_work.py signoff",
    ),
    Stage.RESOLVED: StageSpec(
        "customer told the outcome", (), "workflows/escalation/stage_work.py resolved"
    ),
    Stage.FOLLOW_UP: StageSpec(
        "check-ins with the customer",
        (
            "each check-in (policy follow_up_h)",
            "after the last: its feedback link's expiry (policy feedback_valid_h, wall clock)",
        ),
        "workflows/escalation/stage_work.py follow_up",
    ),
    Stage.CLOSED: StageSpec("final", (), "-"),
    Stage.CANCELLED: StageSpec("final; customer told", (), "-"),
    Stage.TERMINATED: StageSpec(
        "final; ended outside the process (nobody told): the API shows it from the workflow's "
        "status",
        (),
        "api/ended_outside.py",
    ),
}


class IllegalTransition(ValueError):
    pass


def check_transition(source: Stage, target: Stage) -> None:
    """Refuse a move the table does not list (a bug: the caller fails the workflow for good)."""
    try:
        move = (Stage(source), Stage(target))
    except ValueError as e:  # a misspelt stage is never stored
        raise IllegalTransition(f"unknown stage: {e}") from None
    if move not in ALLOWED:
        raise IllegalTransition(f"no transition from {source} to {target} in the stage table")
