"""A customer's past escalations from the report store (activity ``customer_history``): tier-1
goodwill budgets, the approvers' view and the handover packet (issue 22) read them."""

from __future__ import annotations

from sqlalchemy import func, select

from core.report_store import ReportStore, utc
from core.report_store.schema import cases
from workflows.messages import CustomerHistory, CustomerHistoryQuery, PastEscalation


def customer_history(store: ReportStore, q: CustomerHistoryQuery) -> CustomerHistory:
    """The customer's escalations opened since `q.since` (but the one asking), newest first, at
    most `q.limit` of them; the count and the goodwill granted (per currency) cover them all."""
    c = cases.c
    where = [c.customer_id == q.customer_id, c.opened_at >= utc(q.since)]
    if q.exclude_id is not None:
        where.append(c.escalation_id != q.exclude_id)
    listed = (
        select(
            c.escalation_id,
            c.opened_at,
            c.trigger,
            c.stage,
            c.resolved_tier,
            c.outcome,
            c.root_cause,
            c.granted_amount,
            c.currency,
        )
        .where(*where)
        .order_by(c.opened_at.desc(), c.escalation_id.desc())
        .limit(max(0, q.limit))
    )
    goodwill = (
        select(c.currency, func.sum(c.granted_amount))
        .where(*where, c.granted_amount.is_not(None), c.currency.is_not(None))
        .group_by(c.currency)
        .order_by(c.currency)
    )
    with store.engine.connect() as conn:
        count = conn.execute(select(func.count()).select_from(cases).where(*where)).scalar_one()
        rows = conn.execute(listed).all()
        sums = conn.execute(goodwill).all()
    return CustomerHistory(
        escalations=[
            PastEscalation(
                escalation_id=r.escalation_id,
                opened_at=utc(r.opened_at),
                trigger=r.trigger,
                stage=r.stage,
                resolved_tier=r.resolved_tier,
                outcome=r.outcome,
                root_cause=r.root_cause,
                granted_amount=r.granted_amount,
                currency=r.currency,
            )
            for r in rows
        ],
        count=int(count),
        goodwill_granted={str(r[0]): round(float(r[1] or 0), 2) for r in sums},
    )
