"""The escalation policy: the documented, versioned process that stakeholders sign off.

Validated by pydantic (errors name the bad field). The loader activity reads the TOML file and
expands each calendar's public holidays into concrete dates, so the pinned copy a workflow
carries is self-contained and deterministic.
"""

from __future__ import annotations

import json
import re
import string
import threading
from collections import OrderedDict
from datetime import date, datetime, time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from workflows.models import Channel, CustomerTier, RemedyKind, Severity, Trigger, Urgency

# A policy pinned before root causes existed resolves against these.
DEFAULT_ROOT_CAUSES = (
    "billing_error", "product_fault", "process_gap", "policy_limit", "communication",
    "third_party", "customer_misunderstanding", "other",
)  # fmt: skip
ROOT_CAUSE = re.compile(r"[a-z][a-z0-9_]{0,63}")

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# The fields a message template may use: every message has the case's own, each event adds its
# own (workflows/escalation/notifier.py fills them). A template with any other placeholder, or a
# format spec the text values cannot take, is refused when the policy loads, not when a case
# pinned to it sends its first message.
CASE_FIELDS = frozenset({
    "id", "summary", "category", "customer", "severity", "promise_at", "assignee", "outcome",
    "remedy", "required_authority", "proposed_by", "kb_matches", "customer_tier",
    "customer_history",
})  # fmt: skip
EVENT_FIELDS: dict[str, frozenset[str]] = {
    "opened": frozenset(),
    "tier1_granted": frozenset(),
    "consult_requested": frozenset({"consult_window_min"}),
    "consult_answered": frozenset({"answer"}),
    "helpline_resolved": frozenset(),
    "transferred": frozenset({"ack_due", "handover"}),
    "acknowledged": frozenset(),
    "info_requested": frozenset({"question"}),
    "approval_needed": frozenset(),
    "reminder": frozenset(),
    "authority_raised": frozenset({"reason"}),
    "sla_warning": frozenset({"clock", "fraction", "due_at"}),
    "sla_breached": frozenset({"clock", "due_at"}),
    "reassigned": frozenset({"previous"}),
    "notification_failed": frozenset({"failed_event", "recipient"}),
    "resolved": frozenset(),
    "check_in": frozenset({"feedback_link"}),
    "reopened": frozenset(),
    "cancelled": frozenset({"reason"}),
    "contribution_requested": frozenset({"number", "team", "question", "contribution_due"}),
    "contribution_answered": frozenset(
        {"number", "team", "question", "contribution_due", "answer"}
    ),
    "contribution_breached": frozenset({"number", "team", "question", "contribution_due"}),
    "chased": frozenset({"message", "chased_by"}),
    "callback_reminder": frozenset({"number", "callback_at", "note"}),
    "callback_missed": frozenset({"number", "callback_at", "promised_by"}),
    "answers_needed": frozenset({"missing"}),
    "escalation_asked": frozenset({"reason"}),
}


def template_problem(event: str, template: str) -> str | None:
    """What is wrong with a message template (None: nothing)."""
    if event not in EVENT_FIELDS:
        return f"unknown message event; known: {', '.join(EVENT_FIELDS)}"
    allowed = CASE_FIELDS | EVENT_FIELDS[event]
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError as e:
        return f"not a valid template ({e})"
    for field in fields:
        if field not in allowed:
            return f"unknown placeholder {{{field}}}; it may use {', '.join(sorted(allowed))}"
    try:
        template.format(**{name: "text" for name in allowed})
    except (ValueError, TypeError, KeyError, IndexError) as e:
        return f"a placeholder's format does not fit a text value ({e})"
    return None


class PolicyModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SignOff(PolicyModel):
    name: str
    role: str
    date: date


class CalendarSpec(PolicyModel):
    """Business hours of a team (or a person's working hours)."""

    timezone: str = Field(examples=["Europe/London"])
    hours: dict[str, tuple[time, time]] = Field(
        description="Weekday (mon..sun) -> [start, end] local time; missing days are closed"
    )
    holiday_country: str | None = Field(None, description="ISO country for the holidays package")
    holiday_subdivision: str | None = None
    holidays: list[date] = Field(
        default_factory=list,
        description="Extra closed days (and, once loaded, the expanded public holidays)",
    )
    always_open: bool = False

    @field_validator("hours")
    @classmethod
    def _days(cls, v: dict[str, tuple[time, time]]) -> dict[str, tuple[time, time]]:
        for day, (start, end) in v.items():
            if day not in WEEKDAYS:
                raise ValueError(f"unknown weekday {day!r}; use one of {', '.join(WEEKDAYS)}")
            if end <= start:
                raise ValueError(f"{day}: end {end} is not after start {start}")
        return v

    @model_validator(mode="after")
    def _open_sometime(self) -> CalendarSpec:
        if not self.always_open and not self.hours:
            raise ValueError("a calendar needs opening hours or always_open = true")
        return self


