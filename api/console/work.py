""" "My work": what each role has to do next, due first, read through the gateway.

Lists come from the visibility store (search attributes). Approvers' items need the live state
(the pending amount and level are not search attributes), so the cases in `executive_signoff`
are queried, at most `APPROVAL_QUERIES` of them, concurrently; a specialist's own cases (at most
`LIST_SIZE`) are queried for whether they acknowledged them
(docs/decisions/0020-console-approvals-by-query.md says why not new search attributes).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from temporalio.client import Client

from api import gateway
from api.errors import DomainError
from api.schemas import EscalationSummary
from core.directory import DirectoryEntry
from workflows.access import APPROVER_ROLES
from workflows.models import EscalationView

LIST_SIZE = 50
# "At risk" on the manager's board: a running clock due within this many hours (wall clock).
# Visibility holds the next due time, not the share of a clock used (docs/decisions/0020).
AT_RISK_H = 2
APPROVAL_QUERIES = 50


@dataclass
class WorkItem:
    case: EscalationSummary
    due_at: datetime | None
    why: str  # what is asked of the reader, in words
    decidable: bool | None = None  # approvals only: may the reader decide it?
    view: EscalationView | None = None


@dataclass
class WorkSection:
    title: str
    items: list[WorkItem]
    empty: str


def _due_first(items: list[WorkItem]) -> list[WorkItem]:
    far = datetime.max.replace(tzinfo=None)
    return sorted(items, key=lambda i: i.due_at.replace(tzinfo=None) if i.due_at else far)


async def _list(client: Client, **filters) -> list[EscalationSummary]:
    clauses = gateway.filter_clauses(status="open", **filters)
    return (await gateway.list_cases(client, clauses, LIST_SIZE, None)).items


async def _at_risk(client: Client) -> list[EscalationSummary]:
    until = (datetime.now(UTC) + timedelta(hours=AT_RISK_H)).strftime("%Y-%m-%dT%H:%M:%SZ")
    clauses = gateway.filter_clauses(status="open", breached=False)
    clauses.append(f"`SlaDueAt` <= '{until}'")
    return (await gateway.list_cases(client, clauses, LIST_SIZE, None)).items


async def _approvals(client: Client, person: DirectoryEntry) -> list[WorkItem]:
    cases = (await _list(client, stage="executive_signoff"))[:APPROVAL_QUERIES]

    async def one(case: EscalationSummary) -> WorkItem | None:
        try:
            view = await gateway.query_state(client, case.id)
        except DomainError:  # closed or moved on since the list was read
            return None
        pending = view.pending_approval
        if pending is None:
            return None
        decidable = person.authority_limit >= pending.required_authority
        amount = f"{pending.remedy.amount:g} {pending.remedy.currency}"
        why = (
            f"Approve or reject {amount} ({pending.level} level)"
            if decidable
            else f"{amount} needs authority {pending.required_authority:g}; yours is "
            f"{person.authority_limit:g}: you can see it but not decide it"
        )
        return WorkItem(case, pending.due_at, why, decidable, view)

    found = await asyncio.gather(*(one(c) for c in cases))
    return [i for i in found if i is not None]


async def _acknowledged(client: Client, escalation_id: str) -> bool | None:
    """Whether the owner has acknowledged (a handover query; None if it cannot be read now)."""
    try:
        return (await gateway.query_handover(client, escalation_id)).acknowledged
    except DomainError:
        return None


async def my_work(client: Client, person: DirectoryEntry) -> list[WorkSection]:
    role = person.role
    sections: list[WorkSection] = []
    if role == "helpline":
        items = [
            WorkItem(c, c.sla_due_at, "Answer the consult")
            for c in await _list(client, stage="helpline_consult")
        ]
        sections.append(WorkSection("Consults waiting for an answer", items, "No consults."))
    if role in ("specialist", "manager"):  # the manager owns threats and P1s (decision 0040)
        mine = await _list(client, assignee=person.id)
        acknowledged = await asyncio.gather(*(_acknowledged(client, c.id) for c in mine))
        to_ack = [c for c, ack in zip(mine, acknowledged, strict=True) if not ack]
        owned = [c for c, ack in zip(mine, acknowledged, strict=True) if ack]
        sections.append(
            WorkSection(
                "Cases to acknowledge",
                [WorkItem(c, c.sla_due_at, "Acknowledge: take ownership") for c in to_ack],
                "Nothing waits for your acknowledgement.",
            )
        )
        sections.append(
            WorkSection(
                "Cases you own",
                [WorkItem(c, c.sla_due_at, "Propose a remedy or resolve") for c in owned],
                "You own no open case.",
            )
        )
    if role in APPROVER_ROLES:
        approvals = await _approvals(client, person)
        sections.append(
            WorkSection(
                "Approvals you may decide",
                [i for i in approvals if i.decidable],
                "No approvals within your authority.",
            )
        )
        sections.append(
            WorkSection(
                "Approvals you can see but not decide",
                [i for i in approvals if not i.decidable],
                "None.",
            )
        )
    if role == "manager":
        items = [
            WorkItem(c, c.sla_due_at, "SLA breached") for c in await _list(client, breached=True)
        ]
        sections.append(WorkSection("Breached cases", items, "No open case has breached."))
        sections.append(
            WorkSection(
                f"Due within {AT_RISK_H} hours",
                [WorkItem(c, c.sla_due_at, "At risk of breaching") for c in await _at_risk(client)],
                "No running clock is due that soon.",
            )
        )
    if not sections:
        items = [WorkItem(c, c.sla_due_at, c.stage or "") for c in await _list(client)]
        sections.append(WorkSection("Open cases", items, "No open cases."))
    for s in sections:
        s.items = _due_first(s.items)
    return sections
