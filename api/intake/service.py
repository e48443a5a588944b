"""Opening a case, and what the intake form shows the agent before they escalate.

`open_case` is the one way in: `POST /escalations` (api/cases/router.py) and the console's
"Escalate" form (api/console/intake.py) both call it, so every case opens through
`workflows.opening` with the same idempotency, triage and policy pinning.

`intake_help` is what the agent sees while the customer is on the line, to avoid a needless
escalation: what tier 1 may grant (the policy's catalogue within the agent's own authority),
whether the remedy typed so far is within it (the workflow's own rule, `rules.tier1_decision`),
what is left of the customer's yearly goodwill budget (the report store), and the knowledge
base's matches for the words typed so far.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import structlog
from temporalio.client import Client

from api import gateway
from api.auth import actor_of
from api.cases import service as cases
from api.errors import Invalid
from api.policy.service import policy_with_json
from core.directory import DirectoryEntry
from core.kb import KnowledgeBase
from core.policy import LivePolicy
from core.report_store import ReportStore
from core.report_store.customers import customer_history
from core.settings import Settings
from workflows import capture, opening, rules
from workflows.messages import CustomerHistoryQuery
from workflows.models import Customer, EscalationRequest, KbMatch, Remedy, RemedyKind
from workflows.policy import Policy
from workflows.views import EscalationView

log = structlog.get_logger("api")
YEAR = timedelta(days=365)
KB_TEXT_CHARS = 2_000  # what the search reads of the typed text


async def open_case(
    client: Client,
    settings: Settings,
    policy_file: LivePolicy,
    body: EscalationRequest,
    person: DirectoryEntry,
    idempotency_key: str | None,
) -> tuple[EscalationView, bool]:
    """Open the case (or find the one this key already opened): its view and whether it is new.
    The key (else the body's `external_ref`) is scoped to the caller; without one, a new id."""
    key = idempotency_key or body.external_ref
    escalation_id = gateway.escalation_id_for(key, person.id)
    policy, policy_json = await policy_with_json(policy_file)
    # A system (the CRM) may not know the questions: the frontline answers them before the
    # case can reach a specialist. A person opening it answers them now.
    fields = capture.problems(
        policy, body.category, body.answers, body.checklist, require=person.role != "system"
    )
    if fields:
        raise CaptureInvalid(fields)
    now = datetime.now(UTC)
    case = opening.new_case(policy, policy_json, escalation_id, body, actor_of(person), now)
    memo = gateway.opening_memo(
        case, "header" if idempotency_key else ("external_ref" if key else "none")
    )
    _, created = await gateway.start_case(
        client, settings.task_queue, case, memo, refuse_other_request=key is not None
    )
    log.info(
        "escalation_opened" if created else "escalation_open_repeated",
        escalation_id=escalation_id,
        by=person.id,
    )
    if created:
        return opening.view(case.state, policy, now), True  # what the workflow holds at start
    # An older case: its live state, or 503 (Retry-After) when it cannot be read now; never a
    # state made up from the request.
    return await cases.query_state(client, escalation_id), False


class CaptureInvalid(Invalid):
    """Answers the policy's capture questions refuse (422), each named by its field."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in fields.items()))
        self.fields = fields


@dataclass
class Offer:
    kind: RemedyKind
    up_to: float  # the most this person may grant of it at tier 1


@dataclass
class IntakeHelp:
    currency: str
    offers: list[Offer]  # what the reader may grant themselves, for this category
    decision: tuple[bool, str] | None  # the typed remedy: within tier 1? (None: none typed)
    goodwill_left: float | None  # the customer's yearly budget left (None: no budget/customer)
    past_escalations: int | None
    kb: list[KbMatch] = field(default_factory=list)


def offers(policy: Policy, category: str, person: DirectoryEntry) -> list[Offer]:
    """The catalogue's entries for this category, each capped by tier 1's limit and, for an
    agent, their own authority (as `rules.tier1_decision` caps them)."""
    out = []
    for entry in policy.tier1_catalogue:
        if entry.categories and category.lower() not in {c.lower() for c in entry.categories}:
            continue
        limit = min(entry.max_amount, policy.tier1_limit)
        if person.role == "agent":
            limit = min(limit, person.authority_limit)
        out.append(Offer(entry.kind, limit))
    return out


def _decision(
    policy: Policy, category: str, remedy: Remedy | None, person: DirectoryEntry
) -> tuple[bool, str] | None:
    if remedy is None:
        return None
    probe = EscalationRequest(
        customer=Customer(id="-", name="-"),
        channel="phone",
        category=category or "-",
        summary="-",
        trigger="customer_request",
        requested_remedy=remedy,
    )
    return rules.tier1_decision(policy, probe, actor_of(person))


async def intake_help(
    policy: Policy,
    store: ReportStore,
    kb: KnowledgeBase,
    person: DirectoryEntry,
    *,
    category: str,
    customer_id: str,
    remedy: Remedy | None,
    text: str,
) -> IntakeHelp:
    now = datetime.now(UTC)

    def read() -> tuple[int | None, dict[str, float] | None, list[KbMatch]]:
        count, given = None, None
        if customer_id:
            h = customer_history(
                store, CustomerHistoryQuery(customer_id=customer_id, since=now - YEAR)
            )
            count, given = h.count, h.goodwill_granted
        matches = kb.search(category, text[:KB_TEXT_CHARS]) if text.strip() else []
        return count, given, matches

    count, given, matches = await asyncio.to_thread(read)
    left = rules.goodwill_left(policy, given) if given is not None else None
    return IntakeHelp(
        currency=policy.currency,
        offers=offers(policy, category, person),
        decision=_decision(policy, category, remedy, person),
        goodwill_left=left,
        past_escalations=count,
        kb=matches,
    )
