"""Each stage's entry work and deadlines, run by the workflow's main loop (see `STAGE_WORK`).

A stage function does what entering the stage requires (notify, look up, route), then waits on
its deadline (a durable timer) for a transition; when the deadline passes it acts (re-route,
remind, raise, check in). The transition table is in workflows/stages.py.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from temporalio import workflow
from temporalio.exceptions import FailureError

with workflow.unsafe.imports_passed_through():
    from workflows import capture, opening, packet
    from workflows import clocks as clk
    from workflows.business_hours import add_business_seconds
    from workflows.escalation import actions, calls, capture_work, feedback, goodwill
    from workflows.messages import KbQuery, PeopleQuery
    from workflows.models import Person
    from workflows.policy import RouteRequest
    from workflows.stages import Stage, Wake

if TYPE_CHECKING:
    from workflows.escalation.workflow import EscalationWorkflow


async def consult(wf: EscalationWorkflow) -> None:
    """The help line is asked (with the knowledge base's matches) while the customer stays with
    the frontline; no answer within the window sends the case to a specialist."""
    s, p = wf.s, wf.policy
    epoch = wf.epoch
    if not any(e.action == "consult_requested" for e in s.timeline):
        wf.notify.customer("opened")
        try:
            kb = await calls.search_knowledge_base(
                KbQuery(category=s.request.category, text=s.request.summary)
            )
            s.kb_matches = kb.matches
        except FailureError as e:
            workflow.logger.warning("knowledge base unavailable: %s", e)
        wf.record_process(
            "consult_requested", "KB: " + ("; ".join(m.title for m in s.kb_matches) or "no match")
        )
        for person in await wf.people.find(PeopleQuery(roles=["helpline"])):
            wf.notify.staff(
                person,
                "consult_requested",
                stale=lambda: s.stage != Stage.HELPLINE_CONSULT,
                consult_window_min=f"{p.consult_window_min:g}",
            )
    if s.transfer_held_at is None:  # (held: the window passed in an earlier run)
        if await wf.wait(epoch, s.consult_due_at, "help-line consult window") is not Wake.TIMEOUT:
            return
        on_hours = s.opening_rules >= 1 and not opening.round_the_clock(p, s)
        hours = " of the help line's hours" if on_hours else ""
        wf.record_process(
            "consult_timed_out", f"no answer within {p.consult_window_min:g} minutes{hours}"
        )
    if not await held_for_answers(wf, epoch):
        wf.goto(Stage.SPECIALIST)


async def held_for_answers(wf: EscalationWorkflow, epoch: int) -> bool:
    """A case without the policy's required capture answers is not transferred: the opener (or,
    for a case a system opened, the manager) is told what is missing, and the case waits in the
    help-line stage until the answers come (`answer_questions`). Its SLA clocks keep running, so
    a case nobody answers for breaches and is raised like any other. True: something else moved
    the case (or it continues as new) while it waited."""
    s, p = wf.s, wf.policy
    if not capture.missing_for(p, s.request):
        return False
    if s.transfer_held_at is None:
        s.transfer_held_at = workflow.now()
        missing = capture_work.missing_texts(s, p)
        wf.record_process(
            "transfer_held", "a specialist needs these answers first: " + "; ".join(missing)
        )
        wf.spawn(tell_missing(wf, "; ".join(missing)), lookup=True)
    woke = await wf.wait(
        epoch,
        None,
        "the frontline's answers for the handover",
        extra=lambda: not capture.missing_for(p, s.request),
    )
    if woke is not Wake.CONDITION:
        return True
    s.transfer_held_at = None
    wf.record_process("transfer_released", "the required answers are in")
    return False


async def tell_missing(wf: EscalationWorkflow, missing: str) -> None:
    opener = capture_work.opener_to_tell(wf.s)
    if opener is not None:
        for person in await wf.people.find(PeopleQuery(roles=[opener.role])):
            if person.id == opener.id:
                wf.notify.staff(person, "answers_needed", missing=missing)
                return
    wf.notify.manager("answers_needed", missing=missing)


async def specialist(wf: EscalationWorkflow) -> None:
    """Routed to a specialist, who must acknowledge within the team's window; otherwise the case
    goes to the next one and the manager is told."""
    s = wf.s
    epoch = wf.epoch
    while wf.epoch == epoch:
        if s.assignee is None:
            await route(wf)
        if s.acknowledged:
            await wf.wait(epoch, None, "specialist works the case")
            return
        if s.ack_due_at is None:
            team = next((t for t in wf.policy.teams if t.name == s.assigned_team), None)
            minutes = team.acknowledge_within_min if team else 30
            if manager_first_response(wf):
                minutes, calendar = wf.policy.manager_first_response_min, "24x7"
            else:
                calendar = team.calendar if team else wf.policy.helpline_calendar
            s.ack_due_at = business_deadline(wf, calendar, minutes * 60)
            wf.notify.assignee(
                "transferred",
                ack_due=s.ack_due_at.isoformat(timespec="minutes"),
                handover=packet.handover_text(s, wf.policy),
            )
        woke = await wf.wait(
            epoch,
            s.ack_due_at,
            f"acknowledgement by {s.assignee_name}",
            extra=lambda: s.acknowledged,
        )
        if woke is Wake.TIMEOUT and not s.acknowledged:
            previous = s.assignee_name
            if s.assignee:
                s.previous_assignees.append(s.assignee)
            s.assignee = s.assignee_name = None
            s.ack_due_at = None
            await route(wf)
            wf.record_process(
                "reassigned", f"{previous} did not acknowledge in time; now {s.assignee_name}"
            )
            wf.notify.manager("reassigned", previous=previous, assignee=s.assignee_name)
        elif woke is Wake.CONTINUE_AS_NEW:
            return


async def route(wf: EscalationWorkflow) -> None:
    """A warm transfer: the team and member who fit, with everything captured so far; the
    manager when routing fails, or at once for a threat or P1 (opening.direct_to_manager). The
    SLA clocks move to the team's business hours."""
    s, p = wf.s, wf.policy
    if s.opening_rules >= 1:  # the handover and the approvers show the customer's past
        await goodwill.load(wf)
    team, person = await _pick(wf)
    if s.assignee is not None and workflow.patched("reassign-during-routing-wins"):
        return  # a manager reassigned the case while it was being routed: their choice stands
    wf.people.known[person.id] = person
    old_calendar = opening.default_calendar(p, s)
    s.assigned_team, s.assignee, s.assignee_name = team, person.id, person.name
    s.acknowledged = False
    s.ack_due_at = None
    follow_the_team_calendar(wf, old_calendar)
    wf.record_process(
        "transferred",
        f"to {person.name} ({team}). Handover: {s.request.summary}; "
        f"details: {s.request.details or '-'}; "
        f"requested {opening.money(s.request.requested_remedy)}; "
        f"help line: {s.consult_answer or 'no answer'}; notes: {max(s.notes_count, len(s.notes))}",
    )
    wf.mark_visibility()


