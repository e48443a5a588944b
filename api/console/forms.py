"""The case page's action forms: which fields each action asks for, and how a submitted form
becomes the same update argument the API sends (api/cases/router.py). Which forms a reader sees
is the access table's answer for their role and the case's stage (workflows/access.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, get_args

from pydantic import BaseModel, ValidationError

from api.auth import actor_of
from api.console.times import local_time
from api.errors import DomainError
from core.directory import Directory, DirectoryEntry
from workflows.access import Action, role_refusal, stage_refusal
from workflows.inputs import (
    Acknowledge,
    AddNote,
    AnswerQuestions,
    CallbackDone,
    CallbackPromise,
    ChaseOwner,
    ConsultAnswer,
    ContributionAnswer,
    ContributionRequest,
    CustomerContact,
    Decision,
    EscalationAsk,
    InfoRequest,
    Proposal,
    Reason,
    ReassignCase,
    ResolveCase,
    SeverityChange,
)
from workflows.models import Remedy, RemedyKind
from workflows.views import EscalationView

REMEDY_KINDS: tuple[str, ...] = get_args(RemedyKind)


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    kind: str = "textarea"  # textarea, text, number, select, checkbox, datetime
    options: tuple[str, ...] = ()  # a select's fixed choices; else `choices()` reads the case
    required: bool = True
    default: str = ""
    blank: str = ""  # a select's words for its empty option ("" in `options`)
    empty: str = ""  # a select with nothing to choose: why (the form is then not sent)


@dataclass(frozen=True)
class Form:
    action: Action
    title: str
    button: str
    fields: tuple[Field, ...] = ()
    build: Callable[..., BaseModel] = field(default=lambda p, f: Acknowledge(actor=actor_of(p)))
    needs_directory: bool = False  # build(person, values, directory): it names another person
    template: str = ""  # drawn by its own template (fields from the case's policy), not `fields`


# Case actions the console has no form for, and where they are taken instead
NOT_IN_THE_CONSOLE: dict[Action, str] = {
    Action.CUSTOMER_FEEDBACK: "the customer's signed feedback link (GET /feedback/{token})",
    Action.RECORD_OPERATOR_ACTION: "the API itself, after an operator's retry or reset "
    "(POST /escalations/{id}/operator/...)",
}

# Case actions taken in bulk on another console page, not on the case page
ELSEWHERE_IN_THE_CONSOLE: dict[Action, str] = {
    Action.MIGRATE_POLICY: "/console/policy/migrate (cases chosen by the list's filters)",
}


def _remedy(f: dict[str, str]) -> Remedy:
    return Remedy(
        kind=f.get("kind", "refund"),  # type: ignore[arg-type]  # pydantic checks the literal
        amount=float(f.get("amount") or 0),
        currency=(f.get("currency") or "GBP").upper(),
        description=f.get("description", ""),
    )


def _when(f: dict[str, str]) -> datetime:
    """The date-time picker's wall-clock time in the reader's zone (an offset, if typed, wins)."""
    try:
        at = local_time(f.get("at", ""), f.get("tz", ""))
    except DomainError as e:
        raise ValueError(f"at: {e.detail}") from None
    if at is None:
        raise ValueError("at: choose the date and time promised to the customer")
    return at


def _reassign(p: DirectoryEntry, f: dict[str, str], directory: Directory) -> ReassignCase:
    """As the API's reassign route: the new owner must be a specialist in the directory."""
    wanted = f.get("assignee", "").strip()
    to = directory.by_id(wanted)
    if to is None or to.role != "specialist":
        raise ValueError(f"assignee: {wanted[:80]} is not a specialist in the directory")
    new_owner = to.as_person()
    return ReassignCase(actor=actor_of(p), to=new_owner, reason=f.get("reason", ""))


def captured(f: dict[str, str]) -> dict[str, Any]:
    """The capture questions' answers (`answer.<id>`) and the checklist's ticks (`check.<id>`),
    as the fields of the intake form and the case page's form name them, as `answers` and
    `checklist`; blank answers are no answers."""
    return {
        "answers": {
            k.removeprefix("answer."): v.strip()
            for k, v in f.items()
            if k.startswith("answer.") and v.strip()
        },
        "checklist": [
            k.removeprefix("check.") for k, v in f.items() if k.startswith("check.") and v
        ],
    }


def _answers(p: DirectoryEntry, f: dict[str, str]) -> AnswerQuestions:
    return AnswerQuestions(actor=actor_of(p), **captured(f))


def _reason(p: DirectoryEntry, f: dict[str, str]) -> Reason:
    return Reason(actor=actor_of(p), reason=f.get("reason", ""))


