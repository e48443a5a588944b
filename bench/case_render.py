"""What rendering the case page's live part (`_case.html`) costs, without Temporal: one rich case
(3 callbacks, 3 contributions, 2 feedback answers, 10 past escalations, 60 timeline entries, 10
notes, 3 KB matches, a pending approval), rendered `--n` times; CPU time of this process, so the
neighbours on a shared host count less. A template given with `--against` (e.g. an older
`_case.html` from git) is rendered beside it with the same context.

    .venv/bin/python -m bench.case_render
    git show c13cbd5:api/console/templates/_case.html > /tmp/old/_case_old.html
    .venv/bin/python -m bench.case_render --against /tmp/old/_case_old.html
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jinja2

from api.console import filters, pages
from api.console.forms import FORMS
from core.directory import DirectoryEntry
from workflows.models import (
    Callback,
    Contribution,
    Customer,
    CustomerFeedback,
    EscalationRequest,
    KbMatch,
    PastCase,
    Remedy,
    TimelineEntry,
)
from workflows.views import (
    ClockCalendar,
    ClockView,
    CustomerContext,
    EscalationView,
    Handover,
    PendingApprovalView,
    TeamHours,
)


def rich_case(now: datetime) -> dict[str, Any]:
    refund = Remedy(kind="refund", amount=600)
    req = EscalationRequest(
        customer=Customer(id="C-1", name="Ada Lovelace"),
        channel="phone",
        category="billing",
        summary="Charged twice",
        details="Two charges",
        trigger="customer_request",
        requested_remedy=refund,
    )
    customer = CustomerContext(
        tier="gold", past_escalations=10, goodwill_granted=400, goodwill_left=0
    )
    view = EscalationView(
        id="E-1",
        stage="executive_signoff",
        severity="P3",
        urgency="normal",
        triage_rule=5,
        triage_reason="triage rule 5 matched on category billing: P3, urgency normal",
        customer=req.customer,
        channel="phone",
        category="billing",
        summary="Charged twice",
        trigger="customer_request",
        avoidable=True,
        requested_remedy=refund,
        granted_remedy=None,
        assigned_team="billing-specialists",
        assignee="p-specialist",
        pending_approval=PendingApprovalView(
            remedy=refund,
            required_authority=600,
            level="manager",
            since=now,
            due_at=now,
            customer=customer,
        ),
        clocks=[
            ClockView(
                name=name,
                due_at=now,
                paused=False,
                warned_at=None,
                breached=False,
                remaining_business_s=3600,
            )
            for name in ("first_response", "resolution")
        ],
        next_deadline=now,
        promise_at=now,
        resolved_at_tier=None,
        callbacks=[
            Callback(
                number=i,
                at=now + timedelta(hours=i),
                promised_by="Sam Specialist",
                promised_by_id="p-specialist",
                promised_by_role="specialist",
                remind_at=now,
                missed=i == 2,
            )
            for i in (1, 2, 3)
        ],
        contributions=[
            Contribution(
                number=i,
                team="technical-specialists",
                question="Was the terminal at fault? " * 8,
                asked_by="Sam Specialist",
                asked_at=now,
                due_at=now + timedelta(hours=i),
                capped=i == 3,
                answer="Yes" if i == 1 else None,
                answered_by="Sasha Supervisor" if i == 1 else None,
                answered_at=now if i == 1 else None,
            )
            for i in (1, 2, 3)
        ],
        feedback=[CustomerFeedback(key=f"0.{i}", score=4, comment="ok", at=now) for i in (1, 2)],
        policy_version="2026.11-demo",
        opened_at=now,
        updated_at=now,
    )
    handover = Handover(
        details="Two identical charges. " * 20,
        triage_rule=5,
        triage_reason=view.triage_reason,
        consult_answer="Needs a billing specialist",
        kb_matches=[KbMatch(slug="s", title="Duplicate charge", score=1, snippet="x" * 200)] * 3,
        notes=["Customer prefers a call after 5pm. " * 5] * 10,
        assignee_name="Sam Specialist",
        acknowledged=True,
        calendars=[
            ClockCalendar(
                clock=c.name, calendar="uk_extended", timezone="Europe/London", target_s=86400
            )
            for c in view.clocks
        ],
        request=req,
        opened_by="Alex Agent",
        opened_at=now,
        consult_question="billing: Charged twice",
        customer=customer,
        previous_escalations=[
            PastCase(
                escalation_id=f"E-{i:016d}",
                opened_at=now,
                trigger="customer_request",
                stage="closed",
                resolved_tier="tier1",
                outcome="Granted 40 GBP at tier 1",
                granted_amount=40,
                currency="GBP",
            )
            for i in range(10)
        ],
        notes_count=12,
        team_hours=[
            TeamHours(team="technical-specialists", calendar="uk_office", timezone="Europe/London")
        ],
        callback_grace_min=10,
    )
    timeline = [
        TimelineEntry(
            at=now,
            actor="Sam Specialist",
            role="specialist",
            action="note_added",
            stage="specialist",
            detail="x" * 100,
        )
    ] * 60
    return {
        "case": view,
        "timeline": timeline,
        "handover": handover,
        "forms": list(FORMS.values())[:4],
        "may_decide": True,
        "temporal_link": None,
        "person": DirectoryEntry(
            id="p-executive", name="Eve Executive", role="executive", authority_limit=10000
        ),
        "csrf": "x",
        "currency": "GBP",
        "choices": {"root_cause": ("", "billing_error")},
        "poll_ms": pages.POLL_MS,
    }


def measure(template: jinja2.Template, ctx: dict[str, Any], n: int) -> str:
    for _ in range(50):  # warm
        html = template.render(ctx)
    times = []
    for _ in range(n):
        start = time.process_time()
        html = template.render(ctx)
        times.append((time.process_time() - start) * 1000)
    times.sort()
    p95 = times[int(0.95 * (n - 1))]
    return f"{len(html):,} bytes, CPU p50 {statistics.median(times):.2f} ms, p95 {p95:.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--against", type=Path, help="another _case.html to render beside it")
    args = parser.parse_args()
    env = pages.templates.env
    filters.install(env)
    ctx = rich_case(datetime.now(UTC))
    names = ["_case.html"]
    if args.against:
        env.loader = jinja2.ChoiceLoader(
            [env.loader, jinja2.FileSystemLoader(args.against.parent)]  # type: ignore[list-item]
        )
        names.insert(0, args.against.name)
    for name in names:
        print(f"{name}: {measure(env.get_template(name), ctx, args.n)}")  # noqa: T201


if __name__ == "__main__":
    main()
