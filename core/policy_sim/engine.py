"""Replay one recorded case under a policy, with the workflow's own pure rules: triage
(`workflows.rules`), tier 1, SLA clocks on business hours (`workflows.clocks`), sign-off levels.

The human actions (consult answers, acknowledgements, information requests and the customer's
replies, proposals, decisions, resolutions, cancellations, reopenings, severity changes) happen
at the times the case's timeline recorded; the policy decides everything else. No I/O here.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from workflows import clocks as clk
from workflows import rules
from workflows.models import Clock, EscalationRequest, Remedy
from workflows.policy import Policy

CANNOT_KNOW = [
    "People are assumed to act exactly when they did: the simulation cannot know whether "
    "specialists, approvers or customers would act sooner or later under other targets, "
    "reminders or warnings.",
    "A case the new policy would no longer grant at tier 1 has no recorded specialist path: it "
    "is counted under `unknowable` and left out of every other figure.",
    "Routing replays the recorded team; a team the policy does not define keeps the help "
    "line's calendar. Load, staffing and who is available are not modelled.",
    "Authority raises after breaches and unanswered reminders are not replayed: a sign-off is "
    "counted at the lowest level whose authority covers the amount.",
    "Goodwill budgets, quiet hours and message delivery do not change any figure here.",
    "Guided capture is not replayed: the report store does not keep the answers, so every "
    "case is taken to have had what the version asks for; a transfer the version would hold "
    "for a missing answer is not counted.",
]

MONEY = re.compile(r"(refund|goodwill credit|fee waiver|replacement|other) ([0-9.]+) ([A-Z]{3})")


def money(text: str) -> Remedy | None:
    """The remedy a timeline detail names (`opening.money`'s form), or None."""
    m = MONEY.search(text)
    if m is None:
        return None
    kind, amount, currency = m.groups()
    return Remedy.model_validate(
        {"kind": kind.replace(" ", "_"), "amount": float(amount), "currency": currency}
    )


@dataclass
class Recorded:
    """A case as the report store holds it: its row and its timeline, oldest first."""

    id: str
    opened_at: datetime
    category: str
    trigger: str
    tier: str
    channel: str
    team: str | None
    requested_amount: float | None
    events: list[tuple[datetime, str, str, str]]  # at, action, role, detail


@dataclass
class Outcome:
    id: str
    severity: str | None = None
    team: str | None = None
    clocks: dict[str, tuple[bool, bool]] = field(default_factory=dict)  # name -> (met, breached)
    resolved_tier: str | None = None
    signoffs: list[str] = field(default_factory=list)  # the level role of each approval
    granted: float = 0.0
    open_from: datetime | None = None
    open_until: datetime | None = None
    unknowable: bool = False


def requested_remedy(c: Recorded) -> Remedy | None:
    for _, action, _, detail in c.events:
        if action == "transferred" and "requested " in detail:
            return money(detail.split("requested ", 1)[1])
        if action == "resolved" and detail.startswith("at tier1"):
            return money(detail)
    if c.requested_amount is not None:  # the kind is not recorded: no catalogue would match
        return Remedy(kind="other", amount=c.requested_amount)
    return None


def simulate(p: Policy, c: Recorded, horizon: datetime) -> Outcome:
    req = EscalationRequest.model_validate(
        {
            "customer": {"id": "-", "name": "-", "tier": c.tier},
            "channel": c.channel,
            "category": c.category,
            "summary": "-",
            "trigger": c.trigger,
            "requested_remedy": requested_remedy(c),
        }
    )
    out = Outcome(id=c.id, open_from=c.opened_at)
    severity = rules.triage(p, req).severity
    team: str | None = None

    def calendar() -> str:
        target = rules.sla_target(p, severity, c.tier)
        if target.calendar:
            return target.calendar
        t = next((t for t in p.teams if t.name == team), None)
        return t.calendar if t else p.helpline_calendar

    def target(name: str) -> float:
        t = rules.sla_target(p, severity, c.tier)
        return (t.first_response_h if name == "first_response" else t.resolution_h) * 3600

    def spec(clock: Clock):
        return p.calendar(clock.calendar)

    cal = calendar()
    clocks = {
        n: clk.start(n, cal, p.calendar(cal), target(n), c.opened_at)
        for n in ("first_response", "resolution")
    }

    def stop_all(at: datetime) -> None:
        for k in clocks.values():
            clk.stop(k, spec(k), at)

    def rebase_all(at: datetime) -> None:
        new = calendar()
        for k in clocks.values():
            clk.rebase(k, new, spec(k), p.calendar(new), target(k.name), at)

    recorded_tier1 = any(a == "tier1_granted" for _, a, _, _ in c.events)
    granted_now, _ = rules.tier1_decision(p, req)
    if granted_now:
        stop_all(c.opened_at)
        out.resolved_tier, out.open_until = "tier1", c.opened_at
        out.granted = req.requested_remedy.amount if req.requested_remedy else 0.0
        return _finish(out, clocks, severity, team, spec, horizon)
    if recorded_tier1:  # granted then, not now: what people would have done is not recorded
        out.unknowable = True
        return out

    waiting = False
    pending: Remedy | None = None
    for at, action, _, detail in c.events:
        if at > horizon:
            break
        if action == "transferred":
            team = c.team
            rebase_all(at)
        elif action == "acknowledged":
            clk.stop(clocks["first_response"], spec(clocks["first_response"]), at)
        elif action == "info_requested":
            waiting = True
            for k in clocks.values():
                clk.pause(k, spec(k), at)
        elif action == "customer_contact" and waiting:
            waiting = False
            for k in clocks.values():
                clk.resume(k, spec(k), at)
        elif action == "severity_changed":
            m = re.search(r"-> (P[1-4])", detail)
            if m:
                severity = m.group(1)  # type: ignore[assignment]
                rebase_all(at)
        elif action == "proposal_made":
            pending = money(detail)
        elif action == "approval_granted" and pending is not None:
            limit = next((t.authority_limit for t in p.teams if t.name == team), 0.0)
            needed = rules.signoff_required(p, pending, req, limit) or pending.amount
            out.signoffs.append(rules.level(p, rules.level_index_for(p, needed)).role)
        elif action == "resolved":
            stop_all(at)
            waiting = False
            out.resolved_tier = detail.removeprefix("at ").split(":", 1)[0]
            out.open_until = at
            remedy = money(detail)
            if remedy is not None and ("Granted" in detail or "Approved" in detail):
                out.granted += remedy.amount
        elif action == "cancelled":
            stop_all(at)
            out.open_until = at
        elif action == "reopened":
            severity = rules.raise_severity(severity)
            out.resolved_tier = out.open_until = None
            cal = calendar()
            clocks["resolution"] = clk.start(
                "resolution", cal, p.calendar(cal), target("resolution"), at
            )
    return _finish(out, clocks, severity, team, spec, horizon)


def _finish(
    out: Outcome,
    clocks: dict[str, Clock],
    severity: str,
    team: str | None,
    spec: Any,
    horizon: datetime,
) -> Outcome:
    out.severity, out.team = severity, team
    for name, k in clocks.items():
        end = k.stopped_at or horizon
        breached = (
            clk.used(k, spec(k), end) >= k.target_s
            if k.stopped_at
            else (k.due_at is not None and k.due_at <= horizon)
        )
        out.clocks[name] = (k.stopped_at is not None and not breached, breached)
    return out


def report(p: Policy, outcomes: list[Outcome]) -> dict[str, Any]:
    """The figures of one policy over the replayed cases."""
    known = [o for o in outcomes if not o.unknowable]
    sla: dict[tuple[str, str | None, str | None], list[int]] = defaultdict(lambda: [0, 0])
    for o in known:
        for name, (met, breached) in o.clocks.items():
            row = sla[(name, o.team, o.severity)]
            row[0] += met
            row[1] += breached
    events: list[tuple[datetime, int, str]] = []
    for o in known:
        team = o.team or "frontline and help line"
        if o.open_from is not None:
            events.append((o.open_from, 1, team))
            if o.open_until is not None:
                events.append((o.open_until, -1, team))
    open_now: Counter[str] = Counter()
    peak: Counter[str] = Counter()
    for _, delta, team in sorted(events, key=lambda e: (e[0], e[1])):
        open_now[team] += delta
        peak[team] = max(peak[team], open_now[team])
    return {
        "policy_version": p.version,
        "cases": len(outcomes),
        "unknowable": len(outcomes) - len(known),
        "sla": [
            {
                "clock": k[0],
                "team": k[1],
                "severity": k[2],
                "met": m,
                "breached": b,
                "compliance": round(m / (m + b), 4) if m + b else None,
            }
            for k, (m, b) in sorted(sla.items(), key=lambda kv: tuple(str(x) for x in kv[0]))
        ],
        "breaches": sum(b for _, b in sla.values()),
        "resolved_at": dict(Counter(o.resolved_tier for o in known if o.resolved_tier)),
        "signoffs": dict(Counter(r for o in known for r in o.signoffs)),
        "goodwill_granted": round(sum(o.granted for o in known), 2),
        "peak_open": dict(sorted(peak.items())),
    }
