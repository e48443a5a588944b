"""The messages the escalation exchanges with its activities: one pydantic model per argument
and result (fields can be added later without breaking running workflows). Pure data."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from workflows.models import Channel, KbMatch, Model, PastCase, Person, Role


class KbQuery(Model):
    category: str
    text: str
    limit: int = 3


class TextToRead(Model):
    """A customer's text for the text analysis (activities/quality.py)."""

    escalation_id: str
    text: str = Field(max_length=25_000)


class KbResult(Model):
    matches: list[KbMatch]


class RouteResult(Model):
    team: str
    assignee: Person
    open_load: int = Field(description="Open escalations already assigned to the assignee")


class PeopleQuery(Model):
    roles: list[Role]
    min_authority: float = 0
    team: str | None = None

    def selects(self, p: Person) -> bool:
        """Whom the query finds (the find_people activity; the workflow's share of a joint one)."""
        return (
            p.role in self.roles
            and p.authority_limit >= self.min_authority
            and (self.team is None or p.team == self.team)
        )


class PeopleResult(Model):
    people: list[Person]


class FeedbackLink(Model):
    """The feedback link a check-in carries: which check-in it answers and until when. The
    `deliver` activity signs it into the body's `{feedback_link}` (core/feedback.py)."""

    key: str = Field(description="The check-in: `<reopen count>.<check-in number>`")
    expires_at: datetime


class Delivery(Model):
    """One message on one channel to one address."""

    escalation_id: str
    event: str
    channel: Channel
    address: str = Field(description="E-mail address, phone number or chat handle")
    recipient_name: str
    subject: str
    body: str
    urgent: bool = False
    idempotency_key: str | None = Field(
        None,
        description="Set by the workflow: the same key however the message is sent "
        "(batched or alone) and on every retry; without it the activity derives one",
    )
    audience: Literal["customer", "staff"] | None = Field(
        None,
        description="Whom the message is for, set by the workflow: a customer's chat goes to "
        "the customer chat platform, staff chat to the staff chat tool, never the other way "
        "round. None only on deliveries scheduled before the field existed (routed by the old "
        "`@` handle rule)",
    )
    feedback: FeedbackLink | None = Field(
        None, description="A check-in's feedback link, signed into the body by the activity"
    )
    wait_for_relay_s: float = Field(
        0,
        description="Set by the workflow's retry after an outage: how long the activity may "
        "wait for the relay or gateway to answer again before it gives up this try",
    )


class DeliveryReceipt(Model):
    channel: Channel
    idempotency_key: str
    detail: str = ""


class CrmEvent(Model):
    escalation_id: str
    external_ref: str | None
    event: str
    stage: str
    at: datetime
    severity: str | None = None
    assignee: str | None = None
    detail: str = ""
    idempotency_key: str | None = Field(
        None, description="Set by the workflow (see Delivery); not part of the posted body"
    )


# --- facts for the report store (core/report_store) ---------------------------------------------


class FactEvent(Model):
    """One timeline entry; `seq` is its index in the case's timeline (the natural key)."""

    seq: int
    at: datetime
    actor: str
    role: str
    action: str
    stage: str
    detail: str = ""


class StageVisit(Model):
    """A stage the case entered (and left, once `left_at` is known)."""

    stage: str
    entered_at: datetime
    left_at: datetime | None = None


class ClockFact(Model):
    name: str
    due_at: datetime | None = None
    met_at: datetime | None = Field(None, description="Stopped without a breach at")
    breached: bool = False
    breached_at: datetime | None = None


class CaseSnapshot(Model):
    """What the reports group and filter by, as the case stands at `as_of`."""

    escalation_id: str
    as_of: datetime
    events_seen: int = Field(description="Timeline length at `as_of` (orders equal times)")
    opened_at: datetime
    opened_by_id: str
    opened_by_name: str
    customer_id: str | None = Field(None, description="Whose case (the customer-history query)")
    channel: str
    category: str
    trigger: str
    customer_tier: str
    severity: str | None = None
    avoidable: bool | None = None
    stage: str
    team: str | None = None
    assignee: str | None = None
    resolved_tier: str | None = None
    resolved_at: datetime | None = None
    outcome: str | None = Field(None, description="What resolved it (first 500 characters)")
    requested_amount: float | None = None
    granted_amount: float | None = None
    currency: str | None = None
    reopen_count: int = 0
    clocks: list[ClockFact] = Field(default_factory=list)
    root_cause: str | None = Field(None, description="Recorded at resolution (the policy's list)")
    feedback_score: int | None = Field(None, description="The customer's latest rating, 1-5")


class CaseFacts(Model):
    """One case's facts since the last flush (the `facts` item of a dispatch batch). Every part
    has a natural key, so writing the same facts twice changes nothing."""

    case: CaseSnapshot
    events: list[FactEvent] = Field(default_factory=list)
    stages: list[StageVisit] = Field(default_factory=list)


class OutboxItem(Model):
    """One message (its deliveries: the recipient's channels in order of preference) or one CRM
    event, sent with the other side effects of the same workflow task."""

    deliveries: list[Delivery] = Field(default_factory=list)
    crm: CrmEvent | None = None
    facts: CaseFacts | None = Field(None, description="Written to the report store")


class OutboxResult(Model):
    """done: sent (`channel`: by which, `failed_channels`: unusable ones tried first);
    failed: refused for good on every channel; retry: a transient failure at
    `deliveries[retry_from]`: the workflow sends it from there on its own, with retries."""

    status: Literal["done", "failed", "retry"]
    channel: str | None = None
    failed_channels: list[str] = Field(default_factory=list)
    retry_from: int = 0
    detail: str = ""


class Dispatch(Model):
    items: list[OutboxItem]


class DispatchResult(Model):
    results: list[OutboxResult]


class DispatchProgress(Model):
    """The `dispatch` activity's heartbeat details: the items of its batch already finished
    (index in the batch, result), so a batch cut short by a crash re-sends only the others."""

    finished: list[tuple[int, OutboxResult]] = Field(default_factory=list)


class CustomerHistoryQuery(Model):
    """The customer's past escalations (the report store), for tier-1 goodwill budgets, the
    approvers' view and the handover packet (issue 22)."""

    customer_id: str
    since: datetime = Field(description="Start of the window: a rolling year before the opening")
    exclude_id: str | None = Field(None, description="The case asking (not its own past)")
    limit: int = 20


# the activity answers with the case's own record of a past escalation (same fields)
PastEscalation = PastCase


class CustomerHistory(Model):
    escalations: list[PastEscalation] = Field(default_factory=list, description="Newest first")
    count: int = Field(0, description="Escalations in the window (may exceed the list)")
    goodwill_granted: dict[str, float] = Field(
        default_factory=dict, description="Remedies granted in the window, summed per currency"
    )
