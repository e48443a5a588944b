"""The SLA watcher: one durable timer for the next warning or breach of any clock.

A clock change (pause, resume, re-target, stop) bumps `rev` and wakes the watcher, which keeps
its timer when the next event is still the same one. Timers are armed once the case has settled:
a timer starts when the workflow task that asks for it completes, and `workflow.now()` counts
that task's local activities (knowledge-base search, routing), so one armed earlier would fire
late by their time.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from workflows import clocks as clk
    from workflows import opening, rules, timers
    from workflows.escalation import actions

if TYPE_CHECKING:
    from workflows.escalation.workflow import EscalationWorkflow


class SlaWatcher:
    def __init__(self, wf: EscalationWorkflow) -> None:
        self.wf = wf
        self.rev = 0  # bumped on every clock change

    def changed(self) -> None:
        """A clock changed: wake the watcher; the promise follows the resolution clock."""
        self.rev += 1
        self.wf.s.promise_at = opening.promise_at(self.wf.s)

    def next_event(self) -> clk.ClockEvent | None:
        wf = self.wf
        events = [
            e
            for c in wf.s.clocks
            if (e := clk.next_event(c, wf.policy.calendar(c.calendar), wf.policy.warning_fractions))
        ]
        return min(events, key=lambda e: e.at) if events else None

    async def run(self) -> None:
        wf = self.wf
        timer: timers.Timer | None = None
        timer_for: clk.ClockEvent | None = None
        while not wf.finished:
            if not wf.settled:
                await workflow.wait_condition(lambda: wf.settled or wf.finished)
                continue
            event = self.next_event()
            if event != timer_for:
                if timer is not None:
                    timer.cancel()
                timer, timer_for = None, event
                if event is not None:
                    delay = (event.at - workflow.now()).total_seconds()
                    if delay <= 0:
                        timer_for = None
                        await self._fire_together(event)
                        continue
                    timer = timers.Timer(
                        delay,
                        f"SLA {event.clock} {event.kind}"
                        + (f" {event.fraction:.0%}" if event.kind == "warning" else ""),
                    )
            rev = self.rev
            await workflow.wait_condition(
                lambda: self.rev != rev or wf.finished or (timer is not None and timer.done())
            )
            if timer is not None and timer.done() and not wf.finished:
                fired, timer, timer_for = timer_for, None, None
                assert fired is not None
                await self._fire_together(fired)
        if timer is not None:
            timer.cancel()

    async def _fire_together(self, event: clk.ClockEvent) -> None:
        """Fire a warning or breach. When the case rests (the main loop waits), what the firing
        sends (the manager's message, the next authority level's, the search attributes) is held
        until all of it is queued, then goes out in one dispatch and one upsert."""
        wf = self.wf
        if not wf.settled:
            self._fire(event)
            return
        epoch = wf.epoch
        wf.settled = False
        wf.collecting = []
        try:
            self._fire(event)
            started = wf.collecting
        finally:
            wf.collecting = None
        # the lookups find people (local activities), then queue their messages
        await asyncio.gather(*started, return_exceptions=True)
        if wf.epoch == epoch and not wf.settled:  # no transition meanwhile: still resting
            wf.settle()

    def _fire(self, event: clk.ClockEvent) -> None:
        wf = self.wf
        s = wf.s
        c = opening.clock(s, event.clock)
        now = workflow.now()
        due = c.due_at.isoformat(timespec="minutes") if c.due_at else ""
        if event.kind == "warning":
            c.warned_fractions.append(event.fraction)
            c.warned_at = now
            wf.record_process("sla_warning", f"{c.name} {event.fraction:.0%} used")
            ctx = dict(clock=c.name, fraction=f"{event.fraction:.0%}", due_at=due)
            if s.assignee:
                wf.notify.assignee("sla_warning", **ctx)
            else:
                wf.notify.manager("sla_warning", **ctx)
        else:
            c.breached, c.breached_at = True, now
            s.authority_level += 1
            wf.record_process(
                "sla_breached", f"{c.name} was due {c.due_at.isoformat() if c.due_at else '?'}"
            )
            wf.notify.manager("sla_breached", clock=c.name, due_at=due)
            if s.pending_approval is not None:
                actions.raise_approval(wf, f"{c.name} SLA breached")
            else:
                # The level told is the one the next proposal goes to (actions.propose); the
                # code before told the level below it.
                told = s.authority_level
                if not workflow.patched("breach-tells-the-level-it-raises-to"):
                    told -= 1
                lvl = rules.level(wf.policy, told)
                wf.record_process(
                    "authority_raised",
                    f"{c.name} SLA breached: sign-off now at the {lvl.role} level at least",
                )
                wf.spawn(
                    wf.notify.role(lvl.role, "authority_raised", reason=f"{c.name} SLA breached"),
                    lookup=True,
                )
        self.changed()
        wf.mark_visibility()
