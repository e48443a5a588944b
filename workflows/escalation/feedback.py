"""The customer's answers to check-ins (their feedback link, core/feedback.py): each check-in
carries a link naming it; an answer is recorded once per check-in, and a low rating or "still
broken" on the current resolution reopens the case as customer-contact "still broken" does."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from workflows.escalation import actions, guards
    from workflows.inputs import FeedbackAnswer
    from workflows.messages import FeedbackLink
    from workflows.models import CustomerFeedback, EscalationState
    from workflows.policy import Policy
    from workflows.stages import Stage

if TYPE_CHECKING:
    from workflows.escalation.workflow import EscalationWorkflow

FEEDBACK_KEPT = 20  # answers kept on the case (two check-ins per resolution in the demo)


def key(s: EscalationState, check_in: int) -> str:
    """A check-in's key: the resolution it follows (reopen count) and its number."""
    return f"{s.reopen_count}.{check_in}"


def link(wf: EscalationWorkflow) -> FeedbackLink | None:
    """The link of the check-in just sent (None when the pinned policy's message has none)."""
    s, p = wf.s, wf.policy
    if not offers_link(p) or s.resolved_at is None:
        return None
    # from the check-in's due time, as the wait after the last one (opening.feedback_window)
    due_h = p.follow_up_h[s.check_ins_done - 1]
    k = key(s, s.check_ins_done)
    s.links_sent = [*s.links_sent, k][-FEEDBACK_KEPT:]  # only these are answered (issue 31)
    return FeedbackLink(
        key=k,
        expires_at=s.resolved_at + timedelta(hours=due_h + p.feedback_valid_h),
    )


def offers_link(p: Policy) -> bool:
    """The pinned policy's check-in message has a place for the link."""
    return "{feedback_link}" in p.templates.get("check_in", "")


def answered(s: EscalationState, k: str) -> bool:
    return any(f.key == k for f in s.feedback)


def sent(s: EscalationState, p: Policy, k: str) -> bool:
    """Whether this case sent the check-in `k` with a link. A check-in of the current resolution
    counts from `check_ins_done` too (cases whose links were sent before `links_sent` was kept)."""
    if k in s.links_sent:
        return True
    resolution, _, number = k.partition(".")
    return (
        offers_link(p)
        and resolution == str(s.reopen_count)
        and number.isdigit()
        and 1 <= int(number) <= s.check_ins_done
    )


def check(s: EscalationState, p: Policy, u: FeedbackAnswer) -> None:
    """The validator's own rules: only a check-in this case sent (403, a forged or stray link),
    one answer per check-in (409 for a reused link)."""
    if not sent(s, p, u.key):
        raise guards.forbidden(
            "this link answers a check-in that was not sent for this case; use the link in "
            "the check-in message you received"
        )
    if answered(s, u.key):
        raise guards.conflict("this check-in was already answered; thank you")


def record(wf: EscalationWorkflow, u: FeedbackAnswer) -> None:
    s, p = wf.s, wf.policy
    s.feedback.append(
        CustomerFeedback(
            key=u.key,
            score=u.score,
            comment=u.comment,
            still_broken=u.still_broken,
            at=workflow.now(),
        )
    )
    del s.feedback[:-FEEDBACK_KEPT]
    detail = f"{u.score}/5 on check-in {u.key}" + (" (still broken)" if u.still_broken else "")
    wf.record(u.actor, "feedback_received", detail + (f": {u.comment}" if u.comment else ""))
    low = u.still_broken or u.score <= p.feedback_reopen_at_most
    current = u.key.split(".")[0] == str(s.reopen_count)  # not a link of an earlier resolution
    if low and current and s.stage in (Stage.RESOLVED, Stage.FOLLOW_UP):
        why = "still broken" if u.still_broken else f"rated {u.score}/5"
        actions.reopen(wf, u.actor, f"customer feedback: {why}")
