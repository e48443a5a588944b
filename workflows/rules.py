"""Pure process rules: triage, tier-1 exceptions, sign-off, authority. No I/O, no Temporal."""

from __future__ import annotations

from dataclasses import dataclass

from workflows.access import APPROVER_ROLES
from workflows.models import Actor, EscalationRequest, Remedy, Severity, Urgency
from workflows.policy import Policy, SignoffLevel, SlaTarget

SEVERITIES: tuple[Severity, ...] = ("P1", "P2", "P3", "P4")


@dataclass(frozen=True)
class Triage:
    severity: Severity
    urgency: Urgency
    avoidable: bool
    rule: int | None = None  # 1-based position of the matching rule in the policy (None: default)
    why: str = ""


def triage(policy: Policy, req: EscalationRequest) -> Triage:
    """First matching rule wins; an empty list in a rule matches anything. The result says
    which rule matched and on what, so the case can explain its severity."""
    avoidable = req.trigger in policy.avoidable_triggers
    category = req.category.lower()
    for i, rule in enumerate(policy.triage, start=1):
        if rule.categories and category not in {c.lower() for c in rule.categories}:
            continue
        if rule.triggers and req.trigger not in rule.triggers:
            continue
        if rule.tiers and req.customer.tier not in rule.tiers:
            continue
        on = [
            f"category {req.category}" if rule.categories else "",
            f"trigger {req.trigger}" if rule.triggers else "",
            f"customer tier {req.customer.tier}" if rule.tiers else "",
        ]
        matched = ", ".join(x for x in on if x) or "any case (catch-all)"
        why = f"triage rule {i} matched on {matched}: {rule.severity}, urgency {rule.urgency}"
        return Triage(rule.severity, rule.urgency, avoidable, i, why)
    why = (
        f"no triage rule matched: the policy's default {policy.default_severity}, "
        f"urgency {policy.default_urgency}"
    )
    return Triage(policy.default_severity, policy.default_urgency, avoidable, None, why)


def round_the_clock(policy: Policy, severity: Severity | None, urgency: Urgency | None) -> bool:
    """Staff deadlines and messages ignore business and quiet hours: the policy's round-the-clock
    severities (P1) and any case triaged `immediate`."""
    return severity in policy.quiet_hours_except or urgency == "immediate"


def sla_target(policy: Policy, severity: Severity, tier: str) -> SlaTarget:
    exact = [s for s in policy.sla if s.severity == severity and s.tier == tier]
    return (
        exact
        or [s for s in policy.sla if s.severity == severity and s.tier == "*"]
        or [s for s in policy.sla if s.severity == severity]
    )[0]


def raise_severity(severity: Severity) -> Severity:
    """One step more severe (P4 -> P3 ... P1 stays P1)."""
    return SEVERITIES[max(0, SEVERITIES.index(severity) - 1)]


def tier1_decision(
    policy: Policy, req: EscalationRequest, opener: Actor | None = None
) -> tuple[bool, str]:
    """Can the frontline grant the requested remedy itself? (allowed, reason). `opener`: the
    person who opened the case; an agent's own authority caps tier 1's (a system opening for
    the frontline gets the policy's limit)."""
    remedy = req.requested_remedy
    if remedy is None:
        return False, "no remedy requested"
    if remedy.currency != policy.currency:
        return False, f"currency {remedy.currency} is not the policy's {policy.currency}"
    for entry in policy.tier1_catalogue:
        if entry.kind != remedy.kind:
            continue
        if entry.categories and req.category.lower() not in {c.lower() for c in entry.categories}:
            continue
        limit = min(entry.max_amount, policy.tier1_limit)
        if opener is not None and opener.role == "agent" and opener.authority_limit < limit:
            limit = opener.authority_limit
            if remedy.amount > limit:
                return False, (
                    f"{remedy.kind} {remedy.amount:g} above {opener.name}'s own authority "
                    f"{limit:g} {policy.currency}"
                )
        if remedy.amount <= limit:
            return True, f"{remedy.kind} within tier-1 limit {limit:g} {policy.currency}"
        return False, f"{remedy.kind} {remedy.amount:g} above tier-1 limit {limit:g}"
    return False, f"{remedy.kind} is not in the tier-1 exception catalogue"


def goodwill_left(policy: Policy, given: dict[str, float]) -> float | None:
    """What is left of the customer's goodwill budget for the rolling year, given what was
    granted in it per currency (None: the policy sets no budget)."""
    budget = policy.goodwill_budget_per_year
    if budget is None:
        return None
    return max(0.0, budget - given.get(policy.currency, 0.0))


def signoff_required(
    policy: Policy, remedy: Remedy, req: EscalationRequest, specialist_limit: float
) -> float | None:
    """The authority a proposal needs, or None when the specialist may grant it."""
    rules = policy.signoff
    needed: float | None = None
    if remedy.amount > specialist_limit:
        needed = remedy.amount
    if req.trigger in rules.triggers_always:
        needed = max(needed or 0.0, remedy.amount)
    if req.customer.tier == "vip" and rules.vip_min_authority is not None:
        needed = max(needed or 0.0, remedy.amount, rules.vip_min_authority)
    return needed


def level_index_for(policy: Policy, required: float) -> int:
    """The lowest sign-off level whose authority covers `required` (the top one otherwise)."""
    levels = policy.signoff.levels
    for i, lvl in enumerate(levels):
        if lvl.authority_limit >= required:
            return i
    return len(levels) - 1


def level(policy: Policy, index: int) -> SignoffLevel:
    levels = policy.signoff.levels
    return levels[min(max(index, 0), len(levels) - 1)]


def approval_refusal(actor: Actor, required: float) -> str | None:
    """Why this person may not decide on a remedy needing `required` authority (None: may)."""
    if actor.role not in APPROVER_ROLES:
        return f"role {actor.role} cannot approve remedies (supervisor, manager or executive)"
    if actor.authority_limit < required:
        return (
            f"{actor.name}'s authority {actor.authority_limit:g} is below the "
            f"{required:g} this remedy needs"
        )
    return None