FORMS: dict[Action, Form] = {
    form.action: form
    for form in (
        Form(
            Action.CONSULT_ANSWER,
            "Answer the consult",
            "Send answer",
            (
                Field("answer", "Answer"),
                Field("resolves", "This answer resolves the case", "checkbox", required=False),
                Field(
                    "customer_message",
                    "If it resolves: what the customer is told (as the agent confirmed it)",
                    required=False,
                ),
            ),
            lambda p, f: ConsultAnswer(
                actor=actor_of(p),
                resolves=f.get("resolves") == "on",
                answer=f.get("answer", ""),
                customer_message=f.get("customer_message") or None,
            ),
        ),
        Form(Action.ACKNOWLEDGE, "Take ownership", "Acknowledge"),
        Form(
            Action.PROPOSE,
            "Propose a remedy",
            "Propose",
            (
                Field("kind", "Kind", "select", REMEDY_KINDS),
                Field("amount", "Amount", "number"),
                Field("currency", "Currency", "text", default="GBP"),
                Field("description", "Description", required=False),
            ),
            lambda p, f: Proposal(actor=actor_of(p), remedy=_remedy(f)),
        ),
        Form(
            Action.DECIDE,
            "Decide the approval",
            "Send decision",
            (
                Field("decision", "Decision", "select", ("approve", "reject")),
                Field("comment", "Comment", required=False),
            ),
            lambda p, f: Decision(
                actor=actor_of(p),
                decision=f.get("decision", ""),
                comment=f.get("comment", ""),
            ),
        ),
        Form(
            Action.REQUEST_INFO,
            "Ask the customer for information (pauses the SLA clocks)",
            "Send request",
            (Field("question", "Question"),),
            lambda p, f: InfoRequest(actor=actor_of(p), question=f.get("question", "")),
        ),
        Form(
            Action.CUSTOMER_CONTACT,
            "Record the customer's reply",
            "Record reply",
            (
                Field("message", "What the customer said"),
                Field("still_broken", "Still broken", "checkbox", required=False),
            ),
            lambda p, f: CustomerContact(
                actor=actor_of(p),
                message=f.get("message", ""),
                still_broken=f.get("still_broken") == "on",
            ),
        ),
        Form(
            Action.RESOLVE,
            "Resolve the case",
            "Resolve",
            (
                Field("outcome", "Outcome"),
                # options: the policy's root causes (the page passes them as `choices`)
                Field("root_cause", "Root cause", "select", required=False, blank="not given"),
                Field(
                    "avoidable",
                    "Was the trigger avoidable after all?",
                    "select",
                    ("", "yes", "no"),
                    required=False,
                    blank="as triaged",
                ),
            ),
            lambda p, f: ResolveCase(
                actor=actor_of(p),
                outcome=f.get("outcome", ""),
                root_cause=f.get("root_cause") or None,
                avoidable={"yes": True, "no": False}.get(f.get("avoidable", "")),
            ),
        ),
        Form(
            Action.CHANGE_SEVERITY,
            "Change severity",
            "Change severity",
            (
                Field("severity", "Severity", "select", ("P1", "P2", "P3", "P4")),
                Field("reason", "Reason", required=False),
            ),
            lambda p, f: SeverityChange(
                actor=actor_of(p),
                severity=f.get("severity", ""),
                reason=f.get("reason", ""),
            ),
        ),
        Form(
            Action.ANSWER_QUESTIONS,
            "Answer the policy's questions",
            "Save answers",
            build=_answers,
            template="case/_capture.html",
        ),
        Form(
            Action.ASK_ESCALATION,
            "The customer asks for escalation",
            "Send to the manager",
            (Field("reason", "The customer's reason, in their words"),),
            lambda p, f: EscalationAsk(actor=actor_of(p), reason=f.get("reason", "")),
        ),
        Form(
            Action.ADD_NOTE,
            "Add a note",
            "Add note",
            (Field("text", "Note"),),
            lambda p, f: AddNote(actor=actor_of(p), text=f.get("text", "")),
        ),
        Form(
            Action.REOPEN,
            "Reopen the case",
            "Reopen",
            (Field("reason", "Reason", required=False),),
            _reason,
        ),
        Form(
            Action.CANCEL,
            "Cancel the case",
            "Cancel case",
            (Field("reason", "Reason", required=False),),
            _reason,
        ),
        Form(
            Action.PROMISE_CALLBACK,
            "Promise a callback",
            "Promise callback",
            (
                Field("at", "When (your time zone)", "datetime"),
                Field("note", "Note", required=False),
            ),
            lambda p, f: CallbackPromise(actor=actor_of(p), at=_when(f), note=f.get("note", "")),
        ),
        Form(
            Action.CALLBACK_DONE,
            "Record a callback made",
            "Callback done",
            (
                Field("number", "Callback", "select", empty="No promised callback is open."),
                Field("note", "Note", required=False),
            ),
            lambda p, f: CallbackDone(
                actor=actor_of(p), number=int(f.get("number") or 0), note=f.get("note", "")
            ),
        ),
        Form(
            Action.REASSIGN,
            "Reassign to another specialist",
            "Reassign",
            (
                Field("assignee", "New owner", "select", empty="No other specialist is listed."),
                Field("reason", "Reason", required=False),
            ),
            _reassign,
            needs_directory=True,
        ),
        Form(
            Action.CHASE,
            "Chase the owner",
            "Chase",
            (Field("message", "Message to the owner"),),
            lambda p, f: ChaseOwner(actor=actor_of(p), message=f.get("message", "")),
        ),
        Form(
            Action.REQUEST_CONTRIBUTION,
            "Ask another team to contribute",
            "Ask team",
            (
                Field("team", "Team", "select", empty="The policy names no other team."),
                Field("question", "Question"),
                Field("within_h", "Business hours they have", "number", default="4"),
            ),
            lambda p, f: ContributionRequest(
                actor=actor_of(p),
                team=f.get("team", ""),
                question=f.get("question", ""),
                within_h=float(f.get("within_h") or 4),
            ),
        ),
        Form(
            Action.ANSWER_CONTRIBUTION,
            "Answer a contribution request",
            "Send contribution",
            (
                Field("number", "Request", "select", empty="No contribution request is open."),
                Field("answer", "Answer"),
            ),
            lambda p, f: ContributionAnswer(
                actor=actor_of(p), number=int(f.get("number") or 0), answer=f.get("answer", "")
            ),
        ),
    )
}


