"""Reading the customer's words at intake (cases opened under opening rules 2 and later).

The summary and details the frontline captured are read by the text analysis, in an activity
(`read_text`, core/quality): anger, threat language, the language, a suggested trigger and
category. What it does is the policy's (`text_reading`): words that read angry raise the case's
urgency; a threat the agent did not record is shown on the case page and the timeline, never
applied by itself (decision 0061). The case never waits for it: the reading runs beside the
stages, and a worker without the analysis leaves the case as it was opened.
"""

from __future__ import annotations

from collections.abc import Callable

from temporalio import workflow
from temporalio.exceptions import FailureError

with workflow.unsafe.imports_passed_through():
    from workflows.escalation import calls
    from workflows.messages import TextToRead
    from workflows.models import EscalationState, TextReading
    from workflows.policy import Policy
    from workflows.stages import FINAL_STAGES

READING_RULES = 2  # the opening rules from which a case's words are read
TEXT_CHARS = 20_000
URGENCY_RANK = {"low": 0, "normal": 1, "high": 2, "immediate": 3}
THREAT_TRIGGER = {
    "legal": "legal_threat",
    "regulator": "regulator_threat",
    "social_media": "social_media_threat",
}
DONE = ("text_read", "text_not_read")


def wanted(s: EscalationState) -> bool:
    """A new case whose words have not been read yet (in this run or an earlier one)."""
    return (
        s.opening_rules >= READING_RULES
        and s.reading is None
        and s.stage not in FINAL_STAGES
        and not any(e.action in DONE for e in s.timeline)
    )


def text_of(s: EscalationState) -> str:
    return f"{s.request.summary}\n{s.request.details}"[:TEXT_CHARS]


async def read_intake(
    s: EscalationState,
    p: Policy,
    record: Callable[[str, str], None],
    changed: Callable[[], None],
) -> None:
    try:
        reading = await calls.read_text(TextToRead(escalation_id=s.id, text=text_of(s)))
    except FailureError as e:
        workflow.logger.warning("text analysis unavailable: %s", e)
        record("text_not_read", "the text analysis was unavailable; nothing was changed")
        return
    if apply(s, p, reading, record):
        changed()


def apply(
    s: EscalationState, p: Policy, reading: TextReading, record: Callable[[str, str], None]
) -> bool:
    """Keep the reading and act on it as the policy says; True when the urgency rose. Angry
    means angry by the policy's measure (`min_anger`), so the case page's prompt and the urgency
    agree."""
    angry = reading.angry and reading.anger_score >= p.text_reading.min_anger
    s.reading = reading = reading.model_copy(update={"angry": angry})
    said = [f"{'angry' if reading.angry else reading.sentiment} ({reading.anger_score:.2f})"]
    if reading.language:
        said.append(f"language {reading.language}")
    if reading.trigger and reading.trigger != s.request.trigger:
        said.append(f"suggests trigger {reading.trigger} (agent: {s.request.trigger})")
    if reading.category and reading.category != s.request.category.lower():
        said.append(f"suggests category {reading.category} (agent: {s.request.category})")
    record("text_read", "; ".join(said))
    unrecorded = [k for k in reading.threats if THREAT_TRIGGER.get(k) != s.request.trigger]
    if unrecorded:
        quotes = "; ".join(f'"{q}"' for q in reading.evidence) or "no quote"
        record(
            "threat_noticed",
            f"the words read like a {' and '.join(k.replace('_', ' ') for k in unrecorded)} "
            f"threat ({quotes}); the agent recorded {s.request.trigger}: shown, not applied",
        )
    target = p.text_reading.angry_urgency
    if not angry or target is None or s.stage in FINAL_STAGES:
        return False
    if URGENCY_RANK.get(s.urgency or "normal", 1) >= URGENCY_RANK[target]:
        return False
    before, s.urgency = s.urgency, target
    record(
        "urgency_raised",
        f"the customer's words read angry ({reading.anger_score:.2f}): urgency {before} to "
        f"{target}",
    )
    return True