class TriageRule(PolicyModel):
    """First matching rule wins; an empty list matches anything."""

    categories: list[str] = Field(default_factory=list)
    triggers: list[Trigger] = Field(default_factory=list)
    tiers: list[CustomerTier] = Field(default_factory=list)
    severity: Severity
    urgency: Urgency


class SlaTarget(PolicyModel):
    severity: Severity
    tier: CustomerTier | Literal["*"] = "*"
    first_response_h: float = Field(gt=0, description="Business hours to first response")
    resolution_h: float = Field(gt=0, description="Business hours to resolution")
    calendar: str | None = Field(None, description="Calendar override, e.g. '24x7' for P1")


class ExceptionEntry(PolicyModel):
    kind: RemedyKind
    max_amount: float = Field(ge=0)
    categories: list[str] = Field(default_factory=list, description="Empty: any category")


class Team(PolicyModel):
    name: str
    skills: list[str] = Field(description="Categories the team handles ('*' for any)")
    calendar: str
    authority_limit: float = Field(ge=0)
    members: list[str] = Field(min_length=1, description="Person ids from the directory")
    acknowledge_within_min: float = Field(30, gt=0)


QUESTION_ID = re.compile(r"[a-z][a-z0-9_]{0,39}")


class Question(PolicyModel):
    """One thing the frontline asks for a category before escalating (guided capture)."""

    id: str = Field(
        description="Lower-case words joined by underscores; the answer's key",
        examples=["invoice_number"],
    )
    text: str = Field(min_length=1, max_length=200, examples=["Which invoice is it?"])
    type: Literal["choice", "number", "money", "date", "text"] = Field(
        "text",
        description="How it is answered: choice (one of `choices`), number, money (digits), "
        "date (YYYY-MM-DD) or free text",
    )
    required: bool = Field(
        False, description="Must be answered before the case goes to a specialist"
    )
    choices: list[str] = Field(default_factory=list, description="The answers a choice takes")
    help: str = Field("", max_length=300, description="A hint shown under the question")

    @model_validator(mode="after")
    def _shape(self) -> Question:
        if not QUESTION_ID.fullmatch(self.id):
            raise ValueError(f"{self.id!r}: lower-case words joined by underscores, at most 40")
        if self.type == "choice" and len(self.choices) < 2:
            raise ValueError(f"{self.id}: a choice needs at least two choices")
        if self.type != "choice" and self.choices:
            raise ValueError(f"{self.id}: only a choice question has choices")
        return self


class CheckItem(PolicyModel):
    """A step of the de-escalation checklist the agent ticks while the customer is on the line."""

    id: str = Field(description="The step's key in `checklist`", examples=["asked_outcome"])
    text: str = Field(
        min_length=1,
        max_length=200,
        examples=["Asked what they want to happen next, and repeated it back"],
    )

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not QUESTION_ID.fullmatch(v):
            raise ValueError(f"{v!r}: lower-case words joined by underscores, at most 40")
        return v


class CaptureGuide(PolicyModel):
    """What to capture for some categories (first guide whose categories match wins; an empty
    list matches any category): the questions and the de-escalation checklist."""

    categories: list[str] = Field(default_factory=list, description="Empty: any category")
    questions: list[Question] = Field(
        default_factory=list, max_length=20, description="What to ask, in order"
    )
    checklist: list[CheckItem] = Field(
        default_factory=list, max_length=10, description="The de-escalation steps on the call"
    )

    @model_validator(mode="after")
    def _distinct(self) -> CaptureGuide:
        ids = [q.id for q in self.questions] + [c.id for c in self.checklist]
        if len(set(ids)) != len(ids):
            raise ValueError("each question and checklist id once per guide")
        return self


class TextRules(PolicyModel):
    """What the reading of a customer's words at intake does (core/quality; decision 0061)."""

    angry_urgency: Urgency | None = Field(
        "high",
        description="Words that read angry raise the case's urgency to at least this (recorded "
        "on the timeline, and the agent is shown the de-escalation prompt); null: never",
    )
    min_anger: float = Field(
        0.9,
        ge=0,
        le=1,
        description="The anger score from which the words count as angry: high, because a "
        "factual complaint scores 0.5-0.8 with the offline models (decision 0061)",
    )


class SignoffLevel(PolicyModel):
    role: Literal["supervisor", "manager", "executive"]
    authority_limit: float = Field(ge=0)


