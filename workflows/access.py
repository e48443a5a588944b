"""Who may do what, on which stage: the one access table. The API's dependencies (roles), the
workflow's update validators (roles and stages) and the OpenAPI descriptions all read it.

Finer rules that need the case itself (an approver's authority against the amount, "already
acknowledged by you") stay with the validator that has the case; the table says who may try.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal, get_args

from workflows.stages import OPEN_STAGES, Stage

Role = Literal[
    "system",
    "agent",
    "helpline",
    "specialist",
    "supervisor",
    "manager",
    "executive",
    "operator",
    "customer",  # only through a feedback link (core/feedback.py), never a directory token
]
# The roles a directory may give (customers act only through their link): the one role list,
# read by the directory, its demo tokens, the API and the console.
ROLES: tuple[Role, ...] = tuple(r for r in get_args(Role) if r != "customer")
STAFF_ROLES: tuple[Role, ...] = tuple(r for r in ROLES if r != "system")
APPROVER_ROLES: tuple[Role, ...] = ("supervisor", "manager", "executive")


class Action(StrEnum):
    """What people do. A case action's value is the workflow update's registered name."""

    OPEN = "open"
    READ = "read"
    CONSULT_ANSWER = "consult_answer"
    ACKNOWLEDGE = "acknowledge"
    ADD_NOTE = "add_note"
    REQUEST_INFO = "request_info"
    CUSTOMER_CONTACT = "customer_contact"
    PROPOSE = "propose"
    DECIDE = "decide"
    RESOLVE = "resolve"
    REOPEN = "reopen"
    CANCEL = "cancel"
    CHANGE_SEVERITY = "change_severity"
    CUSTOMER_FEEDBACK = "customer_feedback"
    PROMISE_CALLBACK = "promise_callback"
    CALLBACK_DONE = "callback_done"
    REASSIGN = "reassign"
    ANSWER_QUESTIONS = "answer_questions"  # the policy's capture questions, after the opening
    ASK_ESCALATION = "ask_escalation"  # the customer's "I want this escalated"
    CHASE = "chase"
    REQUEST_CONTRIBUTION = "request_contribution"
    ANSWER_CONTRIBUTION = "answer_contribution"
    REPORTS = "reports"
    REPORTS_COACHING = "reports_coaching"  # avoidable escalations per agent: names people
    DECODE_PAYLOADS = "decode_payloads"
    # the policy as a living document (issue 25)
    POLICY_PROPOSE = "policy_propose"  # write a draft, propose it, schedule its go-live
    POLICY_APPROVE = "policy_approve"  # and only the roles the live policy's [change] names
    MIGRATE_POLICY = "migrate_policy"  # move a case in flight to another policy version
    POLICY_SIMULATE = "policy_simulate"  # replay recorded cases under a version
    # an operator's levers on a case's workflow (issue 31; decision 0054): server calls made by
    # the API, then recorded on the timeline by the update `record_operator_action`
    RETRY_ACTIVITY = "retry_activity"
    RESET_WORKFLOW = "reset_workflow"
    RECORD_OPERATOR_ACTION = "record_operator_action"


@dataclass(frozen=True)
class Rule:
    roles: tuple[Role, ...]
    stages: tuple[Stage, ...] | None = None  # None: not a case action (no stage applies)
    # A sign-off: never by the person who proposed what is signed off (four eyes, decision 0033)
    four_eyes: bool = False


# The escalated-accounts manager owns the threats and P1s sent straight to them (and cases
# routing could not place): they work them as a specialist would, on cases assigned to them.
_CASE_OWNERS: tuple[Role, ...] = ("specialist", "manager")
_BEFORE_RESOLUTION = tuple(s for s in OPEN_STAGES if s not in (Stage.RESOLVED, Stage.FOLLOW_UP))

ACCESS: dict[Action, Rule] = {
    Action.OPEN: Rule(("system", "agent")),
    Action.READ: Rule(ROLES),
    Action.CONSULT_ANSWER: Rule(("helpline",), (Stage.HELPLINE_CONSULT,)),
    Action.ACKNOWLEDGE: Rule(_CASE_OWNERS, (Stage.SPECIALIST,)),
    Action.ADD_NOTE: Rule(STAFF_ROLES, OPEN_STAGES),
    Action.REQUEST_INFO: Rule(_CASE_OWNERS, (Stage.SPECIALIST,)),
    # the customer too, through their case's signed status link (api/customer)
    Action.CUSTOMER_CONTACT: Rule(("system", "agent", "customer"), OPEN_STAGES),
    Action.PROPOSE: Rule(_CASE_OWNERS, (Stage.SPECIALIST,)),
    Action.DECIDE: Rule(APPROVER_ROLES, (Stage.EXECUTIVE_SIGNOFF,), four_eyes=True),
    Action.RESOLVE: Rule(_CASE_OWNERS, (Stage.SPECIALIST,)),
    Action.REOPEN: Rule(("system", "agent", "manager"), (Stage.RESOLVED, Stage.FOLLOW_UP)),
    Action.CANCEL: Rule(("operator", "manager"), OPEN_STAGES),
    Action.CHANGE_SEVERITY: Rule(("supervisor", "manager", "executive"), _BEFORE_RESOLUTION),
    Action.CUSTOMER_FEEDBACK: Rule(("customer",), OPEN_STAGES),
    Action.ANSWER_QUESTIONS: Rule(
        ("system", "agent", "helpline", "specialist", "supervisor", "manager"), OPEN_STAGES
    ),
    # the customer through their status link (api/customer), or staff who took the request
    Action.ASK_ESCALATION: Rule(("customer", "system", "agent"), OPEN_STAGES),
    Action.PROMISE_CALLBACK: Rule(("agent", "specialist"), OPEN_STAGES),
    Action.CALLBACK_DONE: Rule(("agent", "specialist"), OPEN_STAGES),
    Action.REASSIGN: Rule(("manager",), (Stage.SPECIALIST,)),
    Action.REQUEST_CONTRIBUTION: Rule(("specialist",), (Stage.SPECIALIST,)),
    Action.ANSWER_CONTRIBUTION: Rule(("specialist", "supervisor"), OPEN_STAGES),
    Action.CHASE: Rule(("supervisor", "manager"), (Stage.SPECIALIST, Stage.EXECUTIVE_SIGNOFF)),
    Action.REPORTS: Rule(("supervisor", "manager", "executive", "operator")),
    Action.REPORTS_COACHING: Rule(("supervisor", "manager")),
    Action.DECODE_PAYLOADS: Rule(("operator",)),
    Action.POLICY_PROPOSE: Rule(("manager",)),
    Action.POLICY_APPROVE: Rule(APPROVER_ROLES, four_eyes=True),
    Action.MIGRATE_POLICY: Rule(("operator", "manager"), OPEN_STAGES),
    Action.POLICY_SIMULATE: Rule(APPROVER_ROLES),
    # no stage rule: a stuck or ended workflow is what these are for
    Action.RETRY_ACTIVITY: Rule(("operator",)),
    Action.RESET_WORKFLOW: Rule(("operator",)),
    Action.RECORD_OPERATOR_ACTION: Rule(("operator",), tuple(Stage)),
}

CASE_ACTIONS: tuple[Action, ...] = tuple(a for a, r in ACCESS.items() if r.stages is not None)


def join(words: tuple[str, ...]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def role_refusal(action: Action, role: str) -> str | None:
    """Why this role may not take the action (None: it may)."""
    roles = ACCESS[action].roles
    if role in roles:
        return None
    return f"Only {join(roles)} may do this; you are signed in as {role}."


def stage_refusal(action: Action, stage: Stage) -> str | None:
    """Why the action does not fit the case's stage (None: it does)."""
    stages = ACCESS[action].stages
    if stages is None or stage in stages:
        return None
    if stage not in OPEN_STAGES:
        return f"the escalation is {stage}"
    if action is Action.CHANGE_SEVERITY and stage in (Stage.RESOLVED, Stage.FOLLOW_UP):
        return "the escalation is resolved; reopen it first"
    return f"not possible in stage {stage} (only in {', '.join(stages)})"


