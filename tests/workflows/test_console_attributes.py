"""The search attributes the console's inboxes list by (workflows/escalation/visibility.py):
computed from the case's state, so each inbox is one visibility query."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.workflows.helpers import AGENT, demo_policy, request
from workflows import search_attributes as sa
from workflows.escalation.visibility import console_attributes
from workflows.models import EscalationState, PendingApproval, Remedy, TimelineEntry
from workflows.opening import new_case
from workflows.stages import Stage

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)


def case(amount: float = 600) -> EscalationState:
    policy = demo_policy(NOW.date())
    made = new_case(policy, policy.model_dump(mode="json"), "E-ATTR", request(amount), AGENT, NOW)
    return made.state


def test_a_fresh_case_sets_none():
    assert console_attributes(case()) == {
        sa.PENDING_LEVEL: None,
        sa.PENDING_AUTHORITY: None,
        sa.ATTENTION: None,
    }


def test_a_pending_approval_gives_its_level_rank_and_authority():
    s = case()
    s.stage = Stage.EXECUTIVE_SIGNOFF
    s.pending_approval = PendingApproval(
        remedy=Remedy(kind="refund", amount=600),
        required_authority=600,
        level="manager",
        since=NOW,
        proposed_by="p-specialist",
    )
    got = console_attributes(s)
    assert (got[sa.PENDING_LEVEL], got[sa.PENDING_AUTHORITY]) == (1, 600)


def test_attention_flags():
    s = case()
    s.stage, s.assignee, s.acknowledged = Stage.SPECIALIST, "p-specialist", False
    s.clocks[0].warned_fractions = [0.5]
    assert console_attributes(s)[sa.ATTENTION] == [sa.AWAITING_ACK]

    s.clocks[0].warned_fractions = [0.5, 0.75]
    s.acknowledged = True
    s.timeline.append(
        TimelineEntry(
            at=NOW,
            actor="workflow",
            role="system",
            action="notification_failed",
            stage="specialist",
            detail="sla_warning to Sam: no channel delivered (email)",
        )
    )
    assert console_attributes(s)[sa.ATTENTION] == [sa.AT_RISK, sa.UNDELIVERED]

    s.clocks[0].breached = True  # breached is its own list, not "at risk"
    assert console_attributes(s)[sa.ATTENTION] == [sa.UNDELIVERED]
