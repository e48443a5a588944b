""" "My work": what each role has to do next, due first, read through the gateway.

Every list comes from visibility (search attributes), never from a query per case, so an inbox
costs the same at 10,000 open cases as at ten: the approvers' lists read `PendingLevel` and
`PendingAuthority`, the owners' and the manager's `SlaBreached` and `Attention` (the workflow
upserts them, workflows/escalation/visibility.py). Each part of a page is one query (the
manager's board two) whose results are sorted into its sections here; a part with more than a
page of matches asks once per section instead, so no section is crowded out (docs/decisions/0020
and 0021).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import datetime

from temporalio.client import Client

from api import visibility
from api.cases.schemas import EscalationPage, EscalationSummary
from core.directory import DirectoryEntry
from workflows import search_attributes as sa
from workflows.access import APPROVER_RANK, APPROVER_ROLES

LIST_SIZE = 50


@dataclass
class WorkItem:
    case: EscalationSummary
    due_at: datetime | None
    why: str  # what is asked of the reader, in words
    decidable: bool | None = None  # approvals only: may the reader decide it?


@dataclass
class WorkSection:
    title: str
    items: list[WorkItem]
    empty: str


def _due_first(items: list[WorkItem]) -> list[WorkItem]:
    far = datetime.max.replace(tzinfo=None)
    return sorted(items, key=lambda i: i.due_at.replace(tzinfo=None) if i.due_at else far)


async def _page(client: Client, *extra: str, size: int = 0, **filters) -> EscalationPage:
    clauses = visibility.filter_clauses(status="open", **filters) + list(extra)
    return await visibility.list_cases(client, clauses, size or LIST_SIZE, None)


async def _list(client: Client, *extra: str, **filters) -> list[EscalationSummary]:
    return (await _page(client, *extra, **filters)).items


def approval_clauses(person: DirectoryEntry) -> tuple[str, str]:
    """The visibility clauses of the approvals a person may decide (their level and authority
    cover the pending approval's, as the workflow's validator checks) and of the rest."""
    rank = APPROVER_RANK.get(person.role, -1)
    limit = float(person.authority_limit)
    may = f"`PendingLevel` <= {rank} AND `PendingAuthority` <= {limit!r}"
    # a case raised before the attributes existed has none: listed, to be opened to decide
    rest = f"(`PendingLevel` > {rank} OR `PendingAuthority` > {limit!r} OR `PendingLevel` IS NULL)"
    return may, rest


def decidable_by(person: DirectoryEntry, c: EscalationSummary) -> bool:
    """`approval_clauses`' first clause, on a case already read."""
    if c.pending_level is None or c.pending_authority is None:
        return False
    rank = APPROVER_RANK.get(person.role, -1)
    return APPROVER_RANK.get(c.pending_level, rank + 1) <= rank and c.pending_authority <= float(
        person.authority_limit
    )


async def _approvals(client: Client, person: DirectoryEntry, currency: str) -> list[WorkItem]:
    every = await _page(client, size=2 * LIST_SIZE, stage="executive_signoff")
    if every.next_page_token is None:
        decidable = [c for c in every.items if decidable_by(person, c)]
        visible = [c for c in every.items if not decidable_by(person, c)]
    else:
        may, rest = approval_clauses(person)
        decidable, visible = await asyncio.gather(
            _list(client, may, stage="executive_signoff"),
            _list(client, rest, stage="executive_signoff"),
        )

    def why(c: EscalationSummary, yes: bool) -> str:
        if c.pending_authority is None:
            return "Awaiting sign-off: open the case to see the amount and whether you may decide"
        amount = f"{c.pending_authority:g} {currency}"
        if yes:
            return f"Approve or reject {amount} ({c.pending_level} level)"
        return (
            f"{amount} at the {c.pending_level} level; your authority is "
            f"{person.authority_limit:g} ({person.role}): you can see it but not decide it"
        )

    return [WorkItem(c, c.sla_due_at, why(c, True), True) for c in decidable] + [
        WorkItem(c, c.sla_due_at, why(c, False), False) for c in visible
    ]


def _attention(flag: str) -> str:
    return f"`{sa.ATTENTION.name}` = '{flag}'"