class SignoffRules(PolicyModel):
    triggers_always: list[Trigger] = Field(
        default=["legal_threat"],
        description="Any proposal on these triggers needs sign-off",
    )
    vip_min_authority: float | None = Field(
        None, description="For VIP customers every proposal needs sign-off by at least this much"
    )
    levels: list[SignoffLevel] = Field(min_length=1, description="Authority ladder, lowest first")
    reminder_every_min: float = Field(60, gt=0)
    reminders_before_raise: int = Field(2, ge=0)

    @field_validator("levels")
    @classmethod
    def _ascending(cls, v: list[SignoffLevel]) -> list[SignoffLevel]:
        limits = [lvl.authority_limit for lvl in v]
        if limits != sorted(limits):
            raise ValueError("levels must be ordered by ascending authority_limit")
        return v


class ChangeRules(PolicyModel):
    """How this policy itself is changed (issue 25): who must approve a new version."""

    approvers: list[Literal["supervisor", "manager", "executive"]] = Field(
        min_length=1,
        description="Roles that must each approve a change (one decision per role)",
        examples=[["manager", "executive"]],
    )
    reminder_every_h: float = Field(
        24, gt=0, description="Approvers who have not decided are reminded this often"
    )

    @field_validator("approvers")
    @classmethod
    def _distinct(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError("each approver role once")
        return v


class Policy(PolicyModel):
    version: str = Field(examples=["2026.11-demo"])
    title: str
    currency: str = Field("GBP", pattern=r"^[A-Z]{3}$")
    signed_off_by: list[SignOff] = Field(min_length=1)
    manager_id: str = Field(description="Escalated-accounts manager (person id), accountable")
    tier1_limit: float = Field(ge=0)
    tier1_catalogue: list[ExceptionEntry]
    goodwill_budget_per_year: float | None = Field(
        None,
        ge=0,
        description="Most a customer may be granted at tier 1 over a rolling year (remedies "
        "granted on their escalations, in the policy's currency); None: no budget",
    )
    consult_window_min: float = Field(gt=0)
    helpline_calendar: str
    manager_direct_triggers: list[Trigger] = Field(
        default=["legal_threat", "social_media_threat", "regulator_threat"],
        description="Threats (legal, regulator, social media) that skip tier 1 and the help line "
        "and go straight to the escalated-accounts manager",
    )
    manager_direct_severities: list[Severity] = Field(
        default=["P1"], description="Severities that go straight to the escalated-accounts manager"
    )
    manager_first_response_min: float = Field(
        15,
        gt=0,
        description="Wall-clock minutes the escalated-accounts manager has to acknowledge a case "
        "sent straight to them (its first-response clock); then it is routed to a specialist",
    )
    avoidable_triggers: list[Trigger]
    triage: list[TriageRule] = Field(min_length=1)
    default_severity: Severity = "P3"
    default_urgency: Urgency = "normal"
    sla: list[SlaTarget] = Field(min_length=1)
    warning_fractions: list[float] = Field(default_factory=lambda: [0.5, 0.75, 0.9])
    calendars: dict[str, CalendarSpec]
    teams: list[Team] = Field(min_length=1)
    signoff: SignoffRules
    follow_up_h: list[float] = Field(default=[24.0, 168.0])
    quiet_hours_except: list[Severity] = Field(
        default=["P1"], description="Severities that may wake staff up"
    )
    customer_channels_fallback: list[Channel] = Field(
        default=["email", "sms"],
        description="Channels tried after the customer's preferred one",
    )
    message_retry_h: float = Field(
        24,
        gt=0,
        le=168,
        description="How long a message that no channel takes (relay or gateway down) is tried "
        "again, with backoff, before it is recorded as failed and raised to the manager",
    )
    templates: dict[str, str] = Field(
        description="Message per event; {placeholders} from the escalation"
    )
    callback_reminder_min: float = Field(
        15,
        gt=0,
        le=24 * 60,
        description="A promised callback's promiser is reminded this many business minutes "
        "before it (on their team's calendar; wall clock on round-the-clock severities)",
    )
    callback_grace_min: float = Field(
        10,
        ge=0,
        le=24 * 60,
        description="A callback not recorded done this many minutes after its promised time "
        "is recorded as missed (a breach of promise) and raised to the manager",
    )
    feedback_valid_h: float = Field(
        72,
        gt=0,
        le=24 * 60,
        description="How long a check-in's feedback link works; after the last check-in the "
        "case stays in follow-up this long for the answer (wall clock: the customer's time)",
    )
    feedback_reopen_at_most: int = Field(
        2,
        ge=0,
        le=5,
        description='A feedback rating at or below this reopens the case, as "still broken" '
        'does (0: only "still broken" reopens)',
    )
    root_causes: list[str] = Field(
        default=list(DEFAULT_ROOT_CAUSES),
        min_length=1,
        description="The root-cause categories a resolution records (lower-case words joined "
        "by underscores), counted in reports",
    )
    text_reading: TextRules = Field(
        default_factory=TextRules,
        description="What reading the customer's words at intake does: anger raises urgency; "
        "a threat the agent did not record is shown on the case page, never applied by itself",
    )
    capture: list[CaptureGuide] = Field(
        default_factory=list,
        description="Guided capture per category: the questions the frontline asks (required "
        "ones must be answered before a case is transferred to a specialist) and the "
        "de-escalation checklist (docs/decisions/0060)",
    )
    change: ChangeRules = Field(
        default_factory=lambda: ChangeRules(approvers=["manager", "executive"]),
        description="Who approves a change of this policy (the live version's rules apply)",
    )

    @field_validator("templates")
    @classmethod
    def _templates(cls, v: dict[str, str]) -> dict[str, str]:
        for event, template in v.items():
            problem = template_problem(event, template)
            if problem:
                raise ValueError(f"templates.{event}: {problem}")
        return v

    @field_validator("root_causes")
    @classmethod
    def _root_causes(cls, v: list[str]) -> list[str]:
        for cause in v:
            if not ROOT_CAUSE.fullmatch(cause):
                raise ValueError(f"{cause!r}: lower-case words joined by underscores, at most 64")
        if len(set(v)) != len(v):
            raise ValueError("each root cause once")
        return v

    @field_validator("warning_fractions")
    @classmethod
    def _fractions(cls, v: list[float]) -> list[float]:
        if any(not 0 < f < 1 for f in v):
            raise ValueError("warning fractions must be between 0 and 1")
        return sorted(set(v))

    @model_validator(mode="after")
    def _references(self) -> Policy:
        names = set(self.calendars) | {"24x7"}
        for t in self.teams:
            if t.calendar not in names:
                raise ValueError(f"teams.{t.name}.calendar: unknown calendar {t.calendar!r}")
        if self.helpline_calendar not in names:
            raise ValueError(f"helpline_calendar: unknown calendar {self.helpline_calendar!r}")
        for s in self.sla:
            if s.calendar and s.calendar not in names:
                raise ValueError(f"sla.{s.severity}.calendar: unknown calendar {s.calendar!r}")
        sevs = {s.severity for s in self.sla}
        missing = {"P1", "P2", "P3", "P4"} - sevs
        if missing:
            raise ValueError(f"sla: no target for {', '.join(sorted(missing))}")
        return self

    def calendar(self, name: str) -> CalendarSpec:
        if name == "24x7":
            return CalendarSpec(timezone="UTC", hours={}, always_open=True)
        return self.calendars[name]


class RouteRequest(PolicyModel):
    """Ask the routing activity for a team and a member (teams and calendars from the pinned
    policy, so a policy change never re-routes a case in flight)."""

    escalation_id: str
    category: str
    required_authority: float = 0
    exclude: list[str] = Field(default_factory=list, description="Person ids not to pick")
    teams: list[Team]
    calendars: dict[str, CalendarSpec]
    at: datetime = Field(description="Workflow time of the request (working-hours check)")


# --- pinned copies, shared ----------------------------------------------------------------------

_PINNED: OrderedDict[str, Policy] = OrderedDict()
_PINNED_MAX = 16
_PINNED_LOCK = threading.Lock()  # workflow activations run on the SDK's thread pool


def pinned(doc: Any) -> Policy:
    """The `Policy` of a case's pinned policy copy (its workflow input), one per distinct copy
    and process: every case this worker holds under the same copy reads the same object.

    A worker keeps hundreds of cases in its sticky cache, nearly all under the one or two policy
    copies in force; parsed per case, each would hold its own models (bench/README.md, "Figures
    behind design choices"). The copy is read-only: no workflow code changes its policy (the
    suite checks it after every test). The last few distinct copies are kept, in an OrderedDict
    rather than functools.lru_cache so that the check can read them. The gain is memory only."""
    key = json.dumps(doc, sort_keys=True, separators=(",", ":"), default=str)
    with _PINNED_LOCK:
        policy = _PINNED.get(key)
        if policy is not None:
            _PINNED.move_to_end(key)
            return policy
    policy = Policy.model_validate(doc)
    with _PINNED_LOCK:
        _PINNED[key] = policy
        while len(_PINNED) > _PINNED_MAX:
            _PINNED.popitem(last=False)
    return policy
