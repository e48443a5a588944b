"""What each action does to the case, once its validator has let it in (workflow.py). Each
records the fact on the timeline and, where the fact decides the next stage, moves the case."""

from __future__ import annotations

from typing import TYPE_CHECKING

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from workflows import clocks as clk
    from workflows import opening, rules
    from workflows.inputs import (
        Acknowledge,
        ConsultAnswer,
        CustomerContact,
        Decision,
        InfoRequest,
        Proposal,
        Reason,
        ResolveCase,
        SeverityChange,
    )
    from workflows.messages import PeopleQuery
    from workflows.models import Actor, PendingApproval
    from workflows.stages import Stage

if TYPE_CHECKING:
    from workflows.escalation.workflow import EscalationWorkflow


HELPLINE_OUTCOME = "Resolved by the frontline with the help line's advice"


def consult_answer(wf: EscalationWorkflow, u: ConsultAnswer) -> None:
    """The answer is advice to the frontline: relayed to the agent who asked, kept for the
    handover; the customer hears only what the agent confirmed (`customer_message`) or the
    policy's `helpline_resolved` message (stage_work.resolved)."""
    s = wf.s
    wf.record(u.actor, "consult_answered", u.answer)
    s.consult_answer = u.answer
    if s.opened_by.role == "agent" and workflow.patched("p22a-answer-relayed-to-agent"):
        wf.spawn(relay_answer(wf, u.answer))
    if u.resolves:
        s.customer_message = u.customer_message
        wf.resolve_case("helpline", u.customer_message or HELPLINE_OUTCOME, u.actor)
    else:
        wf.goto(Stage.SPECIALIST)  # the main loop routes the case, then settles


async def relay_answer(wf: EscalationWorkflow, answer: str) -> None:
    """A staff message to the agent who opened the case, with the knowledge-base matches."""
    agent_id = wf.s.opened_by.id
    found = await wf.people.find(PeopleQuery(roles=["agent"]))
    for person in found:
        if person.id == agent_id:
            wf.notify.staff(person, "consult_answered", answer=answer)
            return
    wf.record_process("notification_failed", f"consult_answered: agent {agent_id} not found")


def acknowledge(wf: EscalationWorkflow, u: Acknowledge) -> None:
    s = wf.s
    if s.assignee != u.actor.id:
        wf.record(u.actor, "ownership_taken", f"from {s.assignee_name or 'nobody'}")
        s.assignee, s.assignee_name = u.actor.id, u.actor.name
    s.acknowledged = True
    s.ack_due_at = None
    wf.record(u.actor, "acknowledged")
    c = opening.clock(s, "first_response")
    clk.stop(c, wf.policy.calendar(c.calendar), workflow.now())
    wf.sla.changed()
    wf.mark_visibility()
    wf.notify.customer("acknowledged")


def request_info(wf: EscalationWorkflow, u: InfoRequest) -> None:
    """The customer is asked; the SLA clocks pause until they answer."""
    wf.s.waiting_on_customer = True
    wf.record(u.actor, "info_requested", u.question)
    for c in wf.s.clocks:
        clk.pause(c, wf.policy.calendar(c.calendar), workflow.now())
    wf.sla.changed()
    wf.notify.customer("info_requested", question=u.question)


def customer_contact(wf: EscalationWorkflow, u: CustomerContact) -> None:
    """The clocks resume; "still broken" after resolution reopens the case."""
    s = wf.s
    wf.record(
        u.actor, "customer_contact", u.message + (" (still broken)" if u.still_broken else "")
    )
    if s.waiting_on_customer:
        s.waiting_on_customer = False
        for c in s.clocks:
            clk.resume(c, wf.policy.calendar(c.calendar), workflow.now())
        wf.sla.changed()
    if u.still_broken and s.stage in (Stage.RESOLVED, Stage.FOLLOW_UP):
        reopen(wf, u.actor, "customer reports it is still broken")


def propose(wf: EscalationWorkflow, u: Proposal) -> None:
    """Within the specialist's authority: granted and resolved. Otherwise it waits for sign-off
    by the lowest level that covers it (or higher, after a breach raised the authority)."""
    s, p = wf.s, wf.policy
    s.proposal = u.remedy
    wf.record(u.actor, "proposal_made", opening.money(u.remedy))
    needed = rules.signoff_required(p, u.remedy, s.request, u.actor.authority_limit)
    if needed is None:
        s.granted_remedy = u.remedy
        wf.resolve_case("specialist", f"Granted {opening.money(u.remedy)}", u.actor)
        return
    idx = max(rules.level_index_for(p, needed), min(s.authority_level, len(p.signoff.levels) - 1))
    s.pending_approval = PendingApproval(
        remedy=u.remedy,
        required_authority=needed,
        level=rules.level(p, idx).role,
        since=workflow.now(),
        proposed_by=u.actor.name,
        proposed_by_id=u.actor.id,
    )
    wf.goto(Stage.EXECUTIVE_SIGNOFF)