MANAGEMENT_TEAM = "escalations-management"


def manager_first_response(wf: EscalationWorkflow) -> bool:
    """A case sent straight to the manager, still with them for its first response (once they
    miss it, it is routed like any other: `previous_assignees` then holds them)."""
    return wf.s.direct_to_manager and not wf.s.previous_assignees


async def _pick(wf: EscalationWorkflow) -> tuple[str, Person]:
    s, p = wf.s, wf.policy
    if manager_first_response(wf):
        return MANAGEMENT_TEAM, await wf.people.manager(p.manager_id)
    required = s.request.requested_remedy.amount if s.request.requested_remedy else 0
    try:
        r = await calls.route_specialist(
            RouteRequest(
                escalation_id=s.id,
                category=s.request.category,
                required_authority=required,
                exclude=s.previous_assignees,
                teams=p.teams,
                calendars=p.calendars,
                at=workflow.now(),
            )
        )
    except FailureError as e:
        person = await wf.people.manager(p.manager_id)
        wf.record_process("routing_failed", f"{e.cause or e}; assigned to the manager")
        return MANAGEMENT_TEAM, person
    return r.team, r.assignee


async def signoff(wf: EscalationWorkflow) -> None:
    """The approvers of the required level are asked; reminders at the policy's interval, and
    after the policy's reminders the approval moves one authority level up."""
    s, p = wf.s, wf.policy
    epoch = wf.epoch
    pending = s.pending_approval
    assert pending is not None  # entered only with a proposal pending (actions.propose)
    every = p.signoff.reminder_every_min * 60
    if pending.due_at is None:
        pending.due_at = business_deadline(wf, p.helpline_calendar, every)
        await wf.notify.approvers("approval_needed")
    while wf.epoch == epoch:
        if (
            await wf.wait(epoch, pending.due_at, f"sign-off by a {pending.level}")
            is not Wake.TIMEOUT
        ):
            return
        if pending.reminders_sent < p.signoff.reminders_before_raise or not actions.raise_approval(
            wf, "nobody decided in time"
        ):
            pending.reminders_sent += 1
            wf.record_process(
                "reminder_sent", f"to {pending.level}s (reminder {pending.reminders_sent})"
            )
            await wf.notify.approvers("reminder")
        pending.due_at = business_deadline(wf, p.helpline_calendar, every)


