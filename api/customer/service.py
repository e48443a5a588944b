"""What the customer's pages show, read from the case and the live policy, and what the customer
adds, sent as the same `customer_contact` update the frontline records (with the customer as
the actor). Staff names, e-mail addresses and internal notes never reach these pages: the
timeline is translated entry by entry from a list of what a customer is told, and anything not
on the list is left out.
"""

from __future__ import annotations

import time as clock
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any, get_args

from temporalio.client import Client

from api.cases import service as cases
from api.customer.schemas import (
    AddedInformation,
    CustomerEntry,
    CustomerStatus,
    DayHours,
    EscalationAskBody,
    Hours,
    PublicHours,
    SeverityTargets,
)
from api.errors import Conflict, TooManyRequests
from core.status_links import StatusClaim
from workflows.access import Action
from workflows.escalation.capture_work import ASK_AGAIN_AFTER
from workflows.inputs import CustomerContact, EscalationAsk
from workflows.models import Actor, Channel
from workflows.policy import WEEKDAYS, CalendarSpec, Policy
from workflows.stages import FINAL_STAGES, Stage
from workflows.views import EscalationView

DAY_NAMES = dict(
    zip(
        WEEKDAYS,
        ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
        strict=True,
    )
)
OPEN_STAGES = (
    Stage.TRIAGE,
    Stage.TIER1_EXCEPTION,
    Stage.HELPLINE_CONSULT,
    Stage.SPECIALIST,
    Stage.EXECUTIVE_SIGNOFF,
)
RESOLVED = (Stage.RESOLVED, Stage.FOLLOW_UP)

WHERE: dict[str, str] = {
    Stage.TRIAGE: "We have received it and are looking at how urgent it is.",
    Stage.TIER1_EXCEPTION: "We are checking whether we can put it right straight away.",
    Stage.HELPLINE_CONSULT: "Our support team is looking into it.",
    Stage.SPECIALIST: "A specialist in our {team} team is working on it.",
    Stage.EXECUTIVE_SIGNOFF: "A remedy is waiting for a senior manager's approval.",
    Stage.RESOLVED: "It is resolved.",
    Stage.FOLLOW_UP: "It is resolved; we will check in with you to make sure it stays that way.",
    Stage.CLOSED: "It is closed.",
    Stage.CANCELLED: "It is closed.",
    Stage.TERMINATED: "It is closed. Contact us if you still need help.",
}

# What a customer is told of each timeline entry; `{detail}` only where the detail is theirs or
# was written to them (their own words, our question to them).
TOLD: dict[str, str] = {
    "opened": "We received your escalation.",
    "transferred": "Your case went to a specialist team.",
    "acknowledged": "A specialist took your case.",
    "ownership_taken": "A specialist took your case.",
    "info_requested": "We asked you: {detail}",
    "customer_contact": "{who}: {detail}",
    "escalation_asked": "You asked for your case to be escalated: {detail}",
    "approval_granted": "A remedy was approved.",
    "resolved": "Your case was resolved.",
    "reopened": "Your case was reopened.",
    "callback_promised": "We promised to call you back.",
    "callback_done": "We called you back.",
    "feedback_received": "Thank you for your feedback.",
    "closed": "Your case was closed.",
    "cancelled": "Your case was closed.",
}


def _team_words(team: str | None) -> str:
    return team.removesuffix("-specialists").replace("-", " ") if team else "support"


def hours_of(policy: Policy, name: str, who: str) -> Hours:
    spec: CalendarSpec = policy.calendar(name)
    if spec.always_open:
        return Hours(who=who, timezone="UTC", round_the_clock=True)
    days = [
        DayHours(day=DAY_NAMES[d], opens=spec.hours[d][0], closes=spec.hours[d][1])
        if d in spec.hours
        else DayHours(day=DAY_NAMES[d])
        for d in WEEKDAYS
    ]
    return Hours(who=who, timezone=spec.timezone, days=days)


def _hours_for(policy: Policy, team: str | None) -> Hours:
    found = next((t for t in policy.teams if t.name == team), None)
    if found is None:
        return hours_of(policy, policy.helpline_calendar, "Our support team")
    return hours_of(policy, found.calendar, f"Our {_team_words(team)} team")


def _entry(action: str, role: str, detail: str) -> str | None:
    words = TOLD.get(action)
    if words is None:
        return None
    who = "You added" if role == "customer" else "You told us"
    return words.format(detail=detail, who=who)


