"""The opening of an escalation and its read view, as pure functions.

Opening = record the request, triage it, start the SLA clocks and run the tier-1 exception
check. It depends only on the request, the policy copy and the opening time, so the API runs
the very same functions to answer `POST /escalations` at once, and the workflow (started with
that policy copy and that time) holds the same state: severity, clocks and `promise_at` agree to
the microsecond. No Temporal calls here; the workflow wraps these with its own bookkeeping.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes

from workflows import capture, rules
from workflows import clocks as clk
from workflows import search_attributes as sa
from workflows.business_hours import add_business_seconds
from workflows.inputs import StartEscalation
from workflows.models import (
    Actor,
    Clock,
    EscalationRequest,
    EscalationState,
    Remedy,
    Severity,
    Tier,
    TimelineEntry,
)
from workflows.policy import Policy
from workflows.stages import Stage, check_transition
from workflows.views import ClockView, CustomerContext, EscalationView, PendingApprovalView

WORKFLOW_ACTOR = Actor(id="workflow", name="Escalation process", role="system")
# The opening rules new cases get (StartEscalation.opening_rules); running cases keep theirs.
OPENING_RULES = 2  # 2: the customer's words are read (workflows/escalation/reading.py)


def money(r: Remedy | None) -> str:
    return f"{r.kind.replace('_', ' ')} {r.amount:g} {r.currency}" if r else "nothing"


# What one case holds is bounded, whatever is sent to it: the state travels in every
# continue-as-new input (2 MB at most in Temporal) and in every state query. The timeline keeps its
# first entries (the opening) and its latest; notes are counted, the latest kept whole.
TIMELINE_KEPT = 400
TIMELINE_HEAD = 10
NOTES_KEPT = 20
DETAIL_CHARS = 2000


def record(s: EscalationState, actor: Actor, action: str, detail: str, now: datetime) -> None:
    s.timeline.append(
        TimelineEntry(
            at=now,
            actor=actor.name,
            role=actor.role,
            action=action,
            stage=s.stage,
            detail=detail[:DETAIL_CHARS],
        )
    )
    if len(s.timeline) > TIMELINE_KEPT:
        del s.timeline[TIMELINE_HEAD]
        s.timeline_elided += 1
    s.updated_at = now


def numbered(entries: list[TimelineEntry], elided: int) -> list[tuple[int, TimelineEntry]]:
    """Each kept timeline entry with its position among all the case ever recorded (record()
    keeps the first TIMELINE_HEAD entries and the latest, and counts those dropped between)."""
    return [(i if i < TIMELINE_HEAD else i + elided, e) for i, e in enumerate(entries)]


def add_note(s: EscalationState, actor: Actor, text: str, now: datetime) -> None:
    s.notes.append(text)
    del s.notes[:-NOTES_KEPT]
    s.notes_count += 1
    record(s, actor, "note_added", text, now)


def move(s: EscalationState, target: Stage, now: datetime) -> None:
    """Move the case to `target`; a move the stage table does not list raises
    IllegalTransition (workflows/stages.py)."""
    check_transition(s.stage, target)
    s.stage = target
    s.updated_at = s.stage_entered_at = now


def triaged(s: EscalationState) -> Severity:
    """The severity of a triaged case (the opening triages before anything reads it)."""
    if s.severity is None:
        raise ValueError(f"{s.id} is not triaged yet")
    return s.severity


def clock(s: EscalationState, name: str) -> Clock:
    return next(c for c in s.clocks if c.name == name)


def default_calendar(p: Policy, s: EscalationState) -> str:
    """The calendar SLA clocks count on: the target's own, else the assigned team's, else the
    help line's."""
    target = rules.sla_target(p, triaged(s), s.request.customer.tier)
    if target.calendar:
        return target.calendar
    team = next((t for t in p.teams if t.name == s.assigned_team), None)
    return team.calendar if team else p.helpline_calendar


def target_s(p: Policy, s: EscalationState, name: str) -> float:
    t = rules.sla_target(p, triaged(s), s.request.customer.tier)
    if name == "first_response" and s.direct_to_manager:
        return min(t.first_response_h * 3600, p.manager_first_response_min * 60)
    return (t.first_response_h if name == "first_response" else t.resolution_h) * 3600


