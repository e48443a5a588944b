"""Guided capture on a running case, and the customer's own request for escalation.

The answers the policy asks for (workflows/capture.py) may come after the opening: a system that
opened the case did not know the questions, or the case moved to a policy version that asks
more. Until the required ones are in, the case is not transferred to a specialist (stage_work
holds it; decision 0060). These functions own that slice of the state and are given it, never
the workflow.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from workflows import capture, opening
from workflows.inputs import AnswerQuestions, EscalationAsk
from workflows.models import Actor, EscalationState
from workflows.policy import Policy

# A customer's second "I want this escalated" within this long is answered "already asked": the
# manager has the first (the status page also slows a flood of posts).
ASK_AGAIN_AFTER = timedelta(hours=1)


def answers_refusal(s: EscalationState, p: Policy, u: AnswerQuestions) -> str | None:
    """Why these answers are refused (None: they may be recorded)."""
    if not any(v.strip() for v in u.answers.values()) and not u.checklist:
        return "nothing to record: give at least one answer or checklist step"
    fields = capture.problems(p, s.request.category, u.answers, u.checklist, require=False)
    return "; ".join(f"{k}: {v}" for k, v in fields.items()) or None


def record_answers(s: EscalationState, p: Policy, u: AnswerQuestions, now: datetime) -> None:
    """The answers join the request's (a later answer to a question replaces the earlier), so
    the handover and the case page show them with those captured at the opening."""
    given = {k: v.strip() for k, v in u.answers.items() if v.strip()}
    s.request.answers.update(given)
    s.request.checklist += [c for c in u.checklist if c not in s.request.checklist]
    texts = {q.id: q.text for q in capture.guide(p, s.request.category).questions}
    detail = "; ".join(f"{texts.get(k, k)} {v}" for k, v in given.items())
    if u.checklist:
        detail += ("; " if detail else "") + f"checklist: {', '.join(u.checklist)}"
    opening.record(s, u.actor, "answers_added", detail, now)


def missing_texts(s: EscalationState, p: Policy) -> list[str]:
    texts = {q.id: q.text for q in capture.guide(p, s.request.category).questions}
    return [texts[k] for k in capture.missing_for(p, s.request)]


def ask_refusal(s: EscalationState, now: datetime) -> str | None:
    at = s.escalation_asked_at
    if at is not None and now - at < ASK_AGAIN_AFTER:
        return (
            f"escalation was already asked for at {at:%H:%M} UTC; the escalations manager has "
            "the request"
        )
    return None


def record_ask(
    s: EscalationState,
    u: EscalationAsk,
    now: datetime,
    tell_manager: Callable[[str], None],
) -> None:
    """Recorded on the timeline and sent to the escalated-accounts manager with its reason: they
    decide what it changes (a case with the help line may go to a specialist at once, one with
    a specialist may need another)."""
    s.escalation_asked_at = now
    s.escalation_asks += 1
    opening.record(s, u.actor, "escalation_asked", u.reason, now)
    tell_manager(u.reason)


def opener_to_tell(s: EscalationState) -> Actor | None:
    """Whom to tell that answers are missing: the person who opened the case (None: a system
    opened it; the manager is told instead)."""
    return None if s.opened_by.role == "system" else s.opened_by
