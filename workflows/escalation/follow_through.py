"""The updates that follow a case through beyond its stages (issue 22): the customer's answers
to check-ins (feedback.py), callbacks promised to the customer (promises.py), managers
reassigning a case or chasing its owner (ownership.py), and contributions asked of other teams
(contributions.py). A base class
of EscalationWorkflow (Temporal reads the updates of the whole class), so workflow.py stays the
table of contents; the same rules apply: each validator reads the access table first."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from workflows.access import Action
    from workflows.escalation import contributions, feedback, guards, ownership, promises
    from workflows.inputs import (
        CallbackDone,
        CallbackPromise,
        ChaseOwner,
        ContributionAnswer,
        ContributionRequest,
        FeedbackAnswer,
        OperatorRecord,
        ReassignCase,
    )
    from workflows.models import EscalationState
    from workflows.views import EscalationView

if TYPE_CHECKING:
    from workflows.escalation.workflow import EscalationWorkflow


class FollowThrough:
    s: EscalationState

    def view(self) -> EscalationView:
        raise NotImplementedError  # EscalationWorkflow.view

    @property
    def wf(self) -> EscalationWorkflow:
        return cast("EscalationWorkflow", self)

    @workflow.update
    async def customer_feedback(self, u: FeedbackAnswer) -> EscalationView:
        self._v_customer_feedback(u)
        feedback.record(self.wf, u)
        return self.view()

    @customer_feedback.validator
    def _v_customer_feedback(self, u: FeedbackAnswer) -> None:
        guards.allowed(self.s, Action.CUSTOMER_FEEDBACK, u.actor)
        feedback.check(self.s, self.wf.policy, u)

    @workflow.update
    async def promise_callback(self, u: CallbackPromise) -> EscalationView:
        self._v_promise_callback(u)
        promises.promise(self.wf, u)
        return self.view()

    @promise_callback.validator
    def _v_promise_callback(self, u: CallbackPromise) -> None:
        guards.allowed(self.s, Action.PROMISE_CALLBACK, u.actor)
        promises.check_promise(self.wf, u)

    @workflow.update
    async def callback_done(self, u: CallbackDone) -> EscalationView:
        self._v_callback_done(u)
        promises.done(self.wf, u)
        return self.view()

    @callback_done.validator
    def _v_callback_done(self, u: CallbackDone) -> None:
        guards.allowed(self.s, Action.CALLBACK_DONE, u.actor)
        promises.check_done(self.wf, u)

    @workflow.update
    async def reassign(self, u: ReassignCase) -> EscalationView:
        self._v_reassign(u)
        ownership.reassign(self.wf, u)
        return self.view()

    @reassign.validator
    def _v_reassign(self, u: ReassignCase) -> None:
        guards.allowed(self.s, Action.REASSIGN, u.actor)
        ownership.check_reassign(self.wf, u)

    @workflow.update
    async def chase(self, u: ChaseOwner) -> EscalationView:
        self._v_chase(u)
        ownership.chase(self.wf, u)
        return self.view()

    @chase.validator
    def _v_chase(self, u: ChaseOwner) -> None:
        guards.allowed(self.s, Action.CHASE, u.actor)
        ownership.check_chase(self.wf, u)

    @workflow.update
    async def request_contribution(self, u: ContributionRequest) -> EscalationView:
        self._v_request_contribution(u)
        contributions.request(self.wf, u)
        return self.view()

    @request_contribution.validator
    def _v_request_contribution(self, u: ContributionRequest) -> None:
        guards.allowed(self.s, Action.REQUEST_CONTRIBUTION, u.actor)
        contributions.check_request(self.wf, u)

    @workflow.update
    async def answer_contribution(self, u: ContributionAnswer) -> EscalationView:
        self._v_answer_contribution(u)
        contributions.answer(self.wf, u)
        return self.view()

    @answer_contribution.validator
    def _v_answer_contribution(self, u: ContributionAnswer) -> None:
        guards.allowed(self.s, Action.ANSWER_CONTRIBUTION, u.actor)
        contributions.check_answer(self.wf, u)

    # An operator's server call on the workflow (an activity retried, a reset), told by the API
    # afterwards so the timeline says who did it and why. Only a timeline entry: no command.
    @workflow.update
    async def record_operator_action(self, u: OperatorRecord) -> EscalationView:
        self._v_record_operator_action(u)
        self.wf.record(u.actor, u.action, u.detail)
        return self.view()

    @record_operator_action.validator
    def _v_record_operator_action(self, u: OperatorRecord) -> None:
        guards.allowed(self.s, Action.RECORD_OPERATOR_ACTION, u.actor)