def four_eyes_refusal(
    action: Action, actor_id: str, proposers: tuple[str | None, ...]
) -> str | None:
    """Why this person may not sign off (None: they may): a sign-off is never given by whoever
    proposed (or wrote) what it signs off, whatever their role or authority now."""
    if not ACCESS[action].four_eyes or actor_id not in proposers:
        return None
    return "you proposed this; a sign-off needs another person's decision (four eyes)"


# Actions only the case's owner may take (the assignee), once they have acknowledged it.
OWNER_ACTIONS: tuple[Action, ...] = (Action.PROPOSE, Action.RESOLVE, Action.REQUEST_INFO)
APPROVER_RANK: dict[str, int] = {role: i for i, role in enumerate(APPROVER_ROLES)}


def ownership_refusal(
    action: Action,
    actor_id: str,
    actor_team: str | None,
    assignee: str | None,
    assignee_name: str | None,
    team: str | None,
) -> str | None:
    """Why this person may not act on another's case (None: they may). A specialist of the
    assigned team may take the case over by acknowledging it (recorded on the timeline)."""
    if assignee is None or actor_id == assignee:
        return None
    owner = assignee_name or assignee
    if action is Action.ACKNOWLEDGE:
        if team is not None and actor_team == team:
            return None
        return f"the case is assigned to {owner} ({team}); only their team may take it over"
    if action in OWNER_ACTIONS:
        return f"only the case's owner, {owner}, may do this"
    return None


def level_refusal(role: str, level: str) -> str | None:
    """An approval asked of a level is decided at that level or above (None: may)."""
    if APPROVER_RANK.get(role, -1) >= APPROVER_RANK.get(level, 0):
        return None
    return f"this approval is with the {level} level; a {role} may not decide it"


def who(action: Action) -> str:
    """The roles, as the OpenAPI descriptions name them."""
    return ", ".join(ACCESS[action].roles)


def stages_text(action: Action) -> str:
    stages = ACCESS[action].stages
    if stages is None or stages == OPEN_STAGES:
        return "any open stage"
    return ", ".join(f"`{s}`" for s in stages)
