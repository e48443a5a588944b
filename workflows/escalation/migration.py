"""Moving a case in flight to another policy version (update `migrate_policy`, issue 25).

Cases keep the version they were opened under unless an operator or the manager moves them. A
move keeps what has happened: the business time each SLA clock has already used (measured on the
calendar it counted on), warnings and breaches already recorded, the stage, the owner and any
pending approval. What the new version decides from now on is re-derived: each running clock's
calendar, target and due time, the promise to the customer, and every later deadline, reminder
and message (they read the case's policy when they come up). A wait already running in the
current stage (an acknowledgement or consult window, an approval reminder) keeps its deadline
until it fires.

A case is refused (with the reason) where its stage does not exist in the new version: the team
handling it, the authority level its approval waits on, or a calendar one of its clocks counts on
is not defined there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from temporalio import workflow

from workflows import clocks as clk
from workflows import opening
from workflows.inputs import ActionInput
from workflows.models import EscalationState
from workflows.policy import Policy, pinned
from workflows.stages import Stage

if TYPE_CHECKING:
    from workflows.escalation.workflow import EscalationWorkflow

from pydantic import Field


class PolicyMigration(ActionInput):
    """Move the case to `policy` (a whole policy copy, holidays expanded, as a case is opened
    with), for `reason`."""

    policy: Any = Field(description="The new version's policy copy (JSON)")
    reason: str = Field("", max_length=2000)


def refusal(s: EscalationState, old: Policy, new: Policy) -> str | None:
    """Why this case cannot move to `new` (None: it can)."""
    if new.version == (s.policy_version or old.version):
        return f"the case already runs under version {new.version}"
    teams = {t.name for t in new.teams}
    with_team = s.stage in (Stage.SPECIALIST, Stage.EXECUTIVE_SIGNOFF)
    if with_team and s.assigned_team and s.assigned_team not in teams:
        return (
            f"its stage {s.stage} is with team {s.assigned_team}, which version "
            f"{new.version} does not have"
        )
    levels = {lvl.role for lvl in new.signoff.levels}
    pending = s.pending_approval
    if s.stage == Stage.EXECUTIVE_SIGNOFF and pending and pending.level not in levels:
        return (
            f"its approval waits on the {pending.level} level, which version {new.version} "
            "does not have"
        )
    calendars = set(new.calendars) | {"24x7"}
    target = opening.default_calendar(new, s)
    for c in s.clocks:
        kept = c.calendar if c.stopped_at else target
        if kept not in calendars:
            return f"its {c.name} clock counts on calendar {kept!r}, not in version {new.version}"
    return None


def migrate(wf: EscalationWorkflow, u: PolicyMigration) -> None:
    """Re-target the clocks under the new version, keeping the business time used; pin it."""
    old, new = wf.policy, pinned(u.policy)
    s, now = wf.s, workflow.now()
    before = s.policy_version or old.version
    cal = opening.default_calendar(new, s)
    for c in s.clocks:
        target = opening.target_s(new, s, c.name)
        clk.rebase(c, cal, old.calendar(c.calendar), new.calendar(cal), target, now)
    wf.policy = new
    s.policy_version = new.version
    wf.record(u.actor, "policy_migrated", f"{before} -> {new.version}: {u.reason}".rstrip(": "))
    wf.sla.changed()
    wf.mark_visibility()