def decide(wf: EscalationWorkflow, u: Decision) -> None:
    s = wf.s
    pending = s.pending_approval
    assert pending is not None  # the validator refused otherwise
    s.pending_approval = None
    if u.decision == "approve":
        wf.record(
            u.actor, "approval_granted", f"{opening.money(pending.remedy)}. {u.comment}".strip()
        )
        s.granted_remedy = pending.remedy
        wf.resolve_case("executive", f"Approved {opening.money(pending.remedy)}", u.actor)
    else:
        wf.record(u.actor, "approval_rejected", u.comment)
        s.proposal = None
        wf.goto(Stage.SPECIALIST)


def resolve(wf: EscalationWorkflow, u: ResolveCase) -> None:
    """The owner resolves: the root cause and whether the trigger was avoidable after all are
    recorded first (the report store reads them from the state)."""
    s = wf.s
    if u.root_cause is not None or u.avoidable is not None:
        s.root_cause = u.root_cause or s.root_cause
        triaged = s.avoidable
        if u.avoidable is not None:
            s.avoidable = u.avoidable  # the Avoidable search attribute follows with the move
        avoidable = "unknown" if s.avoidable is None else "yes" if s.avoidable else "no"
        wf.record(
            u.actor,
            "root_cause_recorded",
            f"{s.root_cause or 'not given'}; avoidable after all: {avoidable}"
            + (" (triaged otherwise)" if triaged is not None and triaged != s.avoidable else ""),
        )
    wf.resolve_case("specialist", u.outcome, u.actor)


def reopen(wf: EscalationWorkflow, actor: Actor, reason: str) -> None:
    """Back to a specialist, one severity higher, with a fresh resolution clock."""
    s = wf.s
    s.reopen_count += 1
    s.resolved_at_tier = s.outcome = s.resolved_at = None
    s.root_cause = None  # the next resolution names its own
    s.granted_remedy = None
    s.proposal = None
    s.acknowledged = False
    s.ack_due_at = None
    wf.record(actor, "reopened", reason)
    s.severity = rules.raise_severity(s.severity) if s.severity else s.severity
    now = workflow.now()
    cal = opening.default_calendar(wf.policy, s)
    s.clocks = [c for c in s.clocks if c.name != "resolution"] + [
        clk.start(
            "resolution",
            cal,
            wf.policy.calendar(cal),
            opening.target_s(wf.policy, s, "resolution"),
            now,
        )
    ]
    wf.sla.changed()
    wf.goto(Stage.SPECIALIST)
    wf.notify.customer("reopened")


def cancel(wf: EscalationWorkflow, u: Reason) -> None:
    s = wf.s
    wf.record(u.actor, "cancelled", u.reason)
    s.pending_approval = None
    for c in s.clocks:
        clk.stop(c, wf.policy.calendar(c.calendar), workflow.now())
    wf.goto(Stage.CANCELLED)
    wf.notify.customer("cancelled", reason=u.reason)


def change_severity(wf: EscalationWorkflow, u: SeverityChange) -> None:
    """Re-targets the SLA clocks, keeping the business time already used."""
    s, p = wf.s, wf.policy
    old = s.severity
    s.severity = u.severity
    wf.record(u.actor, "severity_changed", f"{old} -> {u.severity}: {u.reason}".rstrip(": "))
    cal = opening.default_calendar(p, s)
    for c in s.clocks:
        clk.rebase(
            c,
            cal,
            p.calendar(c.calendar),
            p.calendar(cal),
            opening.target_s(p, s, c.name),
            workflow.now(),
        )
    wf.sla.changed()
    wf.mark_visibility()


def raise_approval(wf: EscalationWorkflow, reason: str) -> bool:
    """Move a pending approval one authority level up; False at the top already."""
    p, pending = wf.policy, wf.s.pending_approval
    assert pending is not None
    roles = [lvl.role for lvl in p.signoff.levels]
    idx = roles.index(pending.level) if pending.level in roles else 0
    if idx + 1 >= len(roles):
        return False
    pending.level = roles[idx + 1]
    pending.reminders_sent = 0
    s = wf.s  # a later proposal on the case starts at this level too
    s.authority_level = max(s.authority_level, idx + 1)
    wf.record_process("authority_raised", f"approval moved to {pending.level}: {reason}")
    wf.spawn(wf.notify.approvers("authority_raised", reason=reason), lookup=True)
    if workflow.patched("console2-pending-attributes"):  # PendingLevel follows the approval
        wf.mark_visibility()
    return True