def status_of(
    view: EscalationView, timeline: list[Any], policy: Policy, claim: StatusClaim
) -> CustomerStatus:
    stage = Stage(view.stage)
    first = next((c for c in view.clocks if c.name == "first_response"), None)
    entries = [
        CustomerEntry(at=e.at, what=what)
        for e in timeline
        if (what := _entry(e.action, e.role, e.detail)) is not None
    ]
    return CustomerStatus(
        escalation_id=view.id,
        summary=view.summary,
        stage=stage.value,
        where=WHERE[stage].format(team=_team_words(view.assigned_team)),
        who=_team_words(view.assigned_team),
        promise_at=view.promise_at if stage in OPEN_STAGES else None,
        next_answer_by=first.due_at
        if first and first.met_at is None and stage in OPEN_STAGES
        else None,
        outcome=view.outcome if stage in RESOLVED or stage in FINAL_STAGES else None,
        open=stage not in FINAL_STAGES,
        resolved=stage in RESOLVED,
        hours=_hours_for(policy, view.assigned_team),
        timeline=entries,
        link_expires_at=claim.expires_at,
        escalation_asked_at=asked if (asked := view.escalation_asked_at) else None,
        can_ask_escalation=stage in OPEN_STAGES and not recently(asked),
    )


def recently(asked: datetime | None) -> bool:
    """Asked within the hour the workflow refuses a second ask in (capture_work.ASK_AGAIN_AFTER)."""
    return asked is not None and datetime.now(UTC) - asked < ASK_AGAIN_AFTER


class AddLimit:
    """At most `burst` additions per case, refilled at one per `per_s`: a flood from a link
    cannot fill a case's timeline or keep its workflow busy (per API process)."""

    def __init__(self, burst: int = 10, per_s: float = 360.0) -> None:
        self.burst, self.per_s = burst, per_s
        self._left: dict[str, tuple[float, float]] = defaultdict(lambda: (float(burst), 0.0))

    def take(self, escalation_id: str) -> None:
        now = clock.monotonic()
        left, at = self._left[escalation_id]
        left = min(self.burst, left + (now - at) / self.per_s) if at else left
        if left < 1:
            e = TooManyRequests(
                "You have added a lot to this case in a short time; we have it all. Please "
                "wait a few minutes before adding more, or contact us on any channel."
            )
            e.retry_after = int(self.per_s * (1 - left)) + 1
            raise e
        self._left[escalation_id] = (left - 1, now)


async def add_information(
    client: Client, view: EscalationView, body: AddedInformation
) -> EscalationView:
    if Stage(view.stage) in FINAL_STAGES:
        raise Conflict("This case is closed; to raise something new, contact us on any channel.")
    actor = Actor(id=f"customer:{view.customer.id}", name=view.customer.name, role="customer")
    arg = CustomerContact(
        actor=actor,
        message=body.message,
        still_broken=body.still_broken and Stage(view.stage) in RESOLVED,
    )
    return await cases.run_update(client, view.id, Action.CUSTOMER_CONTACT, arg, actor.id, None)


async def ask_escalation(
    client: Client, view: EscalationView, body: EscalationAskBody
) -> EscalationView:
    """ "I want this escalated": recorded on the case and sent to the escalated-accounts
    manager with the customer's reason (the workflow's `ask_escalation`)."""
    stage = Stage(view.stage)
    if stage in FINAL_STAGES:
        raise Conflict("This case is closed; to raise something new, contact us on any channel.")
    if stage in RESOLVED:
        raise Conflict(
            "This case is resolved. If the problem is back, tell us it is still broken and we "
            "reopen it."
        )
    actor = Actor(id=f"customer:{view.customer.id}", name=view.customer.name, role="customer")
    arg = EscalationAsk(actor=actor, reason=body.reason)
    return await cases.run_update(client, view.id, Action.ASK_ESCALATION, arg, actor.id, None)


def public_hours(policy: Policy) -> PublicHours:
    targets = [
        SeverityTargets(
            severity=t.severity,
            first_response_h=t.first_response_h,
            resolution_h=t.resolution_h,
            round_the_clock=t.calendar == "24x7",
        )
        for t in policy.sla
        if t.tier == "*"
    ]
    teams = [hours_of(policy, policy.helpline_calendar, "Our support team")] + [
        hours_of(policy, t.calendar, f"Our {_team_words(t.name)} team") for t in policy.teams
    ]
    return PublicHours(
        channels=list(get_args(Channel)),
        teams=teams,
        targets=targets,
        policy_version=policy.version,
    )
