"""The case page's action forms: which fields each action asks for, and how a submitted form
becomes the same update argument the API sends (api/actions.py). Which forms a reader sees is
the access table's answer for their role and the case's stage (workflows/access.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, get_args

from pydantic import BaseModel

from api.auth import actor_of
from core.directory import DirectoryEntry
from workflows.access import Action, role_refusal, stage_refusal
from workflows.models import (
    Acknowledge,
    AddNote,
    ConsultAnswer,
    CustomerContact,
    Decision,
    EscalationView,
    InfoRequest,
    Proposal,
    Reason,
    Remedy,
    RemedyKind,
    ResolveCase,
    SeverityChange,
)

REMEDY_KINDS: tuple[str, ...] = get_args(RemedyKind)


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    kind: str = "textarea"  # textarea, text, number, select, checkbox
    options: tuple[str, ...] = ()
    required: bool = True
    default: str = ""


@dataclass(frozen=True)
class Form:
    action: Action
    title: str
    button: str
    fields: tuple[Field, ...] = ()
    build: Callable[[DirectoryEntry, dict[str, str]], BaseModel] = field(
        default=lambda p, f: Acknowledge(actor=actor_of(p))
    )


def _remedy(f: dict[str, str]) -> Remedy:
    return Remedy(
        kind=f.get("kind", "refund"),  # type: ignore[arg-type]  # pydantic checks the literal
        amount=float(f.get("amount") or 0),
        currency=(f.get("currency") or "GBP").upper(),
        description=f.get("description", ""),
    )


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
                decision=f.get("decision", ""),  # type: ignore[arg-type]
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
            (Field("outcome", "Outcome"),),
            lambda p, f: ResolveCase(actor=actor_of(p), outcome=f.get("outcome", "")),
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
                severity=f.get("severity", ""),  # type: ignore[arg-type]
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


def build(form: Form, person: DirectoryEntry, values: dict[str, Any]) -> BaseModel:
    """The update argument (pydantic ValidationError or ValueError on bad input)."""
    return form.build(person, {k: str(v) for k, v in values.items()})
