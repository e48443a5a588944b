"""Promises with their own deadlines: callbacks promised to the customer (issue 22).

Each open promise has a watcher (a background task with durable timers, summaries for the
Temporal UI): a reminder before it, on the promiser's business hours, then a breach when the
promised time (and the policy's grace) passes with nothing recorded done. A watcher stops when
the promise is kept or the case ends or hands over to a new run, which resumes it from the state
(`resume`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from workflows import opening, timers
    from workflows.business_hours import business_before, is_open
    from workflows.escalation import guards
    from workflows.inputs import CallbackDone, CallbackPromise
    from workflows.messages import PeopleQuery
    from workflows.models import Actor, Callback
    from workflows.policy import CalendarSpec

if TYPE_CHECKING:
    from workflows.escalation.workflow import EscalationWorkflow

CALLBACKS_AHEAD = timedelta(days=30)  # a callback further out is a plan, not a promise


def calendar_of(wf: EscalationWorkflow, actor: Actor) -> CalendarSpec:
    """The promiser's business hours: their team's, else the frontline office's (the help
    line's); round the clock on severities that may wake people up."""
    p = wf.policy
    if opening.round_the_clock(p, wf.s):
        return p.calendar("24x7")
    team = next((t for t in p.teams if t.name == actor.team), None)
    return p.calendar(team.calendar if team else p.helpline_calendar)


def _when(at: datetime) -> str:
    return at.isoformat(timespec="minutes")


# --- callbacks ------------------------------------------------------------------------------------


def check_promise(wf: EscalationWorkflow, u: CallbackPromise) -> None:
    """The validator's own rules: a specialist promises only on their own case; the time is in
    the future, within 30 days and within the promiser's hours."""
    s = wf.s
    if u.actor.role == "specialist" and s.assignee not in (None, u.actor.id):
        raise guards.forbidden(f"only the case's owner, {s.assignee_name}, may promise this")
    now = workflow.now()
    if u.at.tzinfo is None:
        raise guards.invalid("at: give a time zone (e.g. 2026-12-07T10:30:00Z)")
    if not now < u.at <= now + CALLBACKS_AHEAD:
        raise guards.invalid("at: a callback time in the next 30 days")
    if not is_open(calendar_of(wf, u.actor), u.at):
        raise guards.invalid("at: outside your business hours; promise a time you are working")


def check_done(wf: EscalationWorkflow, u: CallbackDone) -> None:
    cb = next((c for c in wf.s.callbacks if c.number == u.number), None)
    if cb is None:
        raise guards.invalid(f"number: no callback {u.number} on this case")
    if cb.done_at is not None:
        raise guards.conflict(f"callback {u.number} was already recorded done")


def promise(wf: EscalationWorkflow, u: CallbackPromise) -> None:
    s = wf.s
    lead = wf.policy.callback_reminder_min * 60
    cb = Callback(
        number=len(s.callbacks) + 1,
        at=u.at,
        note=u.note,
        promised_by=u.actor.name,
        promised_by_id=u.actor.id,
        promised_by_role=u.actor.role,
        remind_at=max(workflow.now(), business_before(calendar_of(wf, u.actor), u.at, lead)),
    )
    s.callbacks.append(cb)
    wf.record(u.actor, "callback_promised", f"callback {cb.number} at {_when(cb.at)}. {u.note}")
    wf.mark_visibility()
    wf.spawn(watch(wf, cb))


def done(wf: EscalationWorkflow, u: CallbackDone) -> None:
    cb = next(c for c in wf.s.callbacks if c.number == u.number)
    cb.done_at, cb.done_by = workflow.now(), u.actor.name
    late = " (late: recorded missed)" if cb.missed else ""
    wf.record(u.actor, "callback_done", f"callback {cb.number}{late}. {u.note}".strip())
    wf.mark_visibility()


async def watch(wf: EscalationWorkflow, cb: Callback) -> None:
    def kept() -> bool:
        return cb.done_at is not None

    who = f"{cb.promised_by}, callback {cb.number}"
    if not cb.reminded:
        if not await _until(wf, cb.remind_at, f"callback reminder ({who})", kept):
            return
        cb.reminded = True
        wf.record_process("callback_reminder", f"callback {cb.number} at {_when(cb.at)}")
        await _tell_promiser(wf, cb, "callback_reminder", note=cb.note)
    deadline = cb.at + timedelta(minutes=wf.policy.callback_grace_min)
    if not await _until(wf, deadline, f"callback due {_when(cb.at)} ({who})", kept):
        return
    cb.missed = True
    wf.record_process(
        "callback_missed",
        f"breach of promise: callback {cb.number} at {_when(cb.at)} by {cb.promised_by} "
        "not recorded done",
    )
    wf.mark_visibility()
    ctx = dict(number=str(cb.number), callback_at=_when(cb.at), promised_by=cb.promised_by)
    wf.notify.manager("callback_missed", **ctx)
    await _tell_promiser(wf, cb, "callback_missed", **ctx)


async def _until(
    wf: EscalationWorkflow, at: datetime, summary: str, stop: Callable[[], bool]
) -> bool:
    """Wait for `at` (a durable timer): True when it came, False when `stop` came true first or
    the run ends (the case is over, or a new run takes the watch over)."""

    def over() -> bool:
        return stop() or wf.finished or wf.handing_over

    timeout = (at - workflow.now()).total_seconds()
    if timeout > 0:
        await timers.wait(over, timeout, summary)
    return not over()


async def _tell_promiser(wf: EscalationWorkflow, cb: Callback, event: str, **extra: str) -> None:
    found = await wf.people.find(PeopleQuery(roles=[cb.promised_by_role]))  # type: ignore[list-item]
    person = next((p for p in found if p.id == cb.promised_by_id), None)
    if person is not None:
        ctx: dict[str, Any] = {"number": str(cb.number), "callback_at": _when(cb.at)} | extra
        wf.notify.staff(person, event, **ctx)


def resume(wf: EscalationWorkflow) -> None:
    """A new run (continue-as-new) watches the promises still open."""
    for cb in wf.s.callbacks:
        if cb.done_at is None and not cb.missed:
            wf.spawn(watch(wf, cb))
