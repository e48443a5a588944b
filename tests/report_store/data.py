"""A small data set whose report figures are worked out by hand in test_reports.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from workflows.messages import CaseFacts, CaseSnapshot, ClockFact, FactEvent, StageVisit


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 1, day, hour, minute, tzinfo=UTC)


def case(
    eid: str,
    opened: datetime,
    *,
    trigger: str = "customer_request",
    channel: str = "phone",
    team: str | None = "billing",
    severity: str | None = "P3",
    avoidable: bool | None = True,
    agent: tuple[str, str] = ("a1", "Alex Agent"),
    stages: list[tuple[str, datetime, datetime | None]] = (),  # type: ignore[assignment]
    resolved: str | None = None,
    fr: str | None = "met",
    res: str | None = "met",
    events: list[tuple[str, str]] = (),  # type: ignore[assignment]
    requested: float | None = None,
    granted: float | None = None,
    root_cause: str | None = None,
    feedback: int | None = None,
) -> CaseFacts:
    def clock(name: str, outcome: str | None) -> list[ClockFact]:
        if outcome is None:
            return []
        due = opened + timedelta(hours=4)
        if outcome == "met":
            return [ClockFact(name=name, due_at=due, met_at=opened + timedelta(hours=1))]
        return [ClockFact(name=name, due_at=due, breached=True, breached_at=due)]

    as_of = max([opened] + [t for _, a, b in stages for t in (a, b) if t is not None])
    return CaseFacts(
        case=CaseSnapshot(
            escalation_id=eid,
            as_of=as_of,
            events_seen=len(events),
            opened_at=opened,
            opened_by_id=agent[0],
            opened_by_name=agent[1],
            channel=channel,
            category="billing",
            trigger=trigger,
            customer_tier="standard",
            severity=severity,
            avoidable=avoidable,
            stage=stages[-1][0] if stages else "helpline_consult",
            team=team,
            resolved_tier=resolved,
            resolved_at=as_of if resolved else None,
            requested_amount=requested,
            granted_amount=granted,
            currency="GBP",
            clocks=clock("first_response", fr) + clock("resolution", res),
            root_cause=root_cause,
            feedback_score=feedback,
        ),
        events=[
            FactEvent(seq=i, at=as_of, actor="someone", role=role, action=action, stage="x")
            for i, (action, role) in enumerate(events)
        ],
        stages=[StageVisit(stage=s, entered_at=a, left_at=b) for s, a, b in stages],
    )


E1 = case("E1", at(5, 9), stages=[("resolved", at(5, 9), None)], resolved="tier1")
E2 = case(
    "E2",
    at(5, 10),
    trigger="legal_threat",
    channel="email",
    team="legal",
    severity="P1",
    avoidable=False,
    agent=("a2", "Bea Agent"),
    stages=[
        ("helpline_consult", at(5, 10), at(5, 10, 30)),
        ("specialist", at(5, 10, 30), at(5, 12, 30)),
        ("executive_signoff", at(5, 12, 30), at(5, 13, 30)),
        ("resolved", at(5, 13, 30), None),
    ],
    resolved="executive",
    res="breached",
    events=[("proposal_made", "specialist"), ("approval_granted", "manager")],
    requested=600,
    granted=500,
    root_cause="billing system double charge",
    feedback=2,
)
E3 = case(
    "E3",
    at(6, 11),
    stages=[("helpline_consult", at(6, 11), at(6, 11, 20)), ("resolved", at(6, 11, 20), None)],
    resolved="helpline",
    root_cause="billing system double charge",
    feedback=4,
)
E4 = case(
    "E4",
    at(12, 9),
    trigger="repeat_contact",
    channel="chat",
    severity="P2",
    agent=("a2", "Bea Agent"),
    stages=[
        ("helpline_consult", at(12, 9), at(12, 10)),
        ("specialist", at(12, 10), at(12, 14)),
        ("executive_signoff", at(12, 14), at(12, 15)),
        ("specialist", at(12, 15), at(12, 16)),
        ("resolved", at(12, 16), None),
    ],
    resolved="specialist",
    fr="breached",
    events=[("approval_rejected", "supervisor")],
)
E5 = case(
    "E5",
    at(13, 8),
    severity=None,
    avoidable=None,
    stages=[("helpline_consult", at(13, 8), None)],
    fr=None,
    res=None,
)
ALL = [E1, E2, E3, E4, E5]
