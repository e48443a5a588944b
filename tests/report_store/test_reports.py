"""Each report's figures on the hand-computed data set of data.py, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from core.report_store import queries as q
from tests.report_store.data import ALL, at

ALL_TIME = q.Filters()


@pytest.fixture
def filled(store):
    store.write(ALL)
    return store


def test_volume_per_day_and_week_by_trigger(filled):
    assert q.volume(filled, ALL_TIME, "day") == [
        {"period": "2026-01-05", "trigger": "customer_request", "escalations": 1},
        {"period": "2026-01-05", "trigger": "legal_threat", "escalations": 1},
        {"period": "2026-01-06", "trigger": "customer_request", "escalations": 1},
        {"period": "2026-01-12", "trigger": "repeat_contact", "escalations": 1},
        {"period": "2026-01-13", "trigger": "customer_request", "escalations": 1},
    ]
    assert q.volume(filled, ALL_TIME, "week") == [
        {"period": "2026-01-05", "trigger": "customer_request", "escalations": 2},
        {"period": "2026-01-05", "trigger": "legal_threat", "escalations": 1},
        {"period": "2026-01-12", "trigger": "customer_request", "escalations": 1},
        {"period": "2026-01-12", "trigger": "repeat_contact", "escalations": 1},
    ]


def test_avoidable_share_per_week_counts_judged_cases_only(filled):
    assert q.avoidable(filled, ALL_TIME, "week") == [
        {
            "period": "2026-01-05",
            "escalations": 3,
            "avoidable": 2,
            "unavoidable": 1,
            "avoidable_share": 0.6667,
        },
        # E5 is not triaged yet: counted, but not judged
        {
            "period": "2026-01-12",
            "escalations": 2,
            "avoidable": 1,
            "unavoidable": 0,
            "avoidable_share": 1.0,
        },
    ]


def test_where_cases_were_resolved(filled):
    assert q.resolution(filled, ALL_TIME) == [
        {"tier": t, "cases": 1, "share": 0.25}
        for t in ("tier1", "helpline", "specialist", "executive")
    ]


def test_sla_compliance_per_clock_team_and_severity(filled):
    def row(clock, team, sev, met, breached):
        return {
            "clock": clock,
            "team": team,
            "severity": sev,
            "met": met,
            "breached": breached,
            "compliance": met / (met + breached),
        }

    # E5 has no concluded clock: in no row
    assert q.sla(filled, ALL_TIME) == [
        row("first_response", "billing", "P2", 0, 1),
        row("first_response", "billing", "P3", 2, 0),
        row("first_response", "legal", "P1", 1, 0),
        row("resolution", "billing", "P2", 1, 0),
        row("resolution", "billing", "P3", 2, 0),
        row("resolution", "legal", "P1", 0, 1),
    ]


def test_time_in_stage_p50_p90_over_ended_visits(filled):
    assert q.stages(filled, ALL_TIME) == [
        # 1200, 1800, 3600 s (E3, E2, E4)
        {"stage": "helpline_consult", "visits": 3, "p50_s": 1800.0, "p90_s": 3600.0},
        # 3600, 7200, 14400 s (E4's second visit, E2, E4's first)
        {"stage": "specialist", "visits": 3, "p50_s": 7200.0, "p90_s": 14400.0},
        {"stage": "executive_signoff", "visits": 2, "p50_s": 3600.0, "p90_s": 3600.0},
    ]


def test_time_in_stage_over_a_filtered_share(filled):
    assert q.stages(filled, q.Filters(team="billing")) == [
        {"stage": "helpline_consult", "visits": 2, "p50_s": 1200.0, "p90_s": 3600.0},
        {"stage": "specialist", "visits": 2, "p50_s": 3600.0, "p90_s": 14400.0},
        {"stage": "executive_signoff", "visits": 1, "p50_s": 3600.0, "p90_s": 3600.0},
    ]


def test_approvals_by_level(filled):
    assert q.approvals(filled, ALL_TIME) == [
        {
            "level": "manager",
            "granted": 1,
            "rejected": 0,
            "amount_granted": 500.0,
            "largest_granted": 500.0,
            "amount_requested": 600.0,
        },
        {
            "level": "supervisor",
            "granted": 0,
            "rejected": 1,
            "amount_granted": 0.0,
            "largest_granted": None,
            "amount_requested": 0.0,
        },
    ]


def test_feedback_and_root_causes(filled):
    assert q.feedback(filled, ALL_TIME) == [{"score": 2, "cases": 1}, {"score": 4, "cases": 1}]
    assert q.root_causes(filled, ALL_TIME) == [
        {"root_cause": "billing system double charge", "cases": 2, "avoidable": 1}
    ]


def test_coaching_avoidable_per_agent_and_trigger(filled):
    assert q.coaching(filled, ALL_TIME) == [
        {
            "agent_id": "a1",
            "agent": "Alex Agent",
            "trigger": "customer_request",
            "avoidable_escalations": 2,
        },
        {
            "agent_id": "a2",
            "agent": "Bea Agent",
            "trigger": "repeat_contact",
            "avoidable_escalations": 1,
        },
    ]


def test_summary(filled):
    assert q.summary(filled, ALL_TIME) == {
        "escalations": 5,
        "avoidable": 3,
        "avoidable_share": 0.75,
        "breaches": 2,
    }


def test_filters_window_team_severity_trigger_channel(filled):
    second_week = q.Filters(since=at(12, 0), until=at(19, 0))
    assert [r["escalations"] for r in q.avoidable(filled, second_week, "week")] == [2]
    assert q.volume(filled, q.Filters(team="legal"), "week") == [
        {"period": "2026-01-05", "trigger": "legal_threat", "escalations": 1}
    ]
    assert q.resolution(filled, q.Filters(severity="P2"))[2] == {
        "tier": "specialist",
        "cases": 1,
        "share": 1.0,
    }
    assert q.summary(filled, q.Filters(trigger="customer_request"))["escalations"] == 3
    assert q.summary(filled, q.Filters(channel="chat"))["escalations"] == 1
    # until is exclusive: E1 opened at 09:00 exactly
    assert q.summary(filled, q.Filters(until=at(5, 9)))["escalations"] == 0
    assert q.summary(filled, q.Filters(since=at(5, 9), until=at(5, 10)))["escalations"] == 1
