"""The customer's past year (the report store's `customer_history`, read once per case) and what
it decides: tier 1's goodwill budget, what approvers see, the handover's previous escalations.

A tier-1 grant the opening allowed waits in `tier1_exception` for the history (opening.tier1),
then is granted or sent to the help line. When the history cannot be read the case goes on: the
budget is unknown, recorded on the timeline, and tier 1 still grants within the policy's and the
agent's limits (a report-store outage must not push every small refund to the help line; the
agent's own authority is the safeguard), docs/decisions/0040.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from temporalio import workflow
from temporalio.exceptions import FailureError

with workflow.unsafe.imports_passed_through():
    from workflows import opening, rules
    from workflows.escalation import calls
    from workflows.messages import CustomerHistoryQuery
    from workflows.models import CustomerRecord, PastCase

if TYPE_CHECKING:
    from workflows.escalation.workflow import EscalationWorkflow

YEAR = timedelta(days=365)


async def load(wf: EscalationWorkflow) -> CustomerRecord:
    """The customer's past year, read once (cases opened under issue 22's rules only)."""
    s = wf.s
    if s.customer_record is not None:
        return s.customer_record
    since = s.opened_at - YEAR
    try:
        h = await calls.customer_history(
            CustomerHistoryQuery(customer_id=s.request.customer.id, since=since, exclude_id=s.id)
        )
    except FailureError as e:
        s.customer_record = CustomerRecord(known=False, since=since)
        why = str(e.cause or e)
        why = why if len(why) <= 160 else why[:159] + "…"
        wf.record_process("customer_history_unavailable", f"{why}; the goodwill budget is unknown")
        return s.customer_record
    s.customer_record = CustomerRecord(
        known=True,
        since=since,
        count=h.count,
        goodwill_granted=dict(h.goodwill_granted),
        escalations=[PastCase.model_validate(e.model_dump()) for e in h.escalations],
    )
    wf.record_process("customer_history", opening.customer_summary(s, wf.policy))
    return s.customer_record


async def tier1(wf: EscalationWorkflow) -> None:
    """Stage `tier1_exception` (a grant the opening allowed): within what is left of the
    customer's goodwill budget, granted; beyond it, to the help line."""
    s, p = wf.s, wf.policy
    record = await load(wf)
    remedy = s.request.requested_remedy
    assert remedy is not None  # the opening allowed a grant of it
    allowed, why = rules.tier1_decision(p, s.request, s.opened_by)
    left = rules.goodwill_left(p, record.goodwill_granted) if record.known else None
    if not record.known:
        why += "; goodwill budget unknown (customer history unavailable)"
    elif left is not None and remedy.amount > left:
        allowed = False
        why = (
            f"{remedy.kind} {remedy.amount:g} above what is left of the customer's goodwill "
            f"budget: {left:g} of {p.goodwill_budget_per_year:g} {p.currency} this year"
        )
    elif left is not None:
        why += f"; {left:g} {p.currency} of the goodwill budget was left"
    now = workflow.now()
    if allowed:
        opening.grant_tier1(s, p, why, now)
        wf.sla.changed()
    else:
        opening.decline_tier1(s, p, why, now)
    wf.moved()