def promise_at(s: EscalationState) -> datetime | None:
    """What an agent may honestly promise: the resolution clock's due time while it runs."""
    resolution = next((c for c in s.clocks if c.name == "resolution"), None)
    return resolution.due_at if resolution and not resolution.stopped_at else None


def triage(s: EscalationState, p: Policy, now: datetime) -> None:
    t = rules.triage(p, s.request)
    s.severity, s.urgency, s.avoidable = t.severity, t.urgency, t.avoidable
    s.triage_rule, s.triage_reason = t.rule, t.why
    s.policy_version = p.version
    cal = default_calendar(p, s)
    s.clocks = [
        clk.start(name, cal, p.calendar(cal), target_s(p, s, name), now)
        for name in ("first_response", "resolution")
    ]
    s.promise_at = promise_at(s)
    record(
        s,
        WORKFLOW_ACTOR,
        "triaged",
        f"{t.severity}, urgency {t.urgency}, "
        f"{'avoidable' if t.avoidable else 'unavoidable'} trigger {s.request.trigger}"
        + (f"; {t.why}" if s.opening_rules >= 1 else ""),
        now,
    )
    move(s, Stage.TIER1_EXCEPTION, now)


def resolve(
    s: EscalationState, p: Policy, tier: Tier, outcome: str, actor: Actor, now: datetime
) -> None:
    s.resolved_at_tier, s.outcome, s.resolved_at = tier, outcome, now
    s.pending_approval = None
    s.waiting_on_customer = False
    s.check_ins_done = 0
    for c in s.clocks:
        clk.stop(c, p.calendar(c.calendar), now)
    s.promise_at = promise_at(s)
    record(s, actor, "resolved", f"at {tier}: {outcome}", now)
    move(s, Stage.RESOLVED, now)


def round_the_clock(p: Policy, s: EscalationState) -> bool:
    """Staff deadlines and messages ignore business and quiet hours: a round-the-clock severity
    (P1), or (cases opened under issue 22's rules) urgency `immediate`."""
    return rules.round_the_clock(p, s.severity, s.urgency if s.opening_rules >= 1 else None)


def consult_deadline(p: Policy, s: EscalationState, now: datetime) -> datetime:
    """The end of the help line's consult window: counted on the help line's business hours, so
    a consult asked out of hours waits for the help line to open instead of timing out unread;
    wall clock on round-the-clock severities (P1), whoever is on call."""
    cal = "24x7" if round_the_clock(p, s) else p.helpline_calendar
    return add_business_seconds(p.calendar(cal), now, p.consult_window_min * 60)


def tier1(s: EscalationState, p: Policy, now: datetime, rules_version: int = OPENING_RULES) -> None:
    """The tier-1 exception check: grant within the frontline's authority (resolved at tier 1),
    or hand the case to the help line, whose consult window starts now."""
    if rules_version >= 1 and direct_to_manager(p, s, now):
        return
    allowed, why = rules.tier1_decision(p, s.request, s.opened_by if rules_version >= 1 else None)
    if allowed and rules_version >= 1 and p.goodwill_budget_per_year is not None:
        return  # stays in tier1_exception: the workflow checks the goodwill budget (goodwill.py)
    if allowed:
        grant_tier1(s, p, why, now)
    else:
        decline_tier1(s, p, why, now, rules_version)


def grant_tier1(s: EscalationState, p: Policy, why: str, now: datetime) -> None:
    s.granted_remedy = s.request.requested_remedy
    record(s, WORKFLOW_ACTOR, "tier1_granted", why, now)
    resolve(s, p, "tier1", f"Granted {money(s.granted_remedy)} at tier 1", s.opened_by, now)


def decline_tier1(
    s: EscalationState, p: Policy, why: str, now: datetime, rules_version: int = OPENING_RULES
) -> None:
    """Beyond tier 1: the help line is asked, and its consult window starts now."""
    record(s, WORKFLOW_ACTOR, "tier1_declined", why, now)
    move(s, Stage.HELPLINE_CONSULT, now)
    if rules_version >= 1:
        s.consult_due_at = consult_deadline(p, s, now)
    else:
        s.consult_due_at = now + timedelta(minutes=p.consult_window_min)


