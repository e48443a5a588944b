"""Guided capture: what the policy asks the frontline to capture for a category, and whether a
case has it. Pure functions of the policy and the request, used by the API (422 on a bad or
missing answer), the console's intake form, and the workflow (a case without the required
answers is not transferred to a specialist: docs/decisions/0060-guided-capture.md)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date

from workflows.models import EscalationRequest
from workflows.policy import CaptureGuide, Policy, Question

NUMBER = re.compile(r"-?\d{1,12}(\.\d{1,6})?")
MONEY = re.compile(r"\d{1,12}(\.\d{1,2})?")
NO_GUIDE = CaptureGuide()


def guide(policy: Policy, category: str) -> CaptureGuide:
    """The first guide whose categories hold this one (an empty list: any category)."""
    wanted = category.strip().lower()
    for g in policy.capture:
        if not g.categories or wanted in {c.lower() for c in g.categories}:
            return g
    return NO_GUIDE


def answer_problem(q: Question, answer: str) -> str | None:
    """What is wrong with an answer to this question (None: nothing). Blank is no answer."""
    text = answer.strip()
    if not text:
        return None
    if q.type == "number" and not NUMBER.fullmatch(text):
        return "a number, e.g. 3 or 2.5"
    if q.type == "money" and not MONEY.fullmatch(text):
        return "an amount in digits, e.g. 40 or 40.00"
    if q.type == "date":
        try:
            date.fromisoformat(text)
        except ValueError:
            return "a date as YYYY-MM-DD"
    if q.type == "choice" and text not in q.choices:
        return f"one of: {', '.join(q.choices)}"
    return None


def problems(
    policy: Policy,
    category: str,
    answers: dict[str, str],
    checklist: Sequence[str] = (),
    *,
    require: bool,
) -> dict[str, str]:
    """Field (`answers.<id>`, `checklist`) -> what is wrong: unknown ids, answers of the wrong
    type and, when `require`, required questions left blank."""
    g = guide(policy, category)
    questions = {q.id: q for q in g.questions}
    out: dict[str, str] = {}
    for key, answer in answers.items():
        q = questions.get(key)
        if q is None:
            known = ", ".join(questions) or "none for this category"
            out[f"answers.{key}"] = f"not a question of this category (its questions: {known})"
        elif problem := answer_problem(q, answer):
            out[f"answers.{key}"] = f"{q.text}: {problem}"
    if require:
        for key in missing(g, answers):
            out[f"answers.{key}"] = f"{questions[key].text}: required"
    steps = {c.id for c in g.checklist}
    unknown = [c for c in checklist if c not in steps]
    if unknown:
        out["checklist"] = f"not a step of this category's checklist: {', '.join(unknown)}"
    return out


def missing(g: CaptureGuide, answers: dict[str, str]) -> list[str]:
    """The required questions without an answer, in the policy's order."""
    return [q.id for q in g.questions if q.required and not answers.get(q.id, "").strip()]


def missing_for(policy: Policy, req: EscalationRequest) -> list[str]:
    return missing(guide(policy, req.category), req.answers)


def answered(policy: Policy, req: EscalationRequest) -> list[tuple[str, str]]:
    """(question, answer) for what was captured, in the policy's order; answers to questions
    the policy no longer asks (a case migrated to another version) come last by their id."""
    g = guide(policy, req.category)
    out = [(q.text, req.answers[q.id]) for q in g.questions if req.answers.get(q.id, "").strip()]
    asked = {q.id for q in g.questions}
    out += [(k, v) for k, v in req.answers.items() if k not in asked and v.strip()]
    return out


def ticked(policy: Policy, req: EscalationRequest) -> list[tuple[str, bool]]:
    """The checklist's steps and whether the agent ticked each."""
    g = guide(policy, req.category)
    return [(c.text, c.id in req.checklist) for c in g.checklist]
