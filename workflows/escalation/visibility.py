"""What operators see in the Temporal UI: search attributes (only those that changed) and the
workflow's current details. Marked stale by any change, sent when the stage settles."""

from __future__ import annotations

from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeKey

with workflow.unsafe.imports_passed_through():
    from workflows import opening
    from workflows import search_attributes as sa
    from workflows.access import APPROVER_RANK
    from workflows.models import EscalationState
    from workflows.stages import Stage


class Visibility:
    def __init__(self) -> None:
        self.dirty = True
        # what the starter set (the API sets them all) is not sent again
        self._sent: dict[str, Any] = {
            p.key.name: p.value for p in workflow.info().typed_search_attributes
        }

    def flush(self, s: EscalationState) -> None:
        if not self.dirty:
            return
        self.dirty = False
        updates = []
        for key, value in (opening.search_attributes(s) | console_attributes(s)).items():
            if key.name in self._sent and self._sent[key.name] == value:
                continue
            if value is None and key.name not in self._sent:
                continue
            if key.name in PATCHES and not workflow.patched(PATCHES[key.name]):
                continue  # histories recorded before these attributes existed never sent them
            updates.append(key.value_set(value) if value is not None else key.value_unset())
            self._sent[key.name] = value
        if updates:
            workflow.upsert_search_attributes(updates)
        workflow.set_current_details(details(s))


PATCHES = {
    sa.PENDING_LEVEL.name: "console2-pending-attributes",
    sa.PENDING_AUTHORITY.name: "console2-pending-attributes",
    sa.ATTENTION.name: "console2-attention-attribute",
}
AT_RISK_FRACTION = 0.75


def console_attributes(s: EscalationState) -> dict[SearchAttributeKey, Any]:
    """What the console's inboxes list by (None: not set): the pending approval's level and
    authority, and what the escalated-accounts manager must look at."""
    pending = s.pending_approval
    attention = []
    if any(
        not c.breached
        and not c.stopped_at
        and max(c.warned_fractions, default=0) >= AT_RISK_FRACTION
        for c in s.clocks
    ):
        attention.append(sa.AT_RISK)
    if any(e.action == "notification_failed" for e in s.timeline):
        attention.append(sa.UNDELIVERED)
    if s.stage == Stage.SPECIALIST and s.assignee and not s.acknowledged:
        attention.append(sa.AWAITING_ACK)
    return {
        sa.PENDING_LEVEL: APPROVER_RANK.get(pending.level, 0) if pending else None,
        sa.PENDING_AUTHORITY: pending.required_authority if pending else None,
        sa.ATTENTION: attention or None,
    }


def details(s: EscalationState) -> str:
    """The Temporal UI's current details: the case, its stage, whom it waits on, its clocks."""
    req = s.request
    waiting = {
        Stage.TIER1_EXCEPTION: "the customer's past year (goodwill budget)",
        Stage.HELPLINE_CONSULT: "the help line (consult)",
        Stage.SPECIALIST: f"{s.assignee_name or 'routing'}"
        + ("" if s.acknowledged else " to acknowledge"),
        Stage.EXECUTIVE_SIGNOFF: f"a {s.pending_approval.level} to sign off"
        if s.pending_approval
        else "",
        Stage.FOLLOW_UP: "the next customer check-in",
    }.get(s.stage, "")
    clocks = ", ".join(
        f"{c.name} "
        + (
            "met"
            if c.stopped_at
            else "paused"
            if c.paused
            else "due " + c.due_at.strftime("%Y-%m-%d %H:%M")
            if c.due_at
            else "running"
        )
        + (" BREACHED" if c.breached else "")
        for c in s.clocks
    )
    return (
        f"**{s.id}** - {req.customer.name}: {req.summary}\n\n"
        f"stage **{s.stage}**, {s.severity or '-'}; waiting on: {waiting or '-'}\n\n"
        f"clocks: {clocks or '-'}"
    ) + promises(s)


def promises(s: EscalationState) -> str:
    """Open promises with their own deadlines (callbacks, contributions asked of other
    teams), for the current details."""
    open_ = [
        f"callback {c.number} {c.at.strftime('%Y-%m-%d %H:%M')} ({c.promised_by})"
        for c in s.callbacks
        if c.done_at is None and not c.missed
    ]
    open_ += [
        f"contribution {c.number} from {c.team} due {c.due_at.strftime('%Y-%m-%d %H:%M')}"
        for c in s.contributions
        if c.answered_at is None and not c.breached
    ]
    missed = sum(c.missed for c in s.callbacks) + sum(c.breached for c in s.contributions)
    if not open_ and not missed:
        return ""
    return "\n\npromises: " + (", ".join(open_) or "-") + (f"; {missed} MISSED" if missed else "")