async def resolved(wf: EscalationWorkflow) -> None:
    """The customer is told the outcome: tier 1's grant in the policy's `tier1_granted` words;
    a help-line resolution in what the agent confirmed, else the policy's `helpline_resolved`
    (the help line's answer is advice to the agent, never sent as it is). A policy copy without
    those messages (older cases) uses `resolved`."""
    s, templates = wf.s, wf.policy.templates
    event = "resolved"
    if s.resolved_at_tier == "tier1" and "tier1_granted" in templates:
        event = "tier1_granted"
    elif s.resolved_at_tier == "helpline" and not s.customer_message:
        event = "helpline_resolved" if "helpline_resolved" in templates else event
    wf.notify.customer(event, outcome=s.outcome)
    wf.goto(Stage.FOLLOW_UP)


async def follow_up(wf: EscalationWorkflow) -> None:
    """Check-ins with the customer at the policy's times after resolution; then closed."""
    s, p = wf.s, wf.policy
    epoch = wf.epoch
    assert s.resolved_at is not None
    while s.check_ins_done < len(p.follow_up_h):
        due = s.resolved_at + timedelta(hours=p.follow_up_h[s.check_ins_done])
        if await wf.wait(epoch, due, f"check-in {s.check_ins_done + 1}") is not Wake.TIMEOUT:
            return
        s.check_ins_done += 1
        wf.record_process("check_in", f"check-in {s.check_ins_done} sent")
        wf.notify.customer("check_in", feedback=feedback.link(wf))
    until = opening.feedback_window(s, p)
    if until is not None and workflow.patched("p22b-feedback-window"):
        last = feedback.key(s, s.check_ins_done)
        woke = await wf.wait(
            epoch,
            until,
            "customer feedback on the last check-in",
            extra=lambda: feedback.answered(s, last),
        )
        if woke in (Wake.TRANSITION, Wake.CONTINUE_AS_NEW):
            return
    wf.record_process("closed", "last check-in done")
    wf.goto(Stage.CLOSED)


def business_deadline(wf: EscalationWorkflow, calendar: str, seconds: float) -> datetime:
    """A process deadline counted on business hours (wall clock for round-the-clock cases: P1
    or urgency immediate), so nobody is chased or bypassed overnight."""
    p = wf.policy
    spec = p.calendar("24x7" if opening.round_the_clock(p, wf.s) else calendar)
    return add_business_seconds(spec, workflow.now(), seconds)


STAGE_WORK: dict[Stage, Callable[[EscalationWorkflow], Awaitable[None]]] = {
    Stage.TIER1_EXCEPTION: goodwill.tier1,
    Stage.HELPLINE_CONSULT: consult,
    Stage.SPECIALIST: specialist,
    Stage.EXECUTIVE_SIGNOFF: signoff,
    Stage.RESOLVED: resolved,
    Stage.FOLLOW_UP: follow_up,
}


def follow_the_team_calendar(wf: EscalationWorkflow, old_calendar: str) -> None:
    """The case changed hands: its SLA clocks move to the new owner's team's business hours,
    keeping the business time already used."""
    s, p = wf.s, wf.policy
    new_calendar = opening.default_calendar(p, s)
    if new_calendar != old_calendar:
        for c in s.clocks:
            clk.rebase(
                c,
                new_calendar,
                p.calendar(c.calendar),
                p.calendar(new_calendar),
                opening.target_s(p, s, c.name),
                workflow.now(),
            )
        wf.sla.changed()