async def managers_board(client: Client) -> list[WorkSection]:
    """The escalated-accounts manager's board: breached, at risk, undelivered, unacknowledged.
    Breached cases and flagged ones are two queries at once: joined by OR, the SQL visibility
    used neither attribute's index (45 ms against 1.4 and 5.6 ms at 10,000 open, decision 0021)."""
    flags = ", ".join(f"'{f}'" for f in (sa.AT_RISK, sa.UNDELIVERED, sa.AWAITING_ACK))
    breached, flagged = await asyncio.gather(
        _list(client, breached=True),
        _page(client, f"`{sa.ATTENTION.name}` IN ({flags})", size=2 * LIST_SIZE),
    )
    if flagged.next_page_token is None:
        cases = flagged.items
        at_risk = [c for c in cases if sa.AT_RISK in c.attention and not c.sla_breached]
        undelivered = [c for c in cases if sa.UNDELIVERED in c.attention]
        unacked = [c for c in cases if sa.AWAITING_ACK in c.attention and c.stage == "specialist"]
    else:
        at_risk, undelivered, unacked = await asyncio.gather(
            _list(client, _attention(sa.AT_RISK), breached=False),
            _list(client, _attention(sa.UNDELIVERED)),
            _list(client, _attention(sa.AWAITING_ACK), stage="specialist"),
        )
    return [
        WorkSection(
            "Breached cases",
            [WorkItem(c, c.sla_due_at, "SLA breached") for c in breached],
            "No open case has breached.",
        ),
        WorkSection(
            "At risk: over 75 % of a clock used",
            [WorkItem(c, c.sla_due_at, "At risk of breaching") for c in at_risk],
            "No running clock is past 75 % of its target.",
        ),
        WorkSection(
            "Undelivered messages",
            [
                WorkItem(c, c.sla_due_at, "A message reached nobody: see the timeline")
                for c in undelivered
            ],
            "Every message was delivered.",
        ),
        WorkSection(
            "Unacknowledged transfers",
            [
                WorkItem(c, c.sla_due_at, f"Waiting for {c.assignee or 'the team'} to acknowledge")
                for c in unacked
            ],
            "Every transfer has been acknowledged.",
        ),
    ]


async def _consults(client: Client) -> list[WorkSection]:
    items = [
        WorkItem(c, c.sla_due_at, "Answer the consult")
        for c in await _list(client, stage="helpline_consult")
    ]
    return [WorkSection("Consults waiting for an answer", items, "No consults.")]


async def _own_cases(client: Client, person: DirectoryEntry) -> list[WorkSection]:
    mine = await _list(client, assignee=person.id)
    to_ack = [c for c in mine if sa.AWAITING_ACK in c.attention]
    owned = [c for c in mine if sa.AWAITING_ACK not in c.attention]
    return [
        WorkSection(
            "Cases to acknowledge",
            [WorkItem(c, c.sla_due_at, "Acknowledge: take ownership") for c in to_ack],
            "Nothing waits for your acknowledgement.",
        ),
        WorkSection(
            "Cases you own",
            [WorkItem(c, c.sla_due_at, "Propose a remedy or resolve") for c in owned],
            "You own no open case.",
        ),
    ]


async def _approval_sections(
    client: Client, person: DirectoryEntry, currency: str
) -> list[WorkSection]:
    approvals = await _approvals(client, person, currency)
    return [
        WorkSection(
            "Approvals you may decide",
            [i for i in approvals if i.decidable],
            "No approvals within your authority.",
        ),
        WorkSection(
            "Approvals you can see but not decide",
            [i for i in approvals if not i.decidable],
            "None.",
        ),
    ]


async def _open_cases(client: Client) -> list[WorkSection]:
    items = [WorkItem(c, c.sla_due_at, c.stage or "") for c in await _list(client)]
    return [WorkSection("Open cases", items, "No open cases.")]


async def my_work(
    client: Client, person: DirectoryEntry, currency: str = "GBP"
) -> list[WorkSection]:
    """The reader's sections, due first; a role's parts are asked of visibility at once."""
    role = person.role
    parts: list[Awaitable[list[WorkSection]]] = []
    if role == "helpline":
        parts.append(_consults(client))
    if role in ("specialist", "manager"):  # the manager owns threats and P1s (decision 0040)
        parts.append(_own_cases(client, person))
    if role in APPROVER_ROLES:
        parts.append(_approval_sections(client, person, currency))
    if role == "manager":
        parts.append(managers_board(client))
    if not parts:
        parts.append(_open_cases(client))
    sections = [s for part in await asyncio.gather(*parts) for s in part]
    for s in sections:
        s.items = _due_first(s.items)
    return sections
