"""Managers steer a case's ownership (issue 22): reassign it to another specialist (who must
acknowledge it again: the acknowledgement window restarts), or chase its owner (a staff
message, recorded)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from workflows import opening
    from workflows.escalation import guards, stage_work
    from workflows.inputs import ChaseOwner, ReassignCase
    from workflows.messages import PeopleQuery
    from workflows.models import Person

if TYPE_CHECKING:
    from workflows.escalation.workflow import EscalationWorkflow


def check_reassign(wf: EscalationWorkflow, u: ReassignCase) -> None:
    if u.to.role != "specialist":
        raise guards.invalid(f"assignee: {u.to.name} is a {u.to.role}, not a specialist")
    if u.to.id == wf.s.assignee:
        raise guards.conflict(f"the case is already assigned to {u.to.name}")


def reassign(wf: EscalationWorkflow, u: ReassignCase) -> None:
    """The new owner is told as on a transfer, and has the team's window to acknowledge; the
    SLA clocks move to the new team's hours when the team changes."""
    s, p = wf.s, wf.policy
    previous = s.assignee_name or "nobody"
    if s.assignee:
        s.previous_assignees.append(s.assignee)
    old_calendar = opening.default_calendar(p, s)
    s.assigned_team = u.to.team or s.assigned_team
    s.assignee, s.assignee_name = u.to.id, u.to.name
    s.acknowledged, s.ack_due_at = False, None
    wf.people.known[u.to.id] = u.to
    stage_work.follow_the_team_calendar(wf, old_calendar)
    detail = f"from {previous} to {u.to.name} ({s.assigned_team})"
    wf.record(u.actor, "reassigned", detail + (f": {u.reason}" if u.reason else ""))
    wf.moved()  # same stage: its work runs again (the new owner told, the window restarts)


def check_chase(wf: EscalationWorkflow, u: ChaseOwner) -> None:
    if wf.s.assignee is None:
        raise guards.conflict("the case has no owner to chase yet")


def chase(wf: EscalationWorkflow, u: ChaseOwner) -> None:
    s = wf.s
    wf.record(u.actor, "owner_chased", f"{s.assignee_name}: {u.message}")
    owner, by = s.assignee, u.actor.name

    async def tell() -> None:
        person: Person | None = wf.people.known.get(owner or "")
        if person is None:  # a new run (continue-as-new) knows nobody yet
            found = await wf.people.find(PeopleQuery(roles=["specialist", "manager"]))
            person = next((p for p in found if p.id == owner), None)
        if person is not None:
            wf.notify.staff(person, "chased", message=u.message, chased_by=by)

    wf.spawn(tell(), lookup=True)