Choice = tuple[str, str]  # (value sent, words shown)


def _short(text: str, n: int = 60) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def choices(
    view: EscalationView, teams: list[str], directory: Directory | None, root_causes: list[str]
) -> dict[str, list[Choice]]:
    """The options of the selects that depend on the case, the policy or the directory, keyed
    `<action>.<field>`: what is open on the case, the policy's other teams, the specialists."""
    specialists = [
        (p.id, f"{p.name} ({p.team})" if p.team else p.name)
        for p in (directory.people if directory else [])
        if p.role == "specialist" and p.id != view.assignee
    ]
    return {
        "resolve.root_cause": [("", "not given")] + [(c, c.replace("_", " ")) for c in root_causes],
        "callback_done.number": [
            (str(c.number), f"{c.number}: {c.at:%a %d %b %H:%M} UTC {_short(c.note, 40)}".strip())
            for c in view.callbacks
            if c.done_at is None
        ],
        "request_contribution.team": [(t, t) for t in teams if t != view.assigned_team],
        "answer_contribution.number": [
            (str(c.number), f"{c.number}: {c.team}: {_short(c.question)}")
            for c in view.contributions
            if c.answer is None
        ],
        "reassign.assignee": specialists,
    }


def options(form: Form, f: Field, case_choices: dict[str, list[Choice]]) -> list[Choice]:
    """A select's options: its fixed ones, else the case's."""
    if f.options:
        return [(o, (o or f.blank).replace("_", " ")) for o in f.options]
    return case_choices.get(f"{form.action.value}.{f.name}", [])


def field_errors(form: Form, error: Exception) -> tuple[dict[str, str], str]:
    """A refused form's errors by field name (shown beside each field) and the rest, in words."""
    names = {f.name for f in form.fields}
    found: dict[str, str] = {}
    rest: list[str] = []
    if isinstance(error, ValidationError):
        for err in error.errors():
            loc = [str(x) for x in err["loc"]]
            name = next((x for x in loc if x in names), None)
            target = {"remedy": "amount", "to": "assignee"}.get(loc[0]) if loc else None
            name = name or (target if target in names else None)
            if name:
                found.setdefault(name, err["msg"])
            else:
                rest.append(f"{'.'.join(loc) or 'form'}: {err['msg']}")
    else:
        name, sep, msg = str(error).partition(": ")
        if sep and name in names:
            found[name] = msg
        else:
            rest.append(str(error))
    return found, "; ".join(rest)


def forms_for(person: DirectoryEntry, view: EscalationView) -> list[Form]:
    """The forms the access table lets this person use on the case as it is now. The approval
    form also needs the person's authority to cover the amount (the validator's own rule)."""
    out = []
    for form in FORMS.values():
        if role_refusal(form.action, person.role) or stage_refusal(form.action, view.stage):
            continue
        if form.action is Action.DECIDE and not may_decide(person, view):
            continue
        out.append(form)
    return out


def may_decide(person: DirectoryEntry, view: EscalationView) -> bool:
    pending = view.pending_approval
    return (
        pending is not None
        and role_refusal(Action.DECIDE, person.role) is None
        and person.authority_limit >= pending.required_authority
    )


def build(
    form: Form, person: DirectoryEntry, values: dict[str, Any], directory: Directory | None = None
) -> BaseModel:
    """The update argument (pydantic ValidationError or ValueError on bad input)."""
    fields = {k: str(v) for k, v in values.items()}
    if form.needs_directory:
        if directory is None:
            raise ValueError("the directory is not available")
        return form.build(person, fields, directory)
    return form.build(person, fields)
