"""PolicyChangeWorkflow: one stored draft through review to live (workflow id
`policy-change-<version>`). Its history is the change's audit trail: who proposed it, every
decision with its comment, every reminder, the go-live time and when it went live.

- review: each approver role the live policy names (`[change] approvers`) approves or rejects
  with a comment (update `decide_change`, validated); those who have not decided are reminded
  every `reminder_every_h` (a durable timer; `find_people` + `deliver`, as the digest sends);
- one rejection ends the change: the version is `rejected` and never goes live;
- once every approver has approved, it goes live at `go_live_at` (a durable timer the manager may
  move with `schedule_change`) or at once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    import pydantic  # noqa: F401  (pass-through, as in the escalation workflow)

    from workflows import timers
    from workflows.access import Action, four_eyes_refusal, role_refusal
    from workflows.messages import Delivery, PeopleQuery, PeopleResult
    from workflows.policy_change.models import (
        ChangeDecision,
        ChangeSchedule,
        ChangeStart,
        ChangeStatus,
        DecisionRecord,
        StoredVersion,
        VersionMove,
    )
    from workflows.policy_change.models import VersionState as S

RETRY = RetryPolicy(maximum_attempts=10, maximum_interval=timedelta(minutes=1))
# An approver may set a go-live time this far in the past (clock skew, a slow form): it means now.
PAST_GRACE = timedelta(minutes=5)


def refused(kind: str, detail: str) -> ApplicationError:
    return ApplicationError(detail, type=kind, non_retryable=True)


@workflow.defn
class PolicyChangeWorkflow:
    @workflow.init
    def __init__(self, inp: ChangeStart) -> None:
        self.inp = inp
        self.state = S.DRAFT
        self.decisions: list[DecisionRecord] = []
        self.go_live_at = inp.go_live_at
        self.schedule_moves = 0  # bumped by schedule_change: wakes the go-live timer
        self.reminders = 0
        self.live_at: datetime | None = None

    @workflow.run
    async def run(self, inp: ChangeStart) -> ChangeStatus:
        await self._move(S.IN_REVIEW, [S.DRAFT])
        while not self._decided():
            if not await timers.wait(
                self._decided,
                inp.reminder_every_h * 3600,
                "approvers' decisions (then a reminder)",
            ):
                await self._remind()
        if any(d.decision == "reject" for d in self.decisions):
            await self._move(S.REJECTED, [S.IN_REVIEW])
            return self.status()
        await self._move(S.APPROVED, [S.IN_REVIEW])
        while (at := self.go_live_at) is not None and at > workflow.now():
            await self._move(S.SCHEDULED, [S.APPROVED, S.SCHEDULED], go_live_at=at)
            moves = self.schedule_moves
            if not await timers.wait(
                lambda: self.schedule_moves != moves,
                (at - workflow.now()).total_seconds(),
                f"go live at {at.isoformat()}",
            ):
                break
        self.live_at = (await self._move(S.LIVE, [S.APPROVED, S.SCHEDULED])).live_at
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.status()

    # --- queries and updates --------------------------------------------------------------------

    @workflow.query
    def status(self) -> ChangeStatus:
        decided = {d.role for d in self.decisions}
        return ChangeStatus(
            version=self.inp.version,
            state=self.state,
            proposer=self.inp.proposer.id,
            note=self.inp.note,
            approvers=self.inp.approvers,
            decisions=list(self.decisions),
            waiting_for=[r for r in self.inp.approvers if r not in decided],
            go_live_at=self.go_live_at,
            reminders_sent=self.reminders,
            live_at=self.live_at,
        )

    @workflow.update
    async def decide_change(self, u: ChangeDecision) -> ChangeStatus:
        self._v_decide_change(u)
        await workflow.wait_condition(lambda: self.state != S.DRAFT)  # the store says in review
        self._v_decide_change(u)  # again: another decision may have come in meanwhile
        self.decisions.append(
            DecisionRecord(
                role=u.actor.role,
                by=u.actor.id,
                by_name=u.actor.name,
                decision=u.decision,
                comment=u.comment,
                at=workflow.now(),
            )
        )
        # the last decision answers once the store says what it led to (approved or rejected)
        await workflow.wait_condition(lambda: self.state != S.IN_REVIEW or not self._decided())
        return self.status()

    @decide_change.validator
    def _v_decide_change(self, u: ChangeDecision) -> None:
        if self.state not in (S.DRAFT, S.IN_REVIEW) or self._decided():
            raise refused("Conflict", f"version {self.inp.version} is no longer in review")
        if (why := role_refusal(Action.POLICY_APPROVE, u.actor.role)) is not None:
            raise refused("Forbidden", why)
        if why := four_eyes_refusal(
            Action.POLICY_APPROVE, u.actor.id, (self.inp.proposer.id, self.inp.author)
        ):
            raise refused("Forbidden", why)
        if u.actor.role not in self.inp.approvers:
            raise refused(
                "Forbidden",
                f"the live policy names {', '.join(self.inp.approvers)} as this change's "
                f"approvers, not {u.actor.role}",
            )
        if any(d.role == u.actor.role for d in self.decisions):
            raise refused("Conflict", f"the {u.actor.role} has already decided on this change")

    @workflow.update
    async def schedule_change(self, u: ChangeSchedule) -> ChangeStatus:
        self._v_schedule_change(u)
        self.go_live_at = u.go_live_at
        self.schedule_moves += 1
        return self.status()

    @schedule_change.validator
    def _v_schedule_change(self, u: ChangeSchedule) -> None:
        if (why := role_refusal(Action.POLICY_PROPOSE, u.actor.role)) is not None:
            raise refused("Forbidden", why)
        if self.state in (S.LIVE, S.REJECTED, S.RETIRED):
            raise refused("Conflict", f"version {self.inp.version} is {self.state}")
        if u.go_live_at is not None and u.go_live_at < workflow.now() - PAST_GRACE:
            raise refused("Invalid", "go_live_at: in the past; leave it empty for 'at once'")

    # --- steps ----------------------------------------------------------------------------------

    def _decided(self) -> bool:
        if any(d.decision == "reject" for d in self.decisions):
            return True
        return {d.role for d in self.decisions} >= set(self.inp.approvers)

    async def _move(
        self, to: S, from_states: list[S], go_live_at: datetime | None = None
    ) -> StoredVersion:
        row: StoredVersion = await workflow.execute_activity(
            "move_policy_version",
            VersionMove(
                version=self.inp.version,
                to=to,
                from_states=from_states,
                change_id=workflow.info().workflow_id,
                go_live_at=go_live_at,
                at=workflow.now(),
            ),
            result_type=StoredVersion,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RETRY,
            summary=f"version {self.inp.version}: {to}",
        )
        self.state = row.state
        return row

    async def _remind(self) -> None:
        waiting = self.status().waiting_for
        found: PeopleResult = await workflow.execute_activity(
            "find_people",
            PeopleQuery.model_validate({"roles": waiting}),
            result_type=PeopleResult,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RETRY,
            summary=f"approvers still to decide: {', '.join(waiting)}",
        )
        self.reminders += 1
        for person in found.people:
            if not person.email:
                continue
            await workflow.execute_activity(
                "deliver",
                Delivery(
                    escalation_id=workflow.info().workflow_id,
                    event="policy_change_reminder",
                    channel="email",
                    address=person.email,
                    recipient_name=person.name,
                    subject=f"Policy {self.inp.version} awaits your decision",
                    body=(
                        f"{self.inp.proposer.name} proposed policy version {self.inp.version}: "
                        f"{self.inp.note or '(no note)'}. Please approve or reject it "
                        f"(GET /policy/versions/{self.inp.version} shows the change)."
                    ),
                    audience="staff",
                    idempotency_key=f"{workflow.info().workflow_id}:reminder:{self.reminders}:"
                    f"{person.id}",
                ),
                start_to_close_timeout=timedelta(minutes=1),
                retry_policy=RETRY,
                summary=f"reminder to {person.name}",
            )
