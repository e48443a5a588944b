"""What the workflow tells the store of a case (workflows/escalation/facts.py): whose case it is,
what resolved it, its root cause and the customer's latest feedback score; and the root-cause and
feedback reports count what it wrote."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.report_store import queries as q
from tests.workflows.helpers import AGENT, demo_policy, request
from workflows import opening
from workflows.escalation.facts import FactLog, all_facts, snapshot
from workflows.models import CustomerFeedback, EscalationState

NOW = datetime(2026, 12, 2, 10, tzinfo=UTC)


def resolved_at_tier1(eid: str) -> EscalationState:
    s = EscalationState(id=eid, request=request(40), opened_by=AGENT, opened_at=NOW, updated_at=NOW)
    opening.record(s, AGENT, "opened", "", NOW)
    policy = demo_policy(NOW.date())
    opening.triage(s, policy, NOW)
    opening.tier1(
        s, policy, NOW
    )  # waits for the goodwill budget (workflows/escalation/goodwill.py)
    opening.grant_tier1(s, policy, "within the customer's goodwill budget", NOW)
    assert s.resolved_at_tier == "tier1"
    return s


def test_the_snapshot_names_the_customer_outcome_root_cause_and_latest_score():
    s = resolved_at_tier1("E-1")
    assert snapshot(s, NOW).feedback_score is None
    s.root_cause = "duplicate charge"
    s.feedback = [
        CustomerFeedback(score=2, comment="slow", at=NOW + timedelta(days=1)),
        CustomerFeedback(score=4, at=NOW + timedelta(days=2)),
    ]
    c = snapshot(s, NOW + timedelta(days=2))
    assert (c.customer_id, c.root_cause, c.feedback_score) == (
        s.request.customer.id,
        "duplicate charge",
        4,
    )
    assert c.outcome == s.outcome and c.outcome


def test_feedback_after_the_facts_were_taken_goes_again():
    """The customer answers after resolution: the case's snapshot changed, so the next flush
    carries it although no timeline entry or stage visit is new."""
    s = resolved_at_tier1("E-1")
    log = FactLog(s)
    sent = log.pending(s, NOW)
    assert sent is not None
    log.acked(sent)
    assert log.pending(s, NOW + timedelta(minutes=1)) is None
    s.feedback.append(CustomerFeedback(score=5, at=NOW + timedelta(days=1)))
    again = log.pending(s, NOW + timedelta(days=1))
    assert again is not None and again.case.feedback_score == 5 and again.events == []


def test_root_cause_and_feedback_reports_count_what_the_workflow_wrote(store):
    cases = []
    for i, (cause, scores) in enumerate(
        [
            ("duplicate charge", [1, 4]),
            ("duplicate charge", [5]),
            ("courier lost it", []),
            (None, [3]),
        ]
    ):
        s = resolved_at_tier1(f"E-{i}")
        s.root_cause = cause
        s.feedback = [CustomerFeedback(score=n, at=NOW) for n in scores]
        cases.append(all_facts(s, NOW))
    store.write(cases)
    f = q.Filters()
    # every one is avoidable (a customer request the demo policy grants at tier 1)
    assert all(c.case.avoidable for c in cases)
    assert q.root_causes(store, f) == [
        {"root_cause": "duplicate charge", "cases": 2, "avoidable": 2},
        {"root_cause": "courier lost it", "cases": 1, "avoidable": 1},
    ]
    # the latest answer of each case: 4, 5, and 3 (the case without a root cause)
    assert q.feedback(store, f) == [
        {"score": 3, "cases": 1},
        {"score": 4, "cases": 1},
        {"score": 5, "cases": 1},
    ]
