"""The OpenAPI document as a reader meets it at /docs: the workflow's pydantic contracts
(workflows/models.py, views.py, policy.py) are the API's response bodies too, so fields they
leave undocumented are described here; every 422 uses the one error shape."""

from __future__ import annotations

from typing import Any

# A description set on the model itself always wins over these.

SHARED_FIELD_DOCS: dict[str, dict[str, str]] = {
    "Handover": {
        "details": "Free text the frontline captured at the opening",
        "triage_rule": "The policy's triage rule that matched (1-based; null: the default)",
        "triage_reason": "Why triage chose severity and urgency",
        "consult_answer": "The help line's answer (advice to the frontline), if any",
        "kb_matches": "Knowledge-base articles matching the case",
        "notes": "The latest notes, whole",
        "assignee_name": "Who has the case now",
        "acknowledged": "Whether the owner has taken the case (acknowledged)",
        "calendars": "The business hours each SLA clock counts on",
        "opened_at": "When the case was opened",
        "severity": "P1 (worst) to P4",
        "urgency": "immediate, high, normal or low",
    },
    "ClockCalendar": {
        "clock": "The SLA clock: first_response or resolution",
        "timezone": "The calendar's time zone",
    },
    "KbMatch": {
        "slug": "The article's id in the knowledge base",
        "title": "The article's title",
        "score": "How well it matches (higher is better)",
        "snippet": "The matching passage",
    },
    "PastCase": {
        "escalation_id": "The earlier escalation's id",
        "opened_at": "When it was opened",
        "trigger": "Why it was escalated",
        "stage": "Where it is now (closed, follow_up, ...)",
        "resolved_tier": "Where it was resolved: tier1, helpline, specialist or executive",
        "outcome": "What was done for the customer",
        "root_cause": "The root-cause category recorded at resolution",
        "granted_amount": "The remedy granted, if any",
        "currency": "The granted amount's currency",
    },
    "EscalationView": {
        "id": "Public escalation id (the workflow id is `escalation-<id>`)",
        "stage": "Where the case is: triage, tier1_exception, helpline_consult, specialist, "
        "executive_signoff, resolved, follow_up, closed or cancelled; `terminated` when the "
        "workflow ended outside the process (see `ended_outside`)",
        "severity": "P1 (worst) to P4, from the policy's triage rules; null before triage",
        "urgency": "immediate, high, normal or low; null before triage",
        "customer": "The customer as captured when the case was opened",
        "channel": "Where the customer contacted us",
        "category": "Problem category (drives triage, the tier-1 catalogue and routing)",
        "summary": "One-line summary",
        "trigger": "Why the case was escalated",
        "avoidable": "Whether the trigger class is avoidable under the policy; null before triage",
        "requested_remedy": "What the customer asked for, if anything",
        "granted_remedy": "What was granted (tier 1, a specialist or a sign-off), if anything",
        "proposal": "The specialist's latest proposed remedy, if any",
        "assigned_team": "Specialist team the case was routed to",
        "assignee": "Person id of the current owner",
        "pending_approval": "The remedy waiting for sign-off, the authority it needs and until "
        "when the current level has to decide; null when nothing waits",
        "clocks": "SLA clocks (first_response, resolution) on business hours",
        "next_deadline": "The earliest upcoming deadline of any kind (SLA clock, consult "
        "window, acknowledgement, approval)",
        "resolved_at_tier": "Where the case was resolved: tier1, helpline, specialist or "
        "executive; null while unresolved",
        "outcome": "What was done for the customer, once resolved",
        "waiting_on_customer": "True while the SLA clocks are paused for the customer's reply",
        "external_ref": "The caller's own reference (e.g. the CRM ticket)",
        "policy_version": "Version of the policy pinned for the life of the case",
        "opened_at": "When the case was opened",
        "updated_at": "When anything last changed",
    },
    "Callback": {
        "note": "What the call is for",
        "promised_by_id": "Person id of the promiser",
        "promised_by_role": "The promiser's role",
        "reminded": "The promiser was reminded",
        "done_at": "When the call was recorded done (null: not yet)",
        "done_by": "Who recorded it done",
    },
    "Contribution": {
        "number": "1, 2, ... on the case",
        "team": "The team asked (a team of the policy)",
        "question": "What the team is asked",
        "asked_by": "The case's owner who asked (name)",
        "asked_at": "When it was asked",
        "answer": "The team's answer (null: not yet)",
        "answered_by": "Who answered (name)",
        "answered_at": "When it was answered",
    },
    "CustomerFeedback": {
        "comment": "The customer's own words",
        "still_broken": "The customer said the problem is back",
        "at": "When the answer was recorded",
    },
    "ClockView": {
        "name": "first_response or resolution",
        "due_at": "When the clock breaches if it keeps running",
        "paused": "True while waiting on the customer",
        "warned_at": "When the last warning (policy fraction) was sent",
        "breached": "True once the clock ran out",
        "met_at": "When the clock was stopped because its target was met",
        "remaining_business_s": "Business seconds left; null once met",
    },
    "PendingApprovalView": {
        "remedy": "The proposed remedy",
        "required_authority": "Authority limit an approver needs (policy currency)",
        "level": "Role currently asked to decide (supervisor, manager, executive)",
        "since": "When the proposal was made",
        "due_at": "When a reminder goes out or the approval moves one level up",
    },
    "Customer": {"tier": "standard, gold or vip", "contact": "How to reach the customer"},
    "Contact": {"preferred_channel": "Where the customer wants to hear back"},
    "EscalationRequest": {
        "customer": "Who the escalation is for (id and name required)",
        "requested_remedy": "What the customer asks for; small refunds, credits and fee "
        "waivers are granted at tier 1 at once",
        "trigger": "Why the frontline escalates",
        "category": "Problem category, e.g. billing",
        "summary": "One line",
        "external_ref": "Your own reference; without an Idempotency-Key it makes retries "
        "return the same escalation",
    },
    "Remedy": {
        "kind": "refund, goodwill_credit, fee_waiver, replacement or other",
        "amount": "Money, in `currency`",
        "currency": "ISO 4217 code (the policy's currency)",
        "description": "Free text",
    },
    "Timeline": {"items": "Entries, oldest first"},
    "TimelineEntry": {
        "at": "When",
        "actor": "Who (name; `workflow` for automatic steps)",
        "role": "The actor's role",
        "action": "What happened, e.g. approval_granted",
        "stage": "Stage at the time",
        "detail": "Free text",
    },
    "Policy": {
        "title": "Human title",
        "currency": "Currency of every amount",
        "signed_off_by": "Stakeholders who signed this version off",
        "tier1_limit": "Tier 1's authority (money)",
        "tier1_catalogue": "Remedies tier 1 may grant, with caps",
        "consult_window_min": "Minutes the help line has to answer a consult",
        "helpline_calendar": "Calendar of the help line",
        "avoidable_triggers": "Trigger classes counted as avoidable",
        "triage": "Severity/urgency rules, first match wins",
        "default_severity": "Severity when no rule matches",
        "default_urgency": "Urgency when no rule matches",
        "sla": "SLA targets per severity and tier",
        "warning_fractions": "Fractions of a clock at which warnings go out",
        "calendars": "Business-hours calendars by name",
        "teams": "Specialist teams",
        "signoff": "Sign-off rules and authority ladder",
        "follow_up_h": "Hours after resolution of each customer check-in",
    },
    "SignOff": {"name": "Who", "role": "Their role", "date": "When they signed off"},
    "SignoffLevel": {
        "role": "Approver role at this level",
        "authority_limit": "Money this level may approve",
    },
    "SignoffRules": {
        "reminder_every_min": "Minutes between reminders to approvers",
        "reminders_before_raise": "Reminders before the approval moves up a level",
    },
    "SlaTarget": {
        "severity": "Severity this target applies to",
        "tier": "Customer tier, or * for any",
    },
    "Team": {
        "name": "Team name",
        "calendar": "Business-hours calendar",
        "authority_limit": "Money the team's specialists may grant",
        "acknowledge_within_min": "Minutes to acknowledge before the case is reassigned",
    },
    "TriageRule": {
        "categories": "Matching categories (empty: any)",
        "triggers": "Matching triggers (empty: any)",
        "tiers": "Matching customer tiers (empty: any)",
        "severity": "Severity given",
        "urgency": "Urgency given",
    },
    "ExceptionEntry": {"kind": "Remedy kind", "max_amount": "Largest amount tier 1 may grant"},
    "CalendarSpec": {
        "holiday_subdivision": "Region for the holidays package, e.g. ENG",
        "always_open": "Open around the clock (e.g. the 24x7 calendar)",
    },
}

_ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}


def finish_openapi(schema: dict[str, Any]) -> dict[str, Any]:
    """Describe undocumented shared-model fields; make every 422 use the one error shape."""
    components = schema.get("components", {}).get("schemas", {})
    for model, docs in SHARED_FIELD_DOCS.items():
        props = components.get(model, {}).get("properties", {})
        for field, text in docs.items():
            if field in props and not props[field].get("description"):
                props[field]["description"] = text
    for ops in schema.get("paths", {}).values():
        for op in ops.values():
            resp = op.get("responses", {}).get("422")
            if resp is not None:
                resp["content"] = {"application/json": {"schema": _ERROR_REF}}
                resp["description"] = "Invalid body or parameter (the detail names the field)"
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    _local_times(components)
    _operations_endpoints(schema.get("paths", {}))
    return schema


_LOCAL_TIME = {
    "type": "string",
    "pattern": r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]+)?)?$",
    "description": "Local wall-clock time (HH:MM[:SS]) in the calendar's own time zone",
    "examples": ["09:00:00"],
}


def _local_times(node: Any) -> None:
    """pydantic documents `datetime.time` as JSON Schema `format: time`, which is RFC 3339's
    full-time and requires an offset ("09:00:00Z"); our business-hours times are naive local
    times ("09:00:00"). Document what is actually sent."""
    children = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else ()
    )
    for key, value in list(children):
        if isinstance(value, dict) and value.get("format") == "time":
            node[key] = {**{k: v for k, v in value.items() if k != "format"}, **_LOCAL_TIME}
        else:
            _local_times(value)


def _operations_endpoints(paths: dict[str, Any]) -> None:
    """/metrics answers Prometheus text, not JSON; /readyz's 503 carries the one error shape."""
    metrics = paths.get("/metrics", {}).get("get", {}).get("responses", {}).get("200")
    if metrics is not None:
        metrics["content"] = {
            "text/plain": {
                "schema": {"type": "string", "description": "Prometheus text exposition format"}
            }
        }
    not_ready = paths.get("/readyz", {}).get("get", {}).get("responses", {}).get("503")
    if not_ready is not None:
        not_ready["content"] = {"application/json": {"schema": _ERROR_REF}}
