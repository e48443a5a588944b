"""Contributions from other teams (issue 22): the case's owner asks another team a question with
its own deadline, carved from the case's remaining resolution time (a nested budget: it never
falls after the resolution clock's due time, and is pulled in when that clock's due time moves
earlier). The team answers (an update); unanswered by its deadline, the contribution is
breached: recorded, and the team's supervisors and the owner are told. Several may be open."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from workflows import clocks as clk
    from workflows import opening, timers
    from workflows.business_hours import add_business_seconds
    from workflows.escalation import guards
    from workflows.inputs import ContributionAnswer, ContributionRequest
    from workflows.messages import PeopleQuery
    from workflows.models import Contribution

if TYPE_CHECKING:
    from workflows.escalation.workflow import EscalationWorkflow


def _parent_due(wf: EscalationWorkflow) -> datetime | None:
    """When the resolution clock is due if it runs on from now (paused: as if resumed now)."""
    c = next((c for c in wf.s.clocks if c.name == "resolution"), None)
    if c is None or c.stopped_at is not None:
        return None
    if c.due_at is not None and not c.paused:
        return c.due_at
    spec = wf.policy.calendar(c.calendar)
    return add_business_seconds(spec, workflow.now(), clk.remaining(c, spec, workflow.now()))


def check_request(wf: EscalationWorkflow, u: ContributionRequest) -> None:
    s, p = wf.s, wf.policy
    if s.assignee != u.actor.id:
        raise guards.forbidden(f"only the case's owner, {s.assignee_name or 'nobody yet'}, asks")
    if not any(t.name == u.team for t in p.teams):
        names = ", ".join(t.name for t in p.teams)
        raise guards.invalid(f"team: not a team of the policy ({names})")
    if u.team == s.assigned_team:
        raise guards.invalid("team: the case's own team; ask another team")
    parent = _parent_due(wf)
    if parent is None or parent <= workflow.now():
        raise guards.conflict("the resolution clock has no time left to carve a deadline from")


def request(wf: EscalationWorkflow, u: ContributionRequest) -> None:
    s, p = wf.s, wf.policy
    team = next(t for t in p.teams if t.name == u.team)
    spec = p.calendar("24x7" if opening.round_the_clock(p, s) else team.calendar)
    asked = add_business_seconds(spec, workflow.now(), u.within_h * 3600)
    parent = _parent_due(wf)
    assert parent is not None  # the validator refused otherwise
    c = Contribution(
        number=len(s.contributions) + 1,
        team=u.team,
        question=u.question,
        asked_by=u.actor.name,
        asked_at=workflow.now(),
        due_at=min(asked, parent),
        capped=parent < asked,
    )
    s.contributions.append(c)
    capped = " (capped at the resolution clock's due time)" if c.capped else ""
    wf.record(
        u.actor,
        "contribution_requested",
        f"{c.number} to {c.team}, due {_when(c.due_at)}{capped}: {c.question}",
    )
    wf.mark_visibility()
    wf.spawn(_tell_team(wf, c, "contribution_requested"), lookup=True)
    wf.spawn(watch(wf, c))


def check_answer(wf: EscalationWorkflow, u: ContributionAnswer) -> None:
    c = next((c for c in wf.s.contributions if c.number == u.number), None)
    if c is None:
        raise guards.invalid(f"number: no contribution {u.number} on this case")
    if u.actor.role == "specialist" and u.actor.team != c.team:
        raise guards.forbidden(f"contribution {c.number} is asked of {c.team}")
    if c.answered_at is not None:
        raise guards.conflict(f"contribution {c.number} was already answered")


def answer(wf: EscalationWorkflow, u: ContributionAnswer) -> None:
    c = next(c for c in wf.s.contributions if c.number == u.number)
    c.answer, c.answered_by, c.answered_at = u.answer, u.actor.name, workflow.now()
    late = " (late)" if c.breached else ""
    wf.record(u.actor, "contribution_answered", f"{c.number} from {c.team}{late}: {u.answer}")
    wf.mark_visibility()
    wf.notify.assignee("contribution_answered", **_ctx(c), answer=u.answer)


async def watch(wf: EscalationWorkflow, c: Contribution) -> None:
    """One durable timer to the contribution's deadline, re-armed (never later) when the SLA
    clocks change."""
    while True:
        rev = wf.sla.rev
        parent = _parent_due(wf)
        if parent is not None and parent < c.due_at:
            c.due_at, c.capped = parent, True
            wf.record_process(
                "contribution_deadline_moved",
                f"{c.number} to {c.team} now due {_when(c.due_at)} (the resolution clock's)",
            )

        def over() -> bool:
            return c.answered_at is not None or wf.finished or wf.handing_over

        timeout = (c.due_at - workflow.now()).total_seconds()
        if timeout > 0:
            await timers.wait(
                lambda: over() or wf.sla.rev != rev,
                timeout,
                f"contribution {c.number} from {c.team}",
            )
        if over():
            return
        if wf.sla.rev != rev and workflow.now() < c.due_at:
            continue
        break
    c.breached = True
    wf.record_process(
        "contribution_breached", f"{c.number}: {c.team} did not answer by {_when(c.due_at)}"
    )
    wf.mark_visibility()
    wf.notify.assignee("contribution_breached", **_ctx(c))
    await _tell_team(wf, c, "contribution_breached", supervisors=True)


def resume(wf: EscalationWorkflow) -> None:
    for c in wf.s.contributions:
        if c.answered_at is None and not c.breached:
            wf.spawn(watch(wf, c))


async def _tell_team(
    wf: EscalationWorkflow, c: Contribution, event: str, supervisors: bool = False
) -> None:
    """The team's members; with `supervisors`, the supervisors of that team (all of them when
    the directory names none for it)."""
    if supervisors:
        found = await wf.people.find(PeopleQuery(roles=["supervisor"]))
        people = [p for p in found if p.team == c.team] or found
    else:
        people = await wf.people.find(PeopleQuery(roles=["specialist"], team=c.team))
    for person in people:
        wf.notify.staff(person, event, **_ctx(c))


def _ctx(c: Contribution) -> dict[str, Any]:
    return {
        "number": str(c.number),
        "team": c.team,
        "question": c.question,
        "contribution_due": _when(c.due_at),
    }


def _when(at: datetime) -> str:
    return at.isoformat(timespec="minutes")