def direct_to_manager(p: Policy, s: EscalationState, now: datetime) -> bool:
    """A threat or P1 skips tier 1 and the help-line queue: straight to the escalated-accounts
    manager, whose first response is counted in wall-clock minutes (the first-response clock is
    re-targeted; the acknowledgement window is the same minutes, stage_work.specialist)."""
    req = s.request
    if req.trigger in p.manager_direct_triggers:
        why = f"trigger {req.trigger}"
    elif s.severity in p.manager_direct_severities:
        why = f"severity {s.severity}"
    else:
        return False
    s.direct_to_manager = True
    c = clock(s, "first_response")
    clk.rebase(c, "24x7", p.calendar(c.calendar), p.calendar("24x7"), target_s(p, s, c.name), now)
    s.promise_at = promise_at(s)
    record(
        s,
        WORKFLOW_ACTOR,
        "tier1_declined",
        f"{why}: straight to the escalated-accounts manager, first response within "
        f"{p.manager_first_response_min:g} minutes",
        now,
    )
    move(s, Stage.SPECIALIST, now)
    return True


def open_case(p: Policy, start: StartEscalation, now: datetime) -> EscalationState:
    """The state of a new escalation once triaged and through the tier-1 check (stage
    `helpline_consult`, or `resolved` when tier 1 granted the remedy)."""
    s = EscalationState(
        id=start.id,
        request=start.request,
        opened_by=start.opened_by,
        opened_at=now,
        updated_at=now,
        opening_rules=start.opening_rules,
    )
    record(s, start.opened_by, "opened", start.request.summary, now)
    triage(s, p, now)
    tier1(s, p, now, s.opening_rules)
    return s


@dataclass(frozen=True)
class NewCase:
    """A case ready to start: the workflow's input and the state it will hold at once."""

    start: StartEscalation
    state: EscalationState

    def search_attributes(self) -> TypedSearchAttributes:
        """Set at the start, so the case is listed and filterable before its first task."""
        return TypedSearchAttributes(
            [
                SearchAttributePair(key, value)
                for key, value in search_attributes(self.state).items()
                if value is not None
            ]
        )


def new_case(
    policy: Policy,
    policy_json: dict[str, Any],
    escalation_id: str,
    request: EscalationRequest,
    opened_by: Actor,
    now: datetime,
    **start_options: Any,
) -> NewCase:
    """The one way a case is started (the API, the tests and the benchmark): the input with its
    policy copy and opening time, and the state the workflow will hold (triaged, tier-1 checked)."""
    start = StartEscalation(
        id=escalation_id,
        request=request,
        opened_by=opened_by,
        policy=policy_json,
        opened_at=now,
        **({"opening_rules": OPENING_RULES} | start_options),
    )
    return NewCase(start=start, state=open_case(policy, start, now))


def search_attributes(s: EscalationState) -> dict[SearchAttributeKey, Any]:
    """The case's search attributes (None: not set). The API sets them at the start, the
    workflow upserts what changes."""
    req = s.request
    due = [c.due_at for c in s.clocks if c.due_at and not c.stopped_at and not c.paused]
    resolution = next((c for c in s.clocks if c.name == "resolution"), None)
    return {
        sa.STAGE: s.stage,
        sa.CUSTOMER_ID: req.customer.id,
        sa.CUSTOMER_TIER: req.customer.tier,
        sa.TRIGGER: req.trigger,
        sa.CHANNEL: req.channel,
        sa.SEVERITY: s.severity,
        sa.AVOIDABLE: s.avoidable,
        sa.POLICY_VERSION: s.policy_version,
        sa.ASSIGNED_TEAM: s.assigned_team,
        sa.ASSIGNEE: s.assignee,
        sa.SLA_DUE_AT: min(due) if due else None,
        sa.SLA_BREACHED: any(c.breached for c in s.clocks),
        sa.RESOLVED_AT_TIER: s.resolved_at_tier,
        sa.RESOLVED_AT: s.resolved_at,
        sa.RESOLVED_WITHIN_SLA: (not resolution.breached) if s.resolved_at and resolution else None,
    }


def goodwill_given(s: EscalationState, p: Policy) -> float | None:
    """Remedies granted to the customer in the past year, in the policy's currency (None:
    unknown)."""
    r = s.customer_record
    return r.goodwill_granted.get(p.currency, 0.0) if r is not None and r.known else None


