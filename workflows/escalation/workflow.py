"""EscalationWorkflow: one durable workflow per escalation. This class is the table of contents.

- The opening (triage, SLA clocks, tier-1 check) happens before any handler runs, exactly as the
  API answered the POST (workflows/opening.py).
- The main loop (`run`) runs each stage's entry work and deadlines (stage_work.py) until a final
  stage; which stage may follow which is workflows/stages.py.
- Actions are updates: the validator refuses what must not enter history (the access table,
  workflows/access.py, and the case's own rules); the handler records the fact and, where it
  decides the next stage, moves the case at once, so every reply already shows its effect.
- The updates that follow a case through beyond its stages (callbacks, the customer's feedback)
  are in follow_through.py, a base class of this one.
- Alongside: the SLA watcher (sla.py), messages (notifier.py), the outbox of side effects
  (outbox.py), directory lookups (people.py), what the Temporal UI shows (visibility.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    import pydantic  # noqa: F401  (pass-through: avoids re-importing it per workflow)

    from workflows import access, opening, packet, rules, timers
    from workflows.access import Action
    from workflows.escalation import (
        actions,
        capture_work,
        contributions,
        guards,
        handover,
        migration,
        promises,
        reading,
    )
    from workflows.escalation.facts import all_facts
    from workflows.escalation.follow_through import FollowThrough
    from workflows.escalation.notifier import Notifier
    from workflows.escalation.outbox import Outbox
    from workflows.escalation.people import People
    from workflows.escalation.sla import SlaWatcher
    from workflows.escalation.stage_work import STAGE_WORK
    from workflows.escalation.visibility import Visibility
    from workflows.inputs import (
        WORKFLOW_VERSION,
        Acknowledge,
        AddNote,
        AnswerQuestions,
        ConsultAnswer,
        CustomerContact,
        Decision,
        EscalationAsk,
        InfoRequest,
        Proposal,
        Reason,
        ResolveCase,
        SeverityChange,
        StartEscalation,
    )
    from workflows.messages import CaseFacts, OutboxItem
    from workflows.models import Actor, Tier
    from workflows.policy import pinned
    from workflows.stages import FINAL_STAGES, IllegalTransition, Stage, Wake
    from workflows.views import EscalationView, Handover, Timeline


@workflow.defn
class EscalationWorkflow(FollowThrough):
    @workflow.init
    def __init__(self, inp: StartEscalation) -> None:
        self.epoch = 0  # bumped on every stage transition (wakes the main loop)
        self.settled = False  # the stage's entry work is done; side effects go out at once
        self.finished = False  # the run is ending (final stage or continue-as-new)
        self.closed = False  # final stage reached: pending staff messages are stale
        self.handing_over = False  # continue-as-new under way: send held messages now
        self.collecting: list[asyncio.Task] | None = None  # an SLA firing's lookups (sla.py)
        self.tasks: list[asyncio.Task] = []
        self.can_after = inp.continue_as_new_after_events
        self.version = inp.version
        self.policy = pinned(inp.policy)
        self.sla = SlaWatcher(self)
        self.people = People(self.spawn)
        self.notify = Notifier(self)
        self.visibility = Visibility()
        if inp.resume is not None:
            self.s = inp.resume
        else:
            self.s = opening.open_case(self.policy, inp, inp.opened_at)
            self.sla.changed()
            self.epoch += 1
        self.outbox = Outbox(self.spawn, self.record_process, lambda: self.settled, lambda: self.s)

    # --- run ------------------------------------------------------------------------------------

    @workflow.run
    async def run(self, inp: StartEscalation) -> EscalationView:
        if self.version != WORKFLOW_VERSION:
            raise ApplicationError(
                f"behaviour version {self.version} is retired; this worker runs "
                f"{WORKFLOW_VERSION} (docs/decisions/0002)",
                type="RetiredVersion",
                non_retryable=True,
            )
        # The SDK holds the input for the whole run; the policy copy in it is parsed (and shared,
        # see workflows/policy.pinned) and not read again, so a cached case does not keep it
        # (dropped here, after the workers' interceptor has checked the input's signature).
        inp.policy = None
        self.watcher = self.spawn(self.sla.run())
        promises.resume(self)  # the promises a previous run was watching
        contributions.resume(self)
        if reading.wanted(self.s):
            self.spawn(reading.read_intake(self.s, self.policy, self.record_process, self._urged))
        carried, self.s.carried = self.s.carried, []
        for item in carried:
            self.outbox.resume(OutboxItem.model_validate(item), self.notify.resume)
        while self.s.stage not in FINAL_STAGES:
            if self._should_continue_as_new():
                await self._continue_as_new()
            epoch = self.epoch
            work = STAGE_WORK.get(self.s.stage)
            if work is None:
                raise ApplicationError(
                    f"no work defined for stage {self.s.stage}",
                    type="IllegalTransition",
                    non_retryable=True,
                )
            await work(self)
            if self.epoch == epoch and self.s.stage not in FINAL_STAGES:
                self.settle()
                await workflow.wait_condition(
                    lambda: self.epoch != epoch or self._should_continue_as_new()
                )
        self.finished = self.closed = True
        self.sla.changed()
        self.settle()
        await workflow.wait_condition(workflow.all_handlers_finished)
        await asyncio.gather(*self.tasks, return_exceptions=True)
        return self.view()

    # --- queries --------------------------------------------------------------------------------

    @workflow.query
    def state(self) -> EscalationView:
        return self.view()

    @workflow.query
    def timeline(self) -> Timeline:
        return Timeline(items=list(self.s.timeline), elided=self.s.timeline_elided)

    @workflow.query
    def facts(self) -> CaseFacts:
        """The case's facts as the report store takes them (read by its rebuild)."""
        return all_facts(self.s, workflow.now())

    @workflow.query
    def handover(self) -> Handover:
        return packet.handover(self.s, self.policy)

    # --- updates --------------------------------------------------------------------------------
    # Each handler runs its validator again first: several updates accepted in one workflow task
    # are validated before any of their handlers runs, so the first may change what the second
    # was validated against (two racing approvals); the second then fails cleanly as a conflict.

    @workflow.update
    async def consult_answer(self, u: ConsultAnswer) -> EscalationView:
        self._v_consult_answer(u)
        actions.consult_answer(self, u)
        if not u.resolves:  # the answer comes once the case is routed: it names the assignee
            await workflow.wait_condition(
                lambda: self.settled or self.finished or self._should_continue_as_new()
            )
        return self.view()

    @consult_answer.validator
    def _v_consult_answer(self, u: ConsultAnswer) -> None:
        guards.allowed(self.s, Action.CONSULT_ANSWER, u.actor)
        if not u.resolves and (missing := capture_work.missing_texts(self.s, self.policy)):
            raise guards.conflict(
                "a specialist needs the frontline's answers first: " + "; ".join(missing)
            )

    @workflow.update
    async def acknowledge(self, u: Acknowledge) -> EscalationView:
        self._v_acknowledge(u)
        actions.acknowledge(self, u)
        return self.view()

    @acknowledge.validator
    def _v_acknowledge(self, u: Acknowledge) -> None:
        guards.allowed(self.s, Action.ACKNOWLEDGE, u.actor)
        guards.owner_only(self.s, Action.ACKNOWLEDGE, u.actor)
        if self.s.acknowledged and self.s.assignee == u.actor.id:
            raise guards.conflict("already acknowledged by you")

    @workflow.update
    async def add_note(self, u: AddNote) -> EscalationView:
        self._v_add_note(u)
        opening.add_note(self.s, u.actor, u.text, workflow.now())
        return self.view()

    @add_note.validator
    def _v_add_note(self, u: AddNote) -> None:
        guards.allowed(self.s, Action.ADD_NOTE, u.actor)

    @workflow.update
    async def request_info(self, u: InfoRequest) -> EscalationView:
        self._v_request_info(u)
        actions.request_info(self, u)
        return self.view()

    @request_info.validator
    def _v_request_info(self, u: InfoRequest) -> None:
        guards.allowed(self.s, Action.REQUEST_INFO, u.actor)
        guards.owner_only(self.s, Action.REQUEST_INFO, u.actor)
        if self.s.waiting_on_customer:
            raise guards.conflict("already waiting on the customer")

    @workflow.update
    async def customer_contact(self, u: CustomerContact) -> EscalationView:
        self._v_customer_contact(u)
        actions.customer_contact(self, u)
        return self.view()

    @customer_contact.validator
    def _v_customer_contact(self, u: CustomerContact) -> None:
        guards.allowed(self.s, Action.CUSTOMER_CONTACT, u.actor)

    @workflow.update
    async def answer_questions(self, u: AnswerQuestions) -> EscalationView:
        self._v_answer_questions(u)
        capture_work.record_answers(self.s, self.policy, u, workflow.now())
        return self.view()

    @answer_questions.validator
    def _v_answer_questions(self, u: AnswerQuestions) -> None:
        guards.allowed(self.s, Action.ANSWER_QUESTIONS, u.actor)
        if refusal := capture_work.answers_refusal(self.s, self.policy, u):
            raise guards.invalid(refusal)

    @workflow.update
    async def ask_escalation(self, u: EscalationAsk) -> EscalationView:
        self._v_ask_escalation(u)
        capture_work.record_ask(
            self.s,
            u,
            workflow.now(),
            lambda reason: self.notify.manager("escalation_asked", reason=reason),
        )
        return self.view()

    @ask_escalation.validator
    def _v_ask_escalation(self, u: EscalationAsk) -> None:
        guards.allowed(self.s, Action.ASK_ESCALATION, u.actor)
        if refusal := capture_work.ask_refusal(self.s, workflow.now()):
            raise guards.conflict(refusal)

    @workflow.update
    async def propose(self, u: Proposal) -> EscalationView:
        self._v_propose(u)
        actions.propose(self, u)
        return self.view()

    @propose.validator
    def _v_propose(self, u: Proposal) -> None:
        guards.allowed(self.s, Action.PROPOSE, u.actor)
        guards.owner_only(self.s, Action.PROPOSE, u.actor)
        if not self.s.acknowledged:
            raise guards.conflict("acknowledge the escalation before proposing a remedy")
        if u.remedy.currency != self.policy.currency:
            raise ApplicationError(
                f"remedy.currency: the policy's currency is {self.policy.currency}",
                type="Invalid",
                non_retryable=True,
            )

    @workflow.update
    async def decide(self, u: Decision) -> EscalationView:
        self._v_decide(u)
        actions.decide(self, u)
        return self.view()

    @decide.validator
    def _v_decide(self, u: Decision) -> None:
        guards.allowed(self.s, Action.DECIDE, u.actor)
        pending = self.s.pending_approval
        if pending is None:
            raise guards.conflict("nothing awaits approval")
        refusal = rules.approval_refusal(u.actor, pending.required_authority) or (
            access.level_refusal(u.actor.role, pending.level)
        )
        if refusal:
            raise guards.forbidden(refusal)
        guards.not_the_proposer(u.actor, pending)

    @workflow.update
    async def resolve(self, u: ResolveCase) -> EscalationView:
        self._v_resolve(u)
        actions.resolve(self, u)
        return self.view()

    @resolve.validator
    def _v_resolve(self, u: ResolveCase) -> None:
        guards.allowed(self.s, Action.RESOLVE, u.actor)
        guards.owner_only(self.s, Action.RESOLVE, u.actor)
        if u.root_cause is not None and u.root_cause not in self.policy.root_causes:
            raise guards.invalid(
                f"root_cause: not in the policy's list ({', '.join(self.policy.root_causes)})"
            )

    @workflow.update
    async def reopen(self, u: Reason) -> EscalationView:
        self._v_reopen(u)
        actions.reopen(self, u.actor, u.reason)
        return self.view()

    @reopen.validator
    def _v_reopen(self, u: Reason) -> None:
        guards.allowed(self.s, Action.REOPEN, u.actor)

    @workflow.update
    async def cancel(self, u: Reason) -> EscalationView:
        self._v_cancel(u)
        actions.cancel(self, u)
        return self.view()

    @cancel.validator
    def _v_cancel(self, u: Reason) -> None:
        guards.allowed(self.s, Action.CANCEL, u.actor)

    @workflow.update
    async def change_severity(self, u: SeverityChange) -> EscalationView:
        self._v_change_severity(u)
        actions.change_severity(self, u)
        return self.view()

    @change_severity.validator
    def _v_change_severity(self, u: SeverityChange) -> None:
        guards.allowed(self.s, Action.CHANGE_SEVERITY, u.actor)
        if u.severity == self.s.severity:
            raise guards.conflict(f"severity is already {u.severity}")

    @workflow.update
    async def migrate_policy(self, u: migration.PolicyMigration) -> EscalationView:
        self._v_migrate_policy(u)
        migration.migrate(self, u)
        return self.view()

    @migrate_policy.validator
    def _v_migrate_policy(self, u: migration.PolicyMigration) -> None:
        guards.allowed(self.s, Action.MIGRATE_POLICY, u.actor)
        if refusal := migration.refusal(self.s, self.policy, pinned(u.policy)):
            raise guards.conflict(refusal)

    # --- moving the case --------------------------------------------------------------------------

    def goto(self, stage: Stage) -> None:
        """The one way a case changes stage; a move the stage table does not list fails the
        workflow for good (a bug) instead of retrying its task forever."""
        try:
            opening.move(self.s, stage, workflow.now())
        except IllegalTransition as e:
            raise ApplicationError(str(e), type="IllegalTransition", non_retryable=True) from e
        self.moved()

    def moved(self) -> None:
        """The stage changed: wake the main loop, hold side effects until it settles."""
        self.epoch += 1
        self.settled = False
        self.outbox.facts.moved(self.s)
        self.mark_visibility()

    def resolve_case(self, tier: Tier, outcome: str, actor: Actor) -> None:
        opening.resolve(self.s, self.policy, tier, outcome, actor, workflow.now())
        self.sla.changed()
        self.moved()

    async def wait(
        self,
        epoch: int,
        until: datetime | None,
        summary: str,
        extra: Callable[[], bool] | None = None,
    ) -> Wake:
        """Wait for a stage transition, `until` (a durable timer), `extra`, or continue-as-new."""

        def done() -> bool:
            return (
                self.epoch != epoch
                or (extra is not None and extra())
                or self._should_continue_as_new()
            )

        timeout = None
        if until is not None:
            timeout = (until - workflow.now()).total_seconds()
            if timeout <= 0:
                return Wake.TIMEOUT
        self.settle()
        if not await timers.wait(done, timeout, summary):
            return Wake.TIMEOUT
        if self.epoch != epoch:
            return Wake.TRANSITION
        if extra is not None and extra():
            return Wake.CONDITION
        return Wake.CONTINUE_AS_NEW

    # --- continue-as-new --------------------------------------------------------------------------

    def _should_continue_as_new(self) -> bool:
        info = workflow.info()
        if self.can_after is not None and info.get_current_history_length() > self.can_after:
            return True
        return info.is_continue_as_new_suggested()

    async def _continue_as_new(self) -> None:
        await handover.continue_as_new(self)

    # --- bookkeeping ------------------------------------------------------------------------------

    def settle(self) -> None:
        """The stage's entry work is done: send its CRM sync, search attributes and messages."""
        self.outbox.sync_stage(self.s)
        self.visibility.flush(self.s)
        self.outbox.flush()
        self.settled = True

    def _urged(self) -> None:
        """The urgency rose (reading.py): deadlines on round-the-clock cases follow it."""
        self.sla.changed()
        self.mark_visibility()

    def mark_visibility(self) -> None:
        """Search attributes and details are stale: sent when the stage settles (at once if it
        has)."""
        self.visibility.dirty = True
        if self.settled:
            self.visibility.flush(self.s)

    def spawn(self, coro: Awaitable[None], lookup: bool = False) -> asyncio.Task[None]:
        """Run `coro` in the background. A `lookup` finds recipients, then queues messages (it
        does not wait for them to go out): an SLA firing waits for its lookups (sla.py)."""
        self.tasks = [t for t in self.tasks if not t.done()]
        task = asyncio.ensure_future(coro)
        self.tasks.append(task)
        if lookup and self.collecting is not None:
            self.collecting.append(task)
        return task

    def record(self, actor: Actor, action: str, detail: str = "") -> None:
        opening.record(self.s, actor, action, detail, workflow.now())

    def record_process(self, action: str, detail: str = "") -> None:
        self.record(opening.WORKFLOW_ACTOR, action, detail)

    def view(self) -> EscalationView:
        return opening.view(self.s, self.policy, workflow.now())
