"""EscalationWorkflow: one durable workflow per escalation.

Stages: triage -> tier1_exception -> helpline_consult -> specialist -> executive_signoff ->
resolved -> follow_up -> closed (or cancelled at any point).

How it is built:
- Update handlers validate (validators change nothing), record the fact and, where the fact
  decides the next stage, move the state machine at once; so every action's reply already shows
  its effect. The main loop runs each stage's entry work (routing, notifications) and its
  deadlines (consult window, acknowledgement, sign-off reminders, follow-up check-ins).
- SLA clocks are watched by one background coroutine that sleeps on a durable timer until the
  next warning or breach and wakes early whenever a clock changes (pause, resume, re-target).
- Notifications run in the background (they may wait for a person's working hours), with
  channel fallback and, when nothing gets through, an alert to the accountable manager.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, FailureError

with workflow.unsafe.imports_passed_through():
    import pydantic  # noqa: F401  (pass-through: avoids re-importing it per workflow)

    from workflows import clocks as clk
    from workflows import opening, rules
    from workflows import search_attributes as sa
    from workflows.business_hours import add_business_seconds, is_open, next_open
    from workflows.models import (
        FINAL_STAGES,
        STAFF_ROLES,
        Acknowledge,
        Actor,
        AddNote,
        ConsultAnswer,
        CrmEvent,
        CustomerContact,
        Decision,
        Delivery,
        DeliveryReceipt,
        Dispatch,
        DispatchResult,
        EscalationState,
        EscalationView,
        InfoRequest,
        KbQuery,
        KbResult,
        LoadPolicy,
        OutboxItem,
        OutboxResult,
        PendingApproval,
        PeopleQuery,
        PeopleResult,
        Person,
        Proposal,
        Reason,
        ResolveCase,
        RouteResult,
        SeverityChange,
        StartEscalation,
        Timeline,
    )
    from workflows.policy import Policy, RouteRequest, pinned

WORKFLOW_ACTOR = opening.WORKFLOW_ACTOR
_money = opening.money

# Local activities (directory, routing, knowledge base) give up after two minutes so that their
# callers' fallbacks run (route to the manager, no KB matches, nobody found) and the stage settles:
# its messages, CRM sync and search attributes go out once it has. A failed local activity
# raises the failure itself (ApplicationError, TimeoutError), not an ActivityError around it:
# callers catch FailureError.
LOCAL = dict(
    start_to_close_timeout=timedelta(seconds=20),
    schedule_to_close_timeout=timedelta(minutes=2),
    retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30)),
)
# The policy is retried until an operator fixes the file: a case is never dropped for it.
POLICY_LOCAL = dict(
    start_to_close_timeout=timedelta(seconds=20),
    retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30)),
)
DELIVERY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2), backoff_coefficient=2.0, maximum_attempts=3,
    non_retryable_error_types=["ChannelUnavailable", "Rejected"],
)
CRM_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2), maximum_interval=timedelta(minutes=5),
    maximum_attempts=12, non_retryable_error_types=["Rejected"],
)


class _SafeDict(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def render(template: str, context: dict[str, Any]) -> str:
    return template.format_map(_SafeDict({k: "" if v is None else v for k, v in context.items()}))


def conflict(detail: str) -> ApplicationError:
    return ApplicationError(detail, type="Conflict", non_retryable=True)


def forbidden(detail: str) -> ApplicationError:
    return ApplicationError(detail, type="Forbidden", non_retryable=True)


def invalid(detail: str) -> ApplicationError:
    return ApplicationError(detail, type="Invalid", non_retryable=True)


def _require_role(actor: Actor, *roles: str) -> None:
    if actor.role not in roles:
        raise forbidden(f"role {actor.role} may not do this (allowed: {', '.join(roles)})")


@workflow.defn
class EscalationWorkflow:
    @workflow.init
    def __init__(self, inp: StartEscalation) -> None:
        self._epoch = 0  # bumped on every stage transition
        self._clock_rev = 0  # bumped on every clock change (wakes the SLA watcher)
        self._finished = False
        self._tasks: list[asyncio.Task] = []
        self._people: dict[str, Person] = {}
        self._dirty = True
        self._settled = False  # the main loop waits: the stage's entry work is done
        self._batched = False  # patch 'batched-outbox': side effects go out at settle points
        self._outbox: list[tuple[OutboxItem, asyncio.Future, str]] = []
        self._seq = 0  # numbers the idempotency keys of this run's messages and CRM events
        self._crm_synced: str | None = None
        self._sa_sent: dict[str, Any] = {}
        self._closed = False  # final stage reached: pending staff messages are stale
        self._handing_over = False  # continue-as-new under way: send held messages now
        self._can_after = inp.continue_as_new_after_events
        self._version = inp.version
        self._collecting: list[asyncio.Task] | None = None  # see _fire_together
        self._lookups: list[tuple[PeopleQuery, asyncio.Future]] | None = None  # version 2
        self.policy: Policy | None = None
        if inp.resume is not None:
            self.s = inp.resume
            self.policy = pinned(inp.resume_policy)
        elif inp.policy is not None:
            # Started by the API with its policy copy and opening time: triaged before any
            # handler runs, exactly as the API answered the POST (see workflows/opening.py).
            self.policy = pinned(inp.policy)
            self.s = opening.open_case(self.policy, inp, inp.opened_at or workflow.now())
            self._clock_changed()
            self._epoch += 1
        else:
            now = workflow.now()
            self.s = EscalationState(
                id=inp.id, request=inp.request, opened_by=inp.opened_by, opened_at=now,
                updated_at=now,
            )
        # The SDK holds the input for the whole run; the policy copy in it is parsed (and shared,
        # see workflows/policy.pinned) and not read again, so a cached case does not keep it.
        inp.policy = inp.resume_policy = None

    # --- run ------------------------------------------------------------------------------------

    @workflow.run
    async def run(self, inp: StartEscalation) -> EscalationView:
        # Batched: side effects go out once the stage has settled (its entry work done): the
        # messages and the CRM sync of a workflow task in one `dispatch` activity (see
        # activities/dispatch.py), one CRM sync per stage the case rests in (not one for the
        # passing `resolved`, and with the assignee routing just chose), one upsert. Version 1
        # asks for it in the input; older starts ask the patch "batched-outbox" (whose marker,
        # and the TemporalChangeVersion upsert the SDK adds, cost 2 events and a visibility write).
        self._batched = self._version >= 1 or workflow.patched("batched-outbox")
        if self.policy is None:  # started without a policy copy: load the one in force
            self._record(inp.opened_by, "opened", inp.request.summary)
            self.policy = await workflow.execute_local_activity(
                "load_policy", LoadPolicy(), result_type=Policy, summary="load policy", **POLICY_LOCAL
            )
            self._triage()
        self._spawn(self._watch_sla())
        if self._batched:
            # what the starter set (the API sets them all) is not sent again
            self._sa_sent = {p.key.name: p.value for p in workflow.info().typed_search_attributes}
        else:  # the code before the patch: background coroutines
            self._spawn(self._flush_visibility())
            self._spawn(self._crm_outbox())
        stage_handlers: dict[str, Callable[[], Awaitable[None]]] = {
            "tier1_exception": self._stage_tier1,
            "helpline_consult": self._stage_consult,
            "specialist": self._stage_specialist,
            "executive_signoff": self._stage_signoff,
            "resolved": self._stage_resolved,
            "follow_up": self._stage_follow_up,
        }
        while self.s.stage not in FINAL_STAGES:
            if self._should_continue_as_new():
                await self._continue_as_new()
            epoch = self._epoch
            await stage_handlers[self.s.stage]()
            if self._epoch == epoch and self.s.stage not in FINAL_STAGES:
                self._settle()
                await workflow.wait_condition(
                    lambda: self._epoch != epoch or self._should_continue_as_new()
                )
        self._finished = True
        self._closed = True
        self._clock_changed()
        self._settle()
        await workflow.wait_condition(workflow.all_handlers_finished)
        await asyncio.gather(*self._tasks, return_exceptions=True)
        return self._view()

    # --- queries --------------------------------------------------------------------------------

    @workflow.query
    def state(self) -> EscalationView:
        return self._view()

    @workflow.query
    def timeline(self) -> Timeline:
        return Timeline(items=list(self.s.timeline))

    # --- updates: validators (sync, change nothing) ---------------------------------------------
    # Every handler runs its validator again first: several updates accepted in one workflow task
    # are validated before any of their handlers runs, so the first may change what the second
    # was validated against (two racing approvals); the second then fails cleanly as a conflict.

    def _open_case(self) -> None:
        if self.policy is None:
            raise conflict("the escalation is still being triaged; try again in a moment")
        if self.s.stage in FINAL_STAGES:
            raise conflict(f"the escalation is {self.s.stage}")

    def _in_stage(self, *stages: str) -> None:
        self._open_case()
        if self.s.stage not in stages:
            raise conflict(
                f"not possible in stage {self.s.stage} (only in {', '.join(stages)})"
            )

    @workflow.update
    async def consult_answer(self, u: ConsultAnswer) -> EscalationView:
        self._v_consult_answer(u)
        self._record(u.actor, "consult_answered", u.answer)
        self.s.consult_answer = u.answer
        if u.resolves:
            self._resolve("helpline", u.answer, u.actor)
        else:
            self._goto("specialist")
            if self._version >= 1:  # the main loop routes the case, then settles
                await workflow.wait_condition(
                    lambda: self._settled or self._finished or self._should_continue_as_new()
                )
        return self._view()

    @consult_answer.validator
    def _v_consult_answer(self, u: ConsultAnswer) -> None:
        _require_role(u.actor, "helpline")
        self._in_stage("helpline_consult")

    @workflow.update
    async def acknowledge(self, u: Acknowledge) -> EscalationView:
        self._v_acknowledge(u)
        s = self.s
        if s.assignee != u.actor.id:
            self._record(u.actor, "ownership_taken", f"from {s.assignee_name or 'nobody'}")
            s.assignee, s.assignee_name = u.actor.id, u.actor.name
        s.acknowledged = True
        s.ack_due_at = None
        self._record(u.actor, "acknowledged")
        self._stop_clock("first_response")
        self._upsert()
        self._notify_customer("acknowledged")
        return self._view()

    @acknowledge.validator
    def _v_acknowledge(self, u: Acknowledge) -> None:
        _require_role(u.actor, "specialist")
        self._in_stage("specialist")
        if self.s.acknowledged and self.s.assignee == u.actor.id:
            raise conflict("already acknowledged by you")

    @workflow.update
    async def add_note(self, u: AddNote) -> EscalationView:
        self._v_add_note(u)
        self.s.notes.append(u.text)
        self._record(u.actor, "note_added", u.text)
        return self._view()

    @add_note.validator
    def _v_add_note(self, u: AddNote) -> None:
        _require_role(u.actor, *STAFF_ROLES)
        self._open_case()

    @workflow.update
    async def request_info(self, u: InfoRequest) -> EscalationView:
        self._v_request_info(u)
        self.s.waiting_on_customer = True
        self._record(u.actor, "info_requested", u.question)
        for c in self.s.clocks:
            clk.pause(c, self._cal(c.calendar), workflow.now())
        self._clock_changed()
        self._notify_customer("info_requested", question=u.question)
        return self._view()

    @request_info.validator
    def _v_request_info(self, u: InfoRequest) -> None:
        _require_role(u.actor, "specialist")
        self._in_stage("specialist")
        if self.s.waiting_on_customer:
            raise conflict("already waiting on the customer")

    @workflow.update
    async def customer_contact(self, u: CustomerContact) -> EscalationView:
        self._v_customer_contact(u)
        s = self.s
        self._record(u.actor, "customer_contact",
                     u.message + (" (still broken)" if u.still_broken else ""))
        if s.waiting_on_customer:
            s.waiting_on_customer = False
            for c in s.clocks:
                clk.resume(c, self._cal(c.calendar), workflow.now())
            self._clock_changed()
        if u.still_broken and s.stage in ("resolved", "follow_up"):
            self._reopen(u.actor, "customer reports it is still broken")
        return self._view()

    @customer_contact.validator
    def _v_customer_contact(self, u: CustomerContact) -> None:
        _require_role(u.actor, "system", "agent")
        self._open_case()

    @workflow.update
    async def propose(self, u: Proposal) -> EscalationView:
        self._v_propose(u)
        s, p = self.s, self.policy
        s.proposal = u.remedy
        self._record(u.actor, "proposal_made", _money(u.remedy))
        needed = rules.signoff_required(p, u.remedy, s.request, u.actor.authority_limit)
        if needed is None:
            s.granted_remedy = u.remedy
            self._resolve("specialist", f"Granted {_money(u.remedy)}", u.actor)
        else:
            idx = max(rules.level_index_for(p, needed), min(s.authority_level, len(p.signoff.levels) - 1))
            s.pending_approval = PendingApproval(
                remedy=u.remedy, required_authority=needed, level=rules.level(p, idx).role,
                since=workflow.now(), proposed_by=u.actor.name,
            )
            self._goto("executive_signoff")
        return self._view()

    @propose.validator
    def _v_propose(self, u: Proposal) -> None:
        _require_role(u.actor, "specialist")
        self._in_stage("specialist")
        if not self.s.acknowledged:
            raise conflict("acknowledge the escalation before proposing a remedy")
        if u.remedy.currency != self.policy.currency:
            raise invalid(f"remedy.currency: the policy's currency is {self.policy.currency}")

    @workflow.update
    async def decide(self, u: Decision) -> EscalationView:
        self._v_decide(u)
        s = self.s
        pending = s.pending_approval
        s.pending_approval = None
        if u.decision == "approve":
            self._record(u.actor, "approval_granted", f"{_money(pending.remedy)}. {u.comment}".strip())
            s.granted_remedy = pending.remedy
            self._resolve("executive", f"Approved {_money(pending.remedy)}", u.actor)
        else:
            self._record(u.actor, "approval_rejected", u.comment)
            s.proposal = None
            self._goto("specialist")
        return self._view()

    @decide.validator
    def _v_decide(self, u: Decision) -> None:
        if u.actor.role not in rules.APPROVER_ROLES:
            raise forbidden(rules.approval_refusal(u.actor, 0) or "not an approver")
        self._in_stage("executive_signoff")
        pending = self.s.pending_approval
        if pending is None:
            raise conflict("nothing awaits approval")
        refusal = rules.approval_refusal(u.actor, pending.required_authority)
        if refusal:
            raise forbidden(refusal)

    @workflow.update
    async def resolve(self, u: ResolveCase) -> EscalationView:
        self._v_resolve(u)
        self._resolve("specialist", u.outcome, u.actor)
        return self._view()

    @resolve.validator
    def _v_resolve(self, u: ResolveCase) -> None:
        _require_role(u.actor, "specialist")
        self._in_stage("specialist")

    @workflow.update
    async def reopen(self, u: Reason) -> EscalationView:
        self._v_reopen(u)
        self._reopen(u.actor, u.reason)
        return self._view()

    @reopen.validator
    def _v_reopen(self, u: Reason) -> None:
        _require_role(u.actor, "system", "agent", "manager")
        self._in_stage("resolved", "follow_up")

    @workflow.update
    async def cancel(self, u: Reason) -> EscalationView:
        self._v_cancel(u)
        self._record(u.actor, "cancelled", u.reason)
        s = self.s
        s.pending_approval = None
        for c in s.clocks:
            clk.stop(c, self._cal(c.calendar), workflow.now())
        self._goto("cancelled")
        self._notify_customer("cancelled", reason=u.reason)
        return self._view()

    @cancel.validator
    def _v_cancel(self, u: Reason) -> None:
        _require_role(u.actor, "operator", "manager")
        self._open_case()

    @workflow.update
    async def change_severity(self, u: SeverityChange) -> EscalationView:
        self._v_change_severity(u)
        self._set_severity(u.severity, u.actor, u.reason)
        return self._view()

    @change_severity.validator
    def _v_change_severity(self, u: SeverityChange) -> None:
        _require_role(u.actor, "supervisor", "manager", "executive")
        self._open_case()
        if self.s.stage in ("resolved", "follow_up"):
            raise conflict("the escalation is resolved; reopen it first")
        if u.severity == self.s.severity:
            raise conflict(f"severity is already {u.severity}")

    # --- stage logic ----------------------------------------------------------------------------

    def _triage(self) -> None:
        opening.triage(self.s, self.policy, workflow.now())
        self._clock_changed()
        self._moved()

    async def _stage_tier1(self) -> None:
        opening.tier1(self.s, self.policy, workflow.now())
        self._clock_changed()
        self._moved()

    async def _stage_consult(self) -> None:
        s, p = self.s, self.policy
        epoch = self._epoch
        if s.consult_due_at is None:  # opened by a version that set it only here
            s.consult_due_at = workflow.now() + timedelta(minutes=p.consult_window_min)
        if not any(e.action == "consult_requested" for e in s.timeline):
            self._notify_customer("opened")
            try:
                kb = await workflow.execute_local_activity(
                    "search_knowledge_base",
                    KbQuery(category=s.request.category, text=s.request.summary),
                    result_type=KbResult, summary="knowledge-base lookup", **LOCAL,
                )
                s.kb_matches = kb.matches
            except FailureError as e:
                workflow.logger.warning("knowledge base unavailable: %s", e)
            self._record(WORKFLOW_ACTOR, "consult_requested",
                         "KB: " + ("; ".join(m.title for m in s.kb_matches) or "no match"))
            for person in await self._find_people(PeopleQuery(roles=["helpline"])):
                self._notify_staff(person, "consult_requested",
                                   consult_window_min=f"{p.consult_window_min:g}")
        outcome = await self._wait(epoch, s.consult_due_at, "help-line consult window")
        if outcome == "timeout":
            self._record(WORKFLOW_ACTOR, "consult_timed_out",
                         f"no answer within {p.consult_window_min:g} minutes")
            self._goto("specialist")

    async def _stage_specialist(self) -> None:
        s = self.s
        epoch = self._epoch
        while self._epoch == epoch:
            if s.assignee is None:
                await self._route()
            if s.acknowledged:
                await self._wait(epoch, None, "specialist works the case")
                return
            if s.ack_due_at is None:
                team = next((t for t in self.policy.teams if t.name == s.assigned_team), None)
                minutes = team.acknowledge_within_min if team else 30
                s.ack_due_at = self._business_deadline(
                    team.calendar if team else self.policy.helpline_calendar, minutes * 60)
                self._notify_assignee("transferred", ack_due=s.ack_due_at.isoformat(timespec="minutes"))
            outcome = await self._wait(epoch, s.ack_due_at, f"acknowledgement by {s.assignee_name}",
                                       extra=lambda: s.acknowledged)
            if outcome == "timeout" and not s.acknowledged:
                previous = s.assignee_name
                s.previous_assignees.append(s.assignee)
                s.assignee = s.assignee_name = None
                s.ack_due_at = None
                await self._route()
                self._record(WORKFLOW_ACTOR, "reassigned",
                             f"{previous} did not acknowledge in time; now {s.assignee_name}")
                self._notify_manager("reassigned", previous=previous, assignee=s.assignee_name)
            elif outcome == "can":
                return

    async def _route(self) -> None:
        s, p = self.s, self.policy
        required = s.request.requested_remedy.amount if s.request.requested_remedy else 0
        try:
            r = await workflow.execute_local_activity(
                "route_specialist",
                RouteRequest(escalation_id=s.id, category=s.request.category,
                             required_authority=required, exclude=s.previous_assignees,
                             teams=p.teams, calendars=p.calendars, at=workflow.now()),
                result_type=RouteResult, summary="route to a specialist", **LOCAL,
            )
            team, person = r.team, r.assignee
        except FailureError as e:
            manager = await self._manager()
            team, person = "escalations-management", manager
            self._record(WORKFLOW_ACTOR, "routing_failed", f"{e.cause or e}; assigned to the manager")
        self._people[person.id] = person
        old_team_cal = self._default_calendar()
        s.assigned_team, s.assignee, s.assignee_name = team, person.id, person.name
        s.acknowledged = False
        s.ack_due_at = None
        # clocks now count on the team's business hours
        new_cal = self._default_calendar()
        if new_cal != old_team_cal:
            for c in s.clocks:
                target = self._target_s(c.name)
                clk.rebase(c, new_cal, self._cal(c.calendar), self._cal(new_cal), target, workflow.now())
            self._clock_changed()
        handover = (f"to {person.name} ({team}). Handover: {s.request.summary}; "
                    f"details: {s.request.details or '-'}; requested {_money(s.request.requested_remedy)}; "
                    f"help line: {s.consult_answer or 'no answer'}; notes: {len(s.notes)}")
        self._record(WORKFLOW_ACTOR, "transferred", handover)
        self._upsert()

    async def _stage_signoff(self) -> None:
        s, p = self.s, self.policy
        epoch = self._epoch
        pending = s.pending_approval
        every = p.signoff.reminder_every_min * 60
        if pending.due_at is None:
            pending.due_at = self._business_deadline(p.helpline_calendar, every)
            await self._notify_approvers("approval_needed")
        while self._epoch == epoch:
            outcome = await self._wait(epoch, pending.due_at, f"sign-off by a {pending.level}")
            if outcome != "timeout":
                return
            if pending.reminders_sent < p.signoff.reminders_before_raise or not self._raise_approval(
                    "nobody decided in time"):
                pending.reminders_sent += 1
                self._record(WORKFLOW_ACTOR, "reminder_sent",
                             f"to {pending.level}s (reminder {pending.reminders_sent})")
                await self._notify_approvers("reminder")
            pending.due_at = self._business_deadline(p.helpline_calendar, every)

    def _raise_approval(self, reason: str) -> bool:
        """Move a pending approval one authority level up; False at the top already."""
        p, pending = self.policy, self.s.pending_approval
        roles = [lvl.role for lvl in p.signoff.levels]
        idx = roles.index(pending.level) if pending.level in roles else 0
        if idx + 1 >= len(roles):
            return False
        pending.level = roles[idx + 1]
        pending.reminders_sent = 0
        self._record(WORKFLOW_ACTOR, "authority_raised", f"approval moved to {pending.level}: {reason}")
        self._spawn(self._notify_approvers("authority_raised", reason=reason), lookup=True)
        return True

    async def _stage_resolved(self) -> None:
        self._notify_customer("resolved", outcome=self.s.outcome)
        self._goto("follow_up")

    async def _stage_follow_up(self) -> None:
        s, p = self.s, self.policy
        epoch = self._epoch
        while s.check_ins_done < len(p.follow_up_h):
            due = s.resolved_at + timedelta(hours=p.follow_up_h[s.check_ins_done])
            outcome = await self._wait(epoch, due, f"check-in {s.check_ins_done + 1}")
            if outcome != "timeout":
                return
            s.check_ins_done += 1
            self._record(WORKFLOW_ACTOR, "check_in", f"check-in {s.check_ins_done} sent")
            self._notify_customer("check_in")
        self._record(WORKFLOW_ACTOR, "closed", "last check-in done")
        self._goto("closed")

    # --- transitions ----------------------------------------------------------------------------

    def _goto(self, stage: str) -> None:
        s = self.s
        s.stage = stage
        s.updated_at = workflow.now()
        self._moved()

    def _moved(self) -> None:
        """The stage changed: wake the main loop, refresh search attributes."""
        self._epoch += 1
        self._settled = False
        self._upsert()

    def _resolve(self, tier: str, outcome: str, actor: Actor) -> None:
        opening.resolve(self.s, self.policy, tier, outcome, actor, workflow.now())
        self._clock_changed()
        self._moved()

    def _reopen(self, actor: Actor, reason: str) -> None:
        s = self.s
        s.reopen_count += 1
        s.resolved_at_tier = s.outcome = s.resolved_at = None
        s.granted_remedy = None
        s.proposal = None
        s.acknowledged = False
        s.ack_due_at = None
        self._record(actor, "reopened", reason)
        new_sev = rules.raise_severity(s.severity)
        s.severity = new_sev
        # a fresh resolution clock for the reopened case, on the severity raised one step
        now = workflow.now()
        cal = self._default_calendar()
        s.clocks = [c for c in s.clocks if c.name != "resolution"] + [
            clk.start("resolution", cal, self._cal(cal), self._target_s("resolution"), now)]
        self._clock_changed()
        self._goto("specialist")
        self._notify_customer("reopened")

    def _set_severity(self, severity: str, actor: Actor, reason: str) -> None:
        s = self.s
        old = s.severity
        s.severity = severity
        self._record(actor, "severity_changed", f"{old} -> {severity}: {reason}".rstrip(": "))
        cal = self._default_calendar()
        for c in s.clocks:
            clk.rebase(c, cal, self._cal(c.calendar), self._cal(cal), self._target_s(c.name), workflow.now())
        self._clock_changed()
        self._upsert()

    # --- SLA clocks -----------------------------------------------------------------------------

    def _default_calendar(self) -> str:
        return opening.default_calendar(self.policy, self.s)

    def _target_s(self, name: str) -> float:
        return opening.target_s(self.policy, self.s, name)

    def _business_deadline(self, calendar: str, seconds: float) -> datetime:
        """A process deadline counted on business hours (wall clock for round-the-clock
        severities such as P1), so nobody is chased or bypassed overnight."""
        spec = self._cal("24x7" if self.s.severity in self.policy.quiet_hours_except else calendar)
        return add_business_seconds(spec, workflow.now(), seconds)

    def _cal(self, name: str):
        return self.policy.calendar(name)

    def _clock(self, name: str):
        return next(c for c in self.s.clocks if c.name == name)

    def _stop_clock(self, name: str) -> None:
        c = self._clock(name)
        clk.stop(c, self._cal(c.calendar), workflow.now())
        self._clock_changed()

    def _clock_changed(self) -> None:
        self._clock_rev += 1
        self.s.promise_at = opening.promise_at(self.s)

    def _next_clock_event(self) -> clk.ClockEvent | None:
        events = [
            e for c in self.s.clocks
            if (e := clk.next_event(c, self._cal(c.calendar), self.policy.warning_fractions))
        ]
        return min(events, key=lambda e: e.at) if events else None

    async def _watch_sla(self) -> None:
        """One durable timer for the next warning or breach of any clock. A clock change wakes
        the watcher, which keeps its timer when the next event is still the same one."""
        timer: asyncio.Task | None = None
        timer_for: clk.ClockEvent | None = None
        while not self._finished:
            if self._version >= 2 and not self._settled:
                # Version 2 arms (and fires) once the case has settled: after the local
                # activities of this workflow task, which `workflow.now()` then counts. A timer
                # starts when its task completes, so one armed from the task's start time would
                # fire late by all of their time (the opening's knowledge-base search, routing).
                await workflow.wait_condition(lambda: self._settled or self._finished)
                continue
            event = self._next_clock_event()
            if event != timer_for:
                if timer is not None:
                    timer.cancel()
                timer, timer_for = None, event
                if event is not None:
                    delay = (event.at - workflow.now()).total_seconds()
                    if delay <= 0:
                        timer_for = None
                        await self._fire_together(event)
                        continue
                    timer = asyncio.ensure_future(workflow.sleep(
                        delay, summary=f"SLA {event.clock} {event.kind}"
                        + (f" {event.fraction:.0%}" if event.kind == "warning" else "")))
            rev = self._clock_rev
            await workflow.wait_condition(
                lambda: self._clock_rev != rev or self._finished or (timer is not None and timer.done())
            )
            if timer is not None and timer.done() and not self._finished:
                fired, timer, timer_for = timer_for, None, None
                await self._fire_together(fired)
        if timer is not None:
            timer.cancel()

    async def _fire_together(self, event: clk.ClockEvent) -> None:
        """Fire a warning or breach. From version 1, when the case rests (the main loop waits),
        what the firing sends (the manager's message, the next authority level's, the search
        attributes) is held until all of it is queued, then goes out in one dispatch and one
        upsert, instead of one dispatch per recipient as each is looked up."""
        held = self._version >= 1 and self._settled  # version 1 is always batched
        if not held:
            self._fire(event)
            return
        epoch = self._epoch
        self._settled = False
        self._collecting = []
        try:
            self._fire(event)
            started = self._collecting
        finally:
            self._collecting = None
        # the lookups find people (local activities), then queue their messages
        await asyncio.gather(*started, return_exceptions=True)
        if self._epoch == epoch and not self._settled:  # no transition meanwhile: still resting
            self._settle()

    def _fire(self, event: clk.ClockEvent) -> None:
        s = self.s
        c = self._clock(event.clock)
        now = workflow.now()
        if event.kind == "warning":
            c.warned_fractions.append(event.fraction)
            c.warned_at = now
            self._record(WORKFLOW_ACTOR, "sla_warning", f"{c.name} {event.fraction:.0%} used")
            ctx = dict(clock=c.name, fraction=f"{event.fraction:.0%}", due_at=c.due_at.isoformat(timespec="minutes"))
            if s.assignee:
                self._notify_assignee("sla_warning", **ctx)
            else:
                self._notify_manager("sla_warning", **ctx)
        else:
            c.breached, c.breached_at = True, now
            s.authority_level += 1
            self._record(WORKFLOW_ACTOR, "sla_breached", f"{c.name} was due {c.due_at.isoformat()}")
            self._notify_manager("sla_breached", clock=c.name, due_at=c.due_at.isoformat(timespec="minutes"))
            if s.pending_approval is not None:
                self._raise_approval(f"{c.name} SLA breached")
            else:
                self._record(WORKFLOW_ACTOR, "authority_raised",
                             f"{c.name} SLA breached: authority level {s.authority_level}")
                lvl = rules.level(self.policy, s.authority_level - 1)
                self._spawn(self._notify_role(lvl.role, "authority_raised",
                                              reason=f"{c.name} SLA breached"), lookup=True)
        self._clock_changed()
        self._upsert()

    # --- waiting --------------------------------------------------------------------------------

    def _should_continue_as_new(self) -> bool:
        info = workflow.info()
        if self._can_after is not None and info.get_current_history_length() > self._can_after:
            return True
        return info.is_continue_as_new_suggested()

    async def _wait(self, epoch: int, until: datetime | None, summary: str,
                    extra: Callable[[], bool] | None = None) -> str:
        """Wait for a stage transition, `until` (a durable timer) or continue-as-new."""
        def done() -> bool:
            return (self._epoch != epoch or (extra is not None and extra())
                    or self._should_continue_as_new())

        timeout = None
        if until is not None:
            timeout = (until - workflow.now()).total_seconds()
            if timeout <= 0:
                return "timeout"
        self._settle()
        try:
            await workflow.wait_condition(done, timeout=timeout, timeout_summary=summary)
        except TimeoutError:
            return "timeout"
        if self._epoch != epoch:
            return "transition"
        if extra is not None and extra():
            return "condition"
        return "can"

    async def _continue_as_new(self) -> None:
        await workflow.wait_condition(workflow.all_handlers_finished)
        self._finished = True
        self._handing_over = True
        self._clock_changed()
        self._settle()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        s = self.s
        self._record(WORKFLOW_ACTOR, "continued_as_new", f"history {workflow.info().get_current_history_length()} events")
        workflow.continue_as_new(StartEscalation(
            id=s.id, request=s.request, opened_by=s.opened_by, resume=s,
            resume_policy=self.policy.model_dump(mode="json"),
            continue_as_new_after_events=self._can_after,
            version=self._version,
        ))

    # --- people and notifications -----------------------------------------------------------------

    async def _find_people(self, q: PeopleQuery) -> list[Person]:
        if self._version >= 2:  # joins the other lookups asked for in the same step
            if self._lookups is None:
                self._lookups = []
                self._spawn(self._look_up_together(self._lookups))
            found: asyncio.Future[list[Person]] = asyncio.get_running_loop().create_future()
            self._lookups.append((q, found))
            return await found
        return await self._look_up(q)

    async def _look_up(self, q: PeopleQuery) -> list[Person]:
        try:
            res = await workflow.execute_local_activity(
                "find_people", q, result_type=PeopleResult,
                summary=f"find {'/'.join(q.roles)}", **LOCAL,
            )
        except FailureError as e:
            workflow.logger.warning("directory unavailable: %s", e)
            return []
        for person in res.people:
            self._people[person.id] = person
        return res.people

    async def _look_up_together(self, batch: list[tuple[PeopleQuery, asyncio.Future]]) -> None:
        """One directory lookup (local activity) for every `_find_people` asked for in the same
        step, e.g. a breach's manager and next authority level: one marker instead of one each;
        each asker gets what its own query selects."""
        await asyncio.sleep(0)  # one step: the other lookups started with this one join it
        self._lookups = None
        teams = {q.team for q, _ in batch}
        people = await self._look_up(PeopleQuery(
            roles=sorted({r for q, _ in batch for r in q.roles}),
            min_authority=min(q.min_authority for q, _ in batch),
            team=teams.pop() if len(teams) == 1 else None,
        ))
        for q, found in batch:
            if not found.done():  # (its asker may have been cancelled)
                found.set_result([p for p in people if q.selects(p)])

    async def _manager(self) -> Person:
        mid = self.policy.manager_id
        if mid not in self._people:
            await self._find_people(PeopleQuery(roles=["manager"]))
        return self._people.get(mid) or Person(id=mid, name="Escalations manager", role="manager")

    def _context(self, **extra: Any) -> dict[str, Any]:
        s = self.s
        pending = s.pending_approval
        return dict(
            id=s.id, summary=s.request.summary, category=s.request.category,
            customer=s.request.customer.name, severity=s.severity,
            promise_at=s.promise_at.isoformat(timespec="minutes") if s.promise_at else "as soon as we can",
            assignee=s.assignee_name, outcome=s.outcome,
            remedy=_money(pending.remedy if pending else (s.granted_remedy or s.proposal)),
            required_authority=f"{pending.required_authority:g}" if pending else "",
            proposed_by=pending.proposed_by if pending else "",
        ) | extra

    def _customer_channels(self) -> list[tuple[str, str]]:
        c = self.s.request.customer
        order = [c.contact.preferred_channel, *self.policy.customer_channels_fallback]
        address = {"email": c.contact.email, "sms": c.contact.phone, "phone": c.contact.phone,
                   "chat": c.id, "social": c.id}
        seen: list[tuple[str, str]] = []
        for ch in order:
            if address.get(ch) and ch not in [x for x, _ in seen]:
                seen.append((ch, address[ch]))
        return seen

    @staticmethod
    def _staff_channels(person: Person) -> list[tuple[str, str]]:
        address = {"email": person.email, "chat": person.chat, "sms": person.phone, "phone": person.phone}
        return [(ch, address[ch]) for ch in person.channels if address.get(ch)]

    def _notify_customer(self, event: str, **extra: Any) -> None:
        c = self.s.request.customer
        self._message(event, c.name, self._customer_channels(), self._context(**extra), staff=None)

    def _notify_staff(self, person: Person, event: str, **extra: Any) -> None:
        self._message(event, person.name, self._staff_channels(person), self._context(**extra),
                      staff=person)

    def _notify_assignee(self, event: str, **extra: Any) -> None:
        person = self._people.get(self.s.assignee or "")
        if person:
            self._notify_staff(person, event, **extra)

    def _notify_manager(self, event: str, **extra: Any) -> None:
        async def go() -> None:
            manager = await self._manager()
            if self._batched:
                self._message(event, manager.name, self._staff_channels(manager),
                              self._context(**extra), staff=manager)
            else:
                await self._deliver(event, manager.name, self._staff_channels(manager),
                                    self._context(**extra), staff=manager)
        self._spawn(go(), lookup=True)

    async def _notify_role(self, role: str, event: str, min_authority: float = 0, **extra: Any) -> None:
        for person in await self._find_people(PeopleQuery(roles=[role], min_authority=min_authority)):
            self._notify_staff(person, event, **extra)

    async def _notify_approvers(self, event: str, **extra: Any) -> None:
        pending = self.s.pending_approval
        if pending is not None:
            await self._notify_role(pending.level, event, pending.required_authority, **extra)

    def _message(self, event: str, name: str, channels: list[tuple[str, str]],
                 ctx: dict[str, Any], staff: Person | None) -> None:
        """Send one message. Queued at once (it joins the dispatch of this workflow task) unless
        the recipient is off duty; the outcome is handled in the background."""
        if not self._batched or self.policy.templates.get(event) is None \
                or self._quiet_hours_until(staff) is not None:
            self._spawn(self._deliver(event, name, channels, ctx, staff))
            return
        deliveries = self._deliveries(event, name, channels, ctx)
        queued = self._send(OutboxItem(deliveries=deliveries), f"{event} to {name}") \
            if deliveries else None
        self._spawn(self._delivered(event, name, deliveries, staff, queued))

    def _quiet_hours_until(self, staff: Person | None) -> datetime | None:
        """When an off-duty staff member's working hours start (None: on duty, or the case
        is urgent, or a customer)."""
        s, p = self.s, self.policy
        if staff is not None and staff.calendar and s.severity not in p.quiet_hours_except:
            spec = p.calendars.get(staff.calendar)
            if spec is not None and not is_open(spec, workflow.now()):
                return next_open(spec, workflow.now())
        return None

    def _deliveries(self, event: str, name: str, channels: list[tuple[str, str]],
                    ctx: dict[str, Any]) -> list[Delivery]:
        """The message on each of the recipient's channels, in order of preference."""
        s, p = self.s, self.policy
        body = render(p.templates[event], ctx)
        subject = f"[{s.id}] {event.replace('_', ' ')}"
        key = self._next_key() if self._batched else None
        return [
            Delivery(escalation_id=s.id, event=event, channel=channel, address=address,
                     recipient_name=name, subject=subject, body=body,
                     urgent=s.severity in p.quiet_hours_except,
                     idempotency_key=f"{key}:{channel}" if key else None)
            for channel, address in channels
        ]

    async def _deliver(self, event: str, name: str, channels: list[tuple[str, str]],
                       ctx: dict[str, Any], staff: Person | None) -> None:
        if self.policy.templates.get(event) is None:
            return
        wake = self._quiet_hours_until(staff)
        if wake is not None:
            try:
                # wakes early when the case ends (the message is stale: dropped) or is about
                # to continue as new (sent now rather than held across runs)
                await workflow.wait_condition(
                    lambda: self._closed or self._handing_over,
                    timeout=(wake - workflow.now()).total_seconds(),
                    timeout_summary=f"quiet hours of {staff.name}",
                )
                if self._closed:
                    self._record(WORKFLOW_ACTOR, "notification_dropped",
                                 f"{event} to {staff.name}: the case ended during their "
                                 "quiet hours")
                    return
            except TimeoutError:
                pass
        deliveries = self._deliveries(event, name, channels, ctx)
        queued = None
        if self._batched and deliveries:
            queued = self._send(OutboxItem(deliveries=deliveries), f"{event} to {name}")
        await self._delivered(event, name, deliveries, staff, queued)

    async def _delivered(self, event: str, name: str, deliveries: list[Delivery],
                         staff: Person | None, queued: asyncio.Future | None) -> None:
        """Wait for a queued message's outcome; send it on alone (with retries, channel by
        channel) what the dispatch could not; record and escalate what nothing delivered."""
        p = self.policy
        failed: list[str] = []
        if queued is not None:
            sent: OutboxResult = await queued
            failed = list(sent.failed_channels)
            if sent.status == "done":
                if failed:
                    self._record(WORKFLOW_ACTOR, "notification_fallback",
                                 f"{event} to {name}: {', '.join(failed)} failed, sent by {sent.channel}")
                return
            # failed: every channel refused for good; retry: on our own from the channel that
            # failed transiently, with the delivery retry policy
            deliveries = [] if sent.status == "failed" else deliveries[sent.retry_from:]
        for d in deliveries:
            try:
                await workflow.execute_activity(
                    "deliver", d,
                    result_type=DeliveryReceipt, start_to_close_timeout=timedelta(seconds=30),
                    retry_policy=DELIVERY_RETRY, summary=f"{event} to {name} by {d.channel}",
                )
                if failed:
                    self._record(WORKFLOW_ACTOR, "notification_fallback",
                                 f"{event} to {name}: {', '.join(failed)} failed, sent by {d.channel}")
                return
            except ActivityError:
                failed.append(d.channel)
        self._record(WORKFLOW_ACTOR, "notification_failed",
                     f"{event} to {name}: no channel delivered ({', '.join(failed) or 'no address'})")
        if event != "notification_failed" and (staff is None or staff.id != p.manager_id):
            self._notify_manager("notification_failed", failed_event=event, recipient=name)

    async def _crm_outbox(self) -> None:
        """Post each stage the case settles in to the ticketing system (stages passed through
        within one workflow task are coalesced). A failing CRM never blocks the case."""
        synced: str | None = None
        while True:
            await workflow.wait_condition(lambda: self.s.stage != synced or self._finished)
            if self.s.stage == synced:
                return
            s = self.s
            stage = s.stage
            event = CrmEvent(
                escalation_id=s.id, external_ref=s.request.external_ref, event="stage_changed",
                stage=stage, at=workflow.now(), severity=s.severity, assignee=s.assignee,
                detail=f"resolved at {s.resolved_at_tier}: {s.outcome}" if s.resolved_at_tier else "",
            )
            synced = stage
            try:
                # A regular (not local) activity: a slow or failing CRM must not hold up the
                # workflow task, and with it every update's answer.
                await workflow.execute_activity(
                    "sync_crm", event,
                    start_to_close_timeout=timedelta(seconds=15), retry_policy=CRM_RETRY,
                    summary=f"CRM sync: {stage}",
                )
            except ActivityError as e:
                self._record(WORKFLOW_ACTOR, "crm_sync_failed", f"{stage}: {e.cause or e}")

    # --- the outbox -------------------------------------------------------------------------------

    def _next_key(self) -> str:
        """An idempotency key for one message or CRM event of this run (deterministic)."""
        self._seq += 1
        return f"{workflow.info().run_id}:o{self._seq}"

    # Everything here is synchronous, run by the main loop when the stage settles (or at once
    # when a message or change comes while it is settled): which side effects go out together,
    # and in which order, follows from the workflow's own steps, never from the order in which
    # background coroutines happen to wake (which a replay need not reproduce).

    def _settle(self) -> None:
        """The stage's entry work is done: send its CRM sync, search attributes and messages."""
        if self._batched:
            s = self.s
            if s.stage != self._crm_synced:
                self._crm_synced = s.stage
                event = CrmEvent(
                    escalation_id=s.id, external_ref=s.request.external_ref,
                    event="stage_changed", stage=s.stage, at=workflow.now(), severity=s.severity,
                    assignee=s.assignee, idempotency_key=self._next_key(),
                    detail=f"resolved at {s.resolved_at_tier}: {s.outcome}" if s.resolved_at_tier else "",
                )
                self._spawn(self._crm_synced_or_retry(
                    event, self._send(OutboxItem(crm=event), f"CRM {s.stage}")))
            self._flush_visibility_now()
            self._flush_outbox()
        self._settled = True

    def _send(self, item: OutboxItem, label: str) -> asyncio.Future:
        """Queue one side effect; it goes out with the others of this workflow task (at once if
        the stage has settled). The future gets the item's OutboxResult."""
        done: asyncio.Future = asyncio.get_running_loop().create_future()
        self._outbox.append((item, done, label))
        if self._settled:
            self._flush_outbox()
        return done

    def _flush_outbox(self) -> None:
        if not self._outbox:
            return
        batch, self._outbox = self._outbox, []
        labels = ", ".join(label for _, _, label in batch)
        handle = workflow.start_activity(
            "dispatch", Dispatch(items=[item for item, _, _ in batch]),
            result_type=DispatchResult, start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RetryPolicy(maximum_attempts=1),
            summary=labels if len(labels) <= 200 else labels[:199] + "…",
        )
        self._spawn(self._dispatched(handle, [done for _, done, _ in batch]))

    async def _dispatched(self, handle: Awaitable[DispatchResult], waiting: list) -> None:
        try:
            results = (await handle).results
        except ActivityError as e:  # crashed or timed out: each item goes on alone
            results = [OutboxResult(status="retry", detail=str(e.cause or e))] * len(waiting)
        for done, r in zip(waiting, results, strict=True):
            done.set_result(r)

    async def _crm_synced_or_retry(self, event: CrmEvent, queued: asyncio.Future) -> None:
        sent: OutboxResult = await queued
        if sent.status == "failed":
            self._record(WORKFLOW_ACTOR, "crm_sync_failed", f"{event.stage}: {sent.detail}")
        if sent.status != "retry":
            return
        try:
            await workflow.execute_activity(
                "sync_crm", event, start_to_close_timeout=timedelta(seconds=15),
                retry_policy=CRM_RETRY, summary=f"CRM sync: {event.stage}",
            )
        except ActivityError as e:
            self._record(WORKFLOW_ACTOR, "crm_sync_failed", f"{event.stage}: {e.cause or e}")

    # --- bookkeeping ------------------------------------------------------------------------------

    def _spawn(self, coro: Awaitable[None], lookup: bool = False) -> None:
        """Run `coro` in the background. A `lookup` finds recipients, then queues messages (it
        does not wait for them to go out): a firing waits for its lookups (_fire_together)."""
        self._tasks = [t for t in self._tasks if not t.done()]
        task = asyncio.ensure_future(coro)
        self._tasks.append(task)
        if lookup and self._collecting is not None:
            self._collecting.append(task)

    def _record(self, actor: Actor, action: str, detail: str = "") -> None:
        opening.record(self.s, actor, action, detail, workflow.now())

    def _upsert(self) -> None:
        """Mark search attributes and details stale: sent when the stage settles, or at once
        if it has (since the patch; before it, by `_flush_visibility` once per workflow task)."""
        self._dirty = True
        if self._batched and self._settled:
            self._flush_visibility_now()

    def _flush_visibility_now(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        updates = []
        for name, (key, value) in self._search_attributes().items():
            if name in self._sa_sent and self._sa_sent[name] == value:
                continue
            if value is None and name not in self._sa_sent:
                continue
            updates.append(key.value_set(value) if value is not None else key.value_unset())
            self._sa_sent[name] = value
        if updates:
            workflow.upsert_search_attributes(updates)
        self._set_details()

    def _search_attributes(self) -> dict[str, tuple[Any, Any]]:
        return {key.name: (key, value)
                for key, value in opening.search_attributes(self.s).items()}

    async def _flush_visibility(self) -> None:
        """Before the patch: search attributes sent by a background coroutine."""
        sent: dict[str, Any] = {}
        while True:
            await workflow.wait_condition(lambda: self._dirty or self._finished)
            self._dirty = False
            updates = []
            for name, (key, value) in self._search_attributes().items():
                if name in sent and sent[name] == value:
                    continue
                if value is None and name not in sent:
                    continue
                updates.append(key.value_set(value) if value is not None else key.value_unset())
                sent[name] = value
            if updates:
                workflow.upsert_search_attributes(updates)
            self._set_details()
            if self._finished:
                return

    def _set_details(self) -> None:
        s = self.s
        req = s.request
        waiting = {
            "helpline_consult": "the help line (consult)",
            "specialist": f"{s.assignee_name or 'routing'}" + ("" if s.acknowledged else " to acknowledge"),
            "executive_signoff": f"a {s.pending_approval.level} to sign off" if s.pending_approval else "",
            "follow_up": "the next customer check-in",
        }.get(s.stage, "")
        clocks = ", ".join(
            f"{c.name} {'met' if c.stopped_at else 'paused' if c.paused else 'due ' + c.due_at.strftime('%Y-%m-%d %H:%M')}"
            + (" BREACHED" if c.breached else "")
            for c in s.clocks
        )
        workflow.set_current_details(
            f"**{s.id}** - {req.customer.name}: {req.summary}\n\n"
            f"stage **{s.stage}**, {s.severity or '-'}; waiting on: {waiting or '-'}\n\n"
            f"clocks: {clocks or '-'}"
        )

    def _view(self) -> EscalationView:
        return opening.view(self.s, self.policy, workflow.now())