def customer_context(s: EscalationState, p: Policy) -> CustomerContext:
    """What approvers see of the customer besides the amount."""
    r = s.customer_record
    known = r is not None and r.known
    return CustomerContext(
        tier=s.request.customer.tier,
        past_escalations=r.count if r is not None and known else None,
        goodwill_granted=goodwill_given(s, p),
        goodwill_left=rules.goodwill_left(p, r.goodwill_granted)
        if r is not None and known
        else None,
    )


def customer_summary(s: EscalationState, p: Policy) -> str:
    """The customer in one line, for messages and the timeline."""
    r = s.customer_record
    if r is None or not r.known:
        return f"{s.request.customer.tier} customer; past escalations unknown"
    return (
        f"{s.request.customer.tier} customer; {r.count} escalation(s) in the past year; "
        f"{goodwill_given(s, p) or 0:g} {p.currency} goodwill already granted"
    )


def feedback_window(s: EscalationState, p: Policy | None) -> datetime | None:
    """After the last check-in: until when the answer to its feedback link is awaited (None:
    not in that wait, or the pinned policy's check-in carries no link)."""
    if (
        p is None
        or s.stage != Stage.FOLLOW_UP
        or not p.follow_up_h
        or s.check_ins_done < len(p.follow_up_h)
        or s.resolved_at is None
        or "{feedback_link}" not in p.templates.get("check_in", "")
    ):
        return None
    return s.resolved_at + timedelta(hours=p.follow_up_h[-1] + p.feedback_valid_h)


def view(s: EscalationState, p: Policy | None, now: datetime) -> EscalationView:
    views = []
    for c in s.clocks:
        spec = p.calendar(c.calendar) if p else None
        views.append(
            ClockView(
                name=c.name,
                due_at=c.due_at,
                paused=c.paused,
                warned_at=c.warned_at,
                breached=c.breached,
                met_at=c.stopped_at,
                remaining_business_s=None
                if c.stopped_at or spec is None
                else clk.remaining(c, spec, now),
            )
        )
    candidates = [
        c.due_at
        for c in s.clocks
        if c.due_at and not c.stopped_at and not c.paused and not c.breached
    ]
    for t in (
        s.consult_due_at if s.stage == Stage.HELPLINE_CONSULT else None,
        s.ack_due_at,
        s.pending_approval.due_at if s.pending_approval else None,
        feedback_window(s, p),
        *(c.at for c in s.callbacks if c.done_at is None and not c.missed),
        *(c.due_at for c in s.contributions if c.answered_at is None and not c.breached),
    ):
        if t:
            candidates.append(t)
    pa = s.pending_approval
    req = s.request
    return EscalationView(
        id=s.id,
        stage=s.stage,
        severity=s.severity,
        urgency=s.urgency,
        triage_rule=s.triage_rule,
        triage_reason=s.triage_reason,
        round_the_clock=round_the_clock(p, s) if p else False,
        customer=req.customer,
        channel=req.channel,
        category=req.category,
        summary=req.summary,
        trigger=req.trigger,
        avoidable=s.avoidable,
        requested_remedy=req.requested_remedy,
        granted_remedy=s.granted_remedy,
        proposal=s.proposal,
        assigned_team=s.assigned_team,
        assignee=s.assignee,
        pending_approval=PendingApprovalView(
            remedy=pa.remedy,
            required_authority=pa.required_authority,
            level=pa.level,
            since=pa.since,
            due_at=pa.due_at,
            customer=customer_context(s, p) if p and s.opening_rules >= 1 else None,
        )
        if pa
        else None,
        clocks=views,
        next_deadline=min(candidates) if candidates else None,
        promise_at=s.promise_at,
        resolved_at_tier=s.resolved_at_tier,
        outcome=s.outcome,
        root_cause=s.root_cause,
        feedback=list(s.feedback),
        callbacks=list(s.callbacks),
        contributions=list(s.contributions),
        feedback_open_until=feedback_window(s, p),
        waiting_on_customer=s.waiting_on_customer,
        external_ref=req.external_ref,
        kb_matches=list(s.kb_matches),
        policy_version=s.policy_version,
        opened_at=s.opened_at,
        updated_at=s.updated_at,
        missing_answers=capture.missing_for(p, req) if p else [],
        transfer_held_since=s.transfer_held_at,
        escalation_asked_at=s.escalation_asked_at,
        reading=s.reading,
    )
