"""What the report store learns from a case (core/report_store): its timeline entries not yet
written, the stage visits it made, and a snapshot of what the reports group by. Pure bookkeeping
on the workflow's side; the outbox sends the facts with the other side effects of a settled
stage (outbox.py), under the `report-facts` patch.

A fact is acknowledged only once the store has taken it: what a failed write carried goes again
with the next batch (the store ignores what it already holds).
"""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from workflows import opening
    from workflows.messages import CaseFacts, CaseSnapshot, ClockFact, FactEvent, StageVisit
    from workflows.models import EscalationState


def snapshot(s: EscalationState, now: datetime) -> CaseSnapshot:
    r = s.request
    return CaseSnapshot(
        escalation_id=s.id,
        as_of=now,
        events_seen=len(s.timeline) + s.timeline_elided,
        opened_at=s.opened_at,
        opened_by_id=s.opened_by.id,
        opened_by_name=s.opened_by.name,
        customer_id=r.customer.id,
        channel=r.channel,
        category=r.category,
        trigger=r.trigger,
        customer_tier=r.customer.tier,
        severity=s.severity,
        avoidable=s.avoidable,
        stage=s.stage,
        team=s.assigned_team,
        assignee=s.assignee,
        resolved_tier=s.resolved_at_tier,
        resolved_at=s.resolved_at,
        outcome=s.outcome[:500] if s.outcome else None,
        root_cause=s.root_cause,
        feedback_score=s.feedback[-1].score if s.feedback else None,
        requested_amount=r.requested_remedy.amount if r.requested_remedy else None,
        granted_amount=s.granted_remedy.amount if s.granted_remedy else None,
        currency=remedy.currency if (remedy := s.granted_remedy or r.requested_remedy) else None,
        reopen_count=s.reopen_count,
        clocks=[
            ClockFact(
                name=c.name,
                due_at=c.due_at,
                met_at=c.stopped_at if not c.breached else None,
                breached=c.breached,
                breached_at=c.breached_at,
            )
            for c in s.clocks
        ],
    )


def fact_events(s: EscalationState, since: int = 0) -> list[FactEvent]:
    """The case's timeline entries from index `since` on, numbered as the store keys them."""
    return [
        FactEvent(
            seq=i,
            at=e.at,
            actor=e.actor,
            role=e.role,
            action=e.action,
            stage=e.stage,
            detail=e.detail[:500],
        )
        for i, e in opening.numbered(s.timeline, s.timeline_elided)
        if i >= since
    ]


def all_facts(s: EscalationState, now: datetime) -> CaseFacts:
    """Everything the store would hold of the case but its stage visits (the `facts` query, read
    by the rebuild: the same snapshot the worker writes)."""
    return CaseFacts(case=snapshot(s, now), events=fact_events(s))


class FactLog:
    """The facts of one run not yet acknowledged by the store."""

    def __init__(self, s: EscalationState) -> None:
        self._acked = 0  # timeline entries the store holds (a new run sends them all again)
        self._stage = s.stage
        self._entered = s.stage_entered_at
        self._closed: list[StageVisit] = []
        self._last: CaseSnapshot | None = None  # the newest snapshot the store took
        self._sent: tuple[CaseSnapshot, int, int] | None = None  # snapshot, events, visits sent

    def moved(self, s: EscalationState) -> None:
        """The case changed stage: close the visit to the one it left."""
        if s.stage == self._stage:
            return
        if self._entered is not None and s.stage_entered_at is not None:
            self._closed.append(
                StageVisit(stage=self._stage, entered_at=self._entered, left_at=s.stage_entered_at)
            )
        self._stage, self._entered = s.stage, s.stage_entered_at

    def pending(self, s: EscalationState, now: datetime) -> CaseFacts | None:
        """The facts to send now, or None when the store already knows all of them."""
        case = snapshot(s, now)
        if self._sent is not None:
            sent, events, visits = self._sent
            same = case.model_copy(update={"as_of": sent.as_of}) == sent
            if same and events == case.events_seen and visits == len(self._closed):
                return None  # in flight or taken already
        self._sent = (case, case.events_seen, len(self._closed))
        stages = list(self._closed)
        if self._entered is not None:
            stages.append(StageVisit(stage=self._stage, entered_at=self._entered))
        return CaseFacts(case=case, events=fact_events(s, self._acked), stages=stages)

    def failed(self) -> None:
        """A write failed: the next flush sends everything not acknowledged again."""
        self._sent = None

    def acked(self, facts: CaseFacts) -> None:
        """The store took `facts`: they need not go again."""
        self._acked = max(self._acked, facts.case.events_seen)
        self._closed = [v for v in self._closed if v not in facts.stages]
        if self._sent is not None:
            self._sent = (self._sent[0], self._sent[1], len(self._closed))
        if self._last is None or facts.case.as_of >= self._last.as_of:
            self._last = facts.case
