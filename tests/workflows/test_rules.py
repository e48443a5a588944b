"""Triage, tier-1, sign-off and authority rules on the demo policy."""

from datetime import UTC, date, datetime, timedelta

import pytest
from pydantic import ValidationError

from core.policy import read_policy
from core.settings import CONFIG_DIR
from workflows import clocks as clk
from workflows import rules
from workflows.models import Actor, Contact, Customer, EscalationRequest, Remedy
from workflows.policy import Policy

P = read_policy(CONFIG_DIR / "policy.toml", today=date(2026, 11, 23))


def req(trigger="customer_request", category="billing", tier="standard", remedy=None):
    return EscalationRequest(
        customer=Customer(id="C-1", name="Ada", tier=tier, contact=Contact(email="a@b.co")),
        channel="phone",
        category=category,
        summary="s",
        trigger=trigger,
        requested_remedy=remedy,
    )


@pytest.mark.parametrize(
    "trigger,category,tier,severity,urgency",
    [
        ("legal_threat", "billing", "standard", "P1", "immediate"),
        ("social_media_threat", "device", "gold", "P1", "immediate"),
        ("customer_request", "billing", "vip", "P2", "high"),
        ("technical_fault", "outage", "standard", "P2", "high"),
        ("repeat_contact", "billing", "standard", "P3", "high"),
        ("customer_request", "billing", "standard", "P3", "normal"),
        ("out_of_scope", "other", "standard", "P4", "low"),
    ],
)
def test_triage_first_matching_rule(trigger, category, tier, severity, urgency):
    t = rules.triage(P, req(trigger, category, tier))
    assert (t.severity, t.urgency) == (severity, urgency)


def test_avoidable_follows_the_policy():
    assert rules.triage(P, req("customer_request")).avoidable is True
    assert rules.triage(P, req("technical_fault")).avoidable is False


def test_sla_target_prefers_the_tier_specific_row():
    assert rules.sla_target(P, "P2", "vip").resolution_h == 8
    assert rules.sla_target(P, "P2", "gold").resolution_h == 16


@pytest.mark.parametrize(
    "remedy,allowed",
    [
        (Remedy(kind="refund", amount=50), True),
        (Remedy(kind="goodwill_credit", amount=10), True),
        (Remedy(kind="fee_waiver", amount=49.99), True),
        (Remedy(kind="refund", amount=50.01), False),
        (Remedy(kind="replacement", amount=5), False),
        (Remedy(kind="refund", amount=10, currency="EUR"), False),
        (None, False),
    ],
)
def test_tier1_catalogue_and_limit(remedy, allowed):
    assert rules.tier1_decision(P, req(remedy=remedy))[0] is allowed


def test_signoff_rules():
    r = Remedy(kind="refund", amount=600)
    assert rules.signoff_required(P, r, req(), 250) == 600
    assert rules.signoff_required(P, Remedy(kind="refund", amount=100), req(), 250) is None
    # a legal threat always needs sign-off, even within the specialist's authority
    assert (
        rules.signoff_required(P, Remedy(kind="refund", amount=100), req("legal_threat"), 250)
        == 100
    )
    # VIP: at least the policy's minimum authority
    assert rules.signoff_required(P, Remedy(kind="refund", amount=100), req(tier="vip"), 250) == 500


def test_approval_levels_and_refusals():
    assert rules.level(P, rules.level_index_for(P, 600)).role == "manager"
    assert rules.level(P, rules.level_index_for(P, 400)).role == "supervisor"
    assert rules.level(P, rules.level_index_for(P, 50_000)).role == "executive"
    sup = Actor(id="s", name="Sasha", role="supervisor", authority_limit=500)
    assert "below" in rules.approval_refusal(sup, 600)
    assert rules.approval_refusal(sup, 500) is None
    spec = Actor(id="x", name="Sam", role="specialist", authority_limit=10_000)
    assert "cannot approve" in rules.approval_refusal(spec, 10)


def test_raise_severity_stops_at_p1():
    assert [rules.raise_severity(s) for s in ("P4", "P3", "P2", "P1")] == ["P3", "P2", "P1", "P1"]


def test_clock_events_warn_then_breach():
    cal = P.calendar("24x7")
    t0 = datetime(2026, 11, 23, 10, tzinfo=UTC)
    c = clk.start("resolution", "24x7", cal, 100 * 60, t0)
    e = clk.next_event(c, cal, P.warning_fractions)
    assert (e.kind, e.fraction, e.at) == ("warning", 0.5, t0 + timedelta(minutes=50))
    c.warned_fractions += [0.5, 0.75, 0.9]
    e = clk.next_event(c, cal, P.warning_fractions)
    assert (e.kind, e.at) == ("breach", t0 + timedelta(minutes=100))
    clk.pause(c, cal, t0 + timedelta(minutes=10))
    assert clk.next_event(c, cal, P.warning_fractions) is None


def test_policy_errors_name_the_field():
    raw = P.model_dump(mode="json")
    raw["teams"][0]["calendar"] = "nowhere"
    with pytest.raises(ValidationError, match="teams.billing-specialists.calendar"):
        Policy.model_validate(raw)
    raw = P.model_dump(mode="json")
    raw["signoff"]["levels"].reverse()
    with pytest.raises(ValidationError, match="signoff.levels"):
        Policy.model_validate(raw)
