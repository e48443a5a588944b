"""The warm-transfer handover packet: what a person taking a case over needs beyond the live
state, structured (the `handover` query, `GET /escalations/{id}/handover`) and as the transfer
message's text. Pure functions of the case and its policy."""

from __future__ import annotations

from workflows import capture
from workflows.models import EscalationState
from workflows.opening import customer_context, customer_summary, money
from workflows.policy import Policy
from workflows.views import CapturedAnswer, ChecklistStep, ClockCalendar, Handover, TeamHours


def handover(s: EscalationState, p: Policy | None) -> Handover:
    calendars = []
    for c in s.clocks:
        spec = p.calendar(c.calendar) if p else None
        calendars.append(
            ClockCalendar(
                clock=c.name,
                calendar=c.calendar,
                timezone=spec.timezone if spec else None,
                target_s=c.target_s,
            )
        )
    record = s.customer_record
    return Handover(
        details=s.request.details,
        triage_rule=s.triage_rule,
        triage_reason=s.triage_reason,
        consult_answer=s.consult_answer,
        kb_matches=list(s.kb_matches),
        notes=list(s.notes),
        assignee_name=s.assignee_name,
        acknowledged=s.acknowledged,
        calendars=calendars,
        request=s.request,
        opened_by=s.opened_by.name,
        opened_at=s.opened_at,
        severity=s.severity,
        urgency=s.urgency,
        consult_question=consult_question(s),
        customer_message=s.customer_message,
        notes_count=max(s.notes_count, len(s.notes)),
        customer=customer_context(s, p) if p and record is not None else None,
        previous_escalations=list(record.escalations) if record is not None else [],
        answers=[CapturedAnswer(question=q, answer=a) for q, a in capture.answered(p, s.request)]
        if p
        else [],
        checklist=[ChecklistStep(step=t, done=d) for t, d in capture.ticked(p, s.request)]
        if p
        else [],
        team_hours=team_hours(p) if p else [],
        callback_grace_min=p.callback_grace_min if p else None,
    )


def team_hours(p: Policy) -> list[TeamHours]:
    out = []
    for t in p.teams:
        spec = p.calendars.get(t.calendar)
        out.append(
            TeamHours(team=t.name, calendar=t.calendar, timezone=spec.timezone if spec else None)
        )
    return out


def consult_question(s: EscalationState) -> str | None:
    """What the help line was asked: the case as the frontline summarised it."""
    if s.consult_due_at is None:  # set when tier 1 handed the case to the help line
        return None
    return f"{s.request.category}: {s.request.summary}"


def handover_text(s: EscalationState, p: Policy) -> str:
    """The warm-transfer packet in a message (the handover query has it structured)."""
    req = s.request
    record = s.customer_record
    lines = [
        f"Captured by {s.opened_by.name} ({req.channel}): {req.summary}. "
        f"Details: {req.details or '-'}. Requested: {money(req.requested_remedy)}. "
        f"Trigger: {req.trigger}.",
        f"Triage: {s.triage_reason or s.severity}.",
    ]
    answers = capture.answered(p, req)
    if answers:
        lines.append("Answers: " + "; ".join(f"{q} {a}" for q, a in answers) + ".")
    steps = capture.ticked(p, req)
    if steps:
        done = [t for t, d in steps if d]
        lines.append(f"De-escalation: {len(done)} of {len(steps)} steps done.")
    question = consult_question(s)
    if question:
        lines.append(
            f"Help line asked: {question}; answer: {s.consult_answer or 'none (timed out)'}."
        )
    if s.kb_matches:
        lines.append("Knowledge base: " + "; ".join(m.title for m in s.kb_matches) + ".")
    if s.notes:
        lines.append(f"Notes ({max(s.notes_count, len(s.notes))}): " + " | ".join(s.notes[-3:]))
    lines.append(f"Customer: {customer_summary(s, p)}.")
    if record is not None:
        for past in record.escalations[:3]:
            lines.append(
                f"Previously {past.escalation_id} ({past.opened_at:%Y-%m-%d}, {past.trigger}): "
                f"{past.outcome or past.stage}."
            )
    return "\n".join(lines)
