"""The case page's action forms: which fields each action asks for, and how a submitted form
becomes the same update argument the API sends (api/actions.py). Which forms a reader sees is
the access table's answer for their role and the case's stage (workflows/access.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, get_args

from pydantic import BaseModel

from api.auth import actor_of
from core.directory import Directory, DirectoryEntry
from workflows.access import Action, role_refusal, stage_refusal
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
    InfoRequest,
    Proposal,
    Reason,
    ReassignCase,
    ResolveCase,
    SeverityChange,
)
from workflows.models import Person, Remedy, RemedyKind
from workflows.views import EscalationView

REMEDY_KINDS: tuple[str, ...] = get_args(RemedyKind)


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    kind: str = "textarea"  # textarea, text, number, select, checkbox
    options: tuple[str, ...] = ()
    required: bool = True
    default: str = ""
    blank: str = ""  # a select's words for its empty option ("" in `options`)


@dataclass(frozen=True)
class Form:
    action: Action
    title: str
    button: str
    fields: tuple[Field, ...] = ()
    build: Callable[..., BaseModel] = field(default=lambda p, f: Acknowledge(actor=actor_of(p)))
    needs_directory: bool = False  # build(person, values, directory): it names another person


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


def _when(text: str) -> datetime:
    """An ISO 8601 time; without an offset, UTC."""
    at = datetime.fromisoformat(text.strip())
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _reassign(p: DirectoryEntry, f: dict[str, str], directory: Directory) -> ReassignCase:
    """As the API's reassign route: the new owner must be a specialist in the directory."""
    wanted = f.get("assignee", "").strip()
    to = directory.by_id(wanted)
    if to is None or to.role != "specialist":
        raise ValueError(f"assignee: {wanted[:80]} is not a specialist in the directory")
    new_owner = Person.model_validate(to.model_dump(exclude={"token_hmac"}))
    return ReassignCase(actor=actor_of(p), to=new_owner, reason=f.get("reason", ""))


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
                Field("at", "When (ISO 8601, e.g. 2026-12-04T10:00+00:00; no offset: UTC)", "text"),
                Field("note", "Note", required=False),
            ),
            lambda p, f: CallbackPromise(
                actor=actor_of(p), at=_when(f.get("at", "")), note=f.get("note", "")
            ),
        ),
        Form(
            Action.CALLBACK_DONE,
            "Record a callback made",
            "Callback done",
            (Field("number", "Callback number", "number"), Field("note", "Note", required=False)),
            lambda p, f: CallbackDone(
                actor=actor_of(p), number=int(f.get("number") or 0), note=f.get("note", "")
            ),
        ),
        Form(
            Action.REASSIGN,
            "Reassign to another specialist",
            "Reassign",
            (
                Field("assignee", "Specialist's directory id", "text"),
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
                Field("team", "Team", "text"),
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
            (Field("number", "Request number", "number"), Field("answer", "Answer")),
            lambda p, f: ContributionAnswer(
                actor=actor_of(p), number=int(f.get("number") or 0), answer=f.get("answer", "")
            ),
        ),
    )
}


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
