"""Messages to the customer and to staff, with channel fallback.

A message goes to the recipient's channels in order of preference (the customer's preferred
channel then the policy's fallbacks; a person's own list). It joins the workflow task's dispatch
(outbox.py) unless the recipient is off duty: staff messages wait for their working hours, except
on urgent cases. What the dispatch could not send is sent alone with retries, channel by channel;
what no channel takes is recorded and raised to the escalated-accounts manager.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from workflows import opening, timers
    from workflows.business_hours import is_open, next_open
    from workflows.escalation import calls
    from workflows.messages import Delivery, FeedbackLink, OutboxItem, OutboxResult, PeopleQuery
    from workflows.models import Channel, Person, Role

if TYPE_CHECKING:
    from workflows.escalation.workflow import EscalationWorkflow


class _SafeDict(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def render(template: str, context: dict[str, Any]) -> str:
    return template.format_map(_SafeDict({k: "" if v is None else v for k, v in context.items()}))


Channels = list[tuple[Channel, str]]


class Notifier:
    def __init__(self, wf: EscalationWorkflow) -> None:
        self.wf = wf

    # --- whom ---------------------------------------------------------------------------------

    def customer(self, event: str, feedback: FeedbackLink | None = None, **extra: Any) -> None:
        c = self.wf.s.request.customer
        ctx = self._context(**extra)
        self._message(event, c.name, self._customer_channels(), ctx, None, feedback=feedback)

    def staff(
        self, person: Person, event: str, *, stale: Callable[[], bool] | None = None, **extra: Any
    ) -> None:
        """`stale`: the message no longer applies (a consult that timed out): held for working
        hours, it is dropped instead of sent."""
        self._message(
            event, person.name, staff_channels(person), self._context(**extra), person, stale
        )

    def assignee(self, event: str, **extra: Any) -> None:
        person = self.wf.people.known.get(self.wf.s.assignee or "")
        if person:
            self.staff(person, event, **extra)

    def manager(self, event: str, **extra: Any) -> None:
        async def go() -> None:
            self.staff(await self.wf.people.manager(self.wf.policy.manager_id), event, **extra)

        self.wf.spawn(go(), lookup=True)

    async def role(self, role: Role, event: str, min_authority: float = 0, **extra: Any) -> None:
        for person in await self.wf.people.find(
            PeopleQuery(roles=[role], min_authority=min_authority)
        ):
            self.staff(person, event, **extra)

    async def approvers(self, event: str, **extra: Any) -> None:
        pending = self.wf.s.pending_approval
        if pending is not None:
            await self.role(pending.level, event, pending.required_authority, **extra)

    # --- what ---------------------------------------------------------------------------------

    def _context(self, **extra: Any) -> dict[str, Any]:
        s = self.wf.s
        pending = s.pending_approval
        return (
            dict(
                id=s.id,
                summary=s.request.summary,
                category=s.request.category,
                customer=s.request.customer.name,
                severity=s.severity,
                promise_at=s.promise_at.isoformat(timespec="minutes")
                if s.promise_at
                else "as soon as we can",
                assignee=s.assignee_name,
                outcome=s.outcome,
                remedy=opening.money(
                    pending.remedy if pending else (s.granted_remedy or s.proposal)
                ),
                required_authority=f"{pending.required_authority:g}" if pending else "",
                proposed_by=pending.proposed_by if pending else "",
                customer_tier=s.request.customer.tier,
                customer_history=opening.customer_summary(s, self.wf.policy),
                kb_matches="; ".join(f"{m.title} ({m.slug})" for m in s.kb_matches) or "no match",
            )
            | extra
        )

    def _customer_channels(self) -> Channels:
        c = self.wf.s.request.customer
        order = [c.contact.preferred_channel, *self.wf.policy.customer_channels_fallback]
        address = {
            "email": c.contact.email,
            "sms": c.contact.phone,
            "phone": c.contact.phone,
            "chat": c.id,
            "social": c.id,
        }
        seen: Channels = []
        for ch in order:
            if address.get(ch) and ch not in [x for x, _ in seen]:
                seen.append((ch, address[ch]))  # type: ignore[arg-type]
        return seen

    def _deliveries(
        self,
        event: str,
        name: str,
        channels: Channels,
        ctx: dict[str, Any],
        staff: Person | None,
        feedback: FeedbackLink | None = None,
    ) -> list[Delivery]:
        """The message on each of the recipient's channels, in order of preference, addressed
        to the customer's or the staff's gateways (`staff` None: the customer)."""
        s, p = self.wf.s, self.wf.policy
        body = render(p.templates[event], ctx)
        key = self.wf.outbox.key()
        return [
            Delivery(
                escalation_id=s.id,
                event=event,
                channel=channel,
                address=address,
                recipient_name=name,
                subject=f"[{s.id}] {event.replace('_', ' ')}",
                body=body,
                urgent=opening.round_the_clock(p, s),
                idempotency_key=f"{key}:{channel}",
                audience="customer" if staff is None else "staff",
                feedback=feedback,
            )
            for channel, address in channels
        ]

    # --- how ----------------------------------------------------------------------------------

    def _message(
        self,
        event: str,
        name: str,
        channels: Channels,
        ctx: dict[str, Any],
        staff: Person | None,
        stale: Callable[[], bool] | None = None,
        feedback: FeedbackLink | None = None,
    ) -> None:
        """Queued at once (it joins this workflow task's dispatch) unless the recipient is off
        duty; the outcome is handled in the background."""
        if self.wf.policy.templates.get(event) is None:
            return
        if self._quiet_hours_until(staff) is not None:
            self.wf.spawn(self._after_quiet_hours(event, name, channels, ctx, staff, stale))
            return
        deliveries = self._deliveries(event, name, channels, ctx, staff, feedback)
        queued = (
            self.wf.outbox.send(OutboxItem(deliveries=deliveries), f"{event} to {name}")
            if deliveries
            else None
        )
        self.wf.spawn(self._delivered(event, name, deliveries, staff, queued))

    def _quiet_hours_until(self, staff: Person | None) -> datetime | None:
        """When an off-duty staff member's working hours start (None: on duty, or the case is
        urgent, or a customer)."""
        s, p = self.wf.s, self.wf.policy
        if staff is not None and staff.calendar and not opening.round_the_clock(p, s):
            spec = p.calendars.get(staff.calendar)
            if spec is not None and not is_open(spec, workflow.now()):
                return next_open(spec, workflow.now())
        return None

    async def _after_quiet_hours(
        self,
        event: str,
        name: str,
        channels: Channels,
        ctx: dict[str, Any],
        staff: Person | None,
        stale: Callable[[], bool] | None = None,
    ) -> None:
        wake = self._quiet_hours_until(staff)
        if wake is not None and staff is not None:
            # wakes early when the case ends (the message is stale: dropped) or is about to
            # continue as new (sent now rather than held across runs)
            woke = await timers.wait(
                lambda: self.wf.closed or self.wf.handing_over,
                (wake - workflow.now()).total_seconds(),
                f"quiet hours of {staff.name}",
            )
            if woke and self.wf.closed:
                self.wf.record_process(
                    "notification_dropped",
                    f"{event} to {staff.name}: the case ended during their quiet hours",
                )
                return
            if (
                stale is not None
                and stale()
                and workflow.patched("p22a-stale-staff-message-dropped")
            ):
                self.wf.record_process(
                    "notification_dropped", f"{event} to {staff.name}: no longer needed"
                )
                return
        deliveries = self._deliveries(event, name, channels, ctx, staff)
        queued = (
            self.wf.outbox.send(OutboxItem(deliveries=deliveries), f"{event} to {name}")
            if deliveries
            else None
        )
        await self._delivered(event, name, deliveries, staff, queued)

    async def _delivered(
        self,
        event: str,
        name: str,
        deliveries: list[Delivery],
        staff: Person | None,
        queued: asyncio.Future[OutboxResult] | None,
    ) -> None:
        """Wait for a queued message's outcome; send alone (with retries, channel by channel)
        what the dispatch could not; record and escalate what nothing delivered."""
        failed: list[str] = []
        if queued is not None:
            sent = await queued
            failed = list(sent.failed_channels)
            if sent.status == "done":
                if failed:
                    self.wf.record_process(
                        "notification_fallback",
                        f"{event} to {name}: {', '.join(failed)} failed, sent by {sent.channel}",
                    )
                return
            # failed: every channel refused for good; retry: on our own from the channel that
            # failed transiently, with the delivery retry policy
            deliveries = [] if sent.status == "failed" else deliveries[sent.retry_from :]
        down: list[Delivery] = []  # channels that failed for now, not for good
        for d in deliveries:
            try:
                await calls.deliver(d, f"{event} to {name} by {d.channel}")
                if failed:
                    self.wf.record_process(
                        "notification_fallback",
                        f"{event} to {name}: {', '.join(failed)} failed, sent by {d.channel}",
                    )
                return
            except ActivityError as e:
                failed.append(d.channel)
                if _for_now(e):
                    down.append(d)
        outlasted = down and workflow.patched("messages-outlast-outages")
        if outlasted and await self._outlast(event, name, down):
            return
        self.wf.record_process(
            "notification_failed",
            f"{event} to {name}: no channel delivered ({', '.join(failed) or 'no address'})",
        )
        if workflow.patched("console2-attention-attribute"):  # the manager's board lists it
            self.wf.mark_visibility()
        if event != "notification_failed" and (
            staff is None or staff.id != self.wf.policy.manager_id
        ):
            self.manager("notification_failed", failed_event=event, recipient=name)

    async def _outlast(self, event: str, name: str, down: list[Delivery]) -> bool:
        """A relay or gateway is down: try its channels again, with backoff on durable timers,
        for the policy's `message_retry_h`. True once one of them took the message."""
        until = workflow.now() + timedelta(hours=self.wf.policy.message_retry_h)
        channels = ", ".join(d.channel for d in down)
        self.wf.record_process(
            "notification_retrying",
            f"{event} to {name}: {channels} unreachable; trying again until "
            f"{until.isoformat(timespec='minutes')}",
        )
        wait = RETRY_FIRST_S
        # the activity waits for the relay itself and sends as soon as it answers, instead of
        # the next backoff step (docs/decisions/0037); a timer only covers what it did not wait
        inside = workflow.patched("retry-waits-for-the-relay")
        async with self.wf.outbox.retry(OutboxItem(deliveries=down)):
            while (left := (until - workflow.now()).total_seconds()) > 0:
                window = min(wait, left)
                if not inside:
                    await workflow.sleep(window, summary=f"{event} to {name}: retry")
                wait = min(wait * 2, RETRY_MAX_S)
                began = workflow.now()
                for d in down:
                    summary = f"{event} to {name} by {d.channel} (retry)"
                    try:
                        if inside:
                            share = {"wait_for_relay_s": window / len(down)}
                            await calls.deliver_when_up(d.model_copy(update=share), summary)
                        else:
                            await calls.deliver_once(d, summary)
                    except ActivityError:
                        continue
                    self.wf.record_process(
                        "notification_delivered", f"{event} to {name} by {d.channel}, late"
                    )
                    return True
                rest = window - (workflow.now() - began).total_seconds()
                if inside and rest >= 1:  # a try that could not wait (no probe for it)
                    await workflow.sleep(rest, summary=f"{event} to {name}: retry")
        return False

    def resume(self, carried: OutboxItem) -> None:
        """A message the previous run was still trying to send."""
        first = carried.deliveries[0]
        queued = self.wf.outbox.send(carried, f"{first.event} to {first.recipient_name}")
        self.wf.spawn(
            self._delivered(first.event, first.recipient_name, carried.deliveries, None, queued)
        )


RETRY_FIRST_S = 60.0
RETRY_MAX_S = 1800.0


def _for_now(e: ActivityError) -> bool:
    """A delivery that failed for now (relay down, timeout), not for good (bad address)."""
    cause = e.cause
    if isinstance(cause, ApplicationError):
        return not cause.non_retryable and cause.type not in ("ChannelUnavailable", "Rejected")
    return True


def staff_channels(person: Person) -> Channels:
    address = {
        "email": person.email,
        "chat": person.chat,
        "sms": person.phone,
        "phone": person.phone,
    }
    return [(ch, address[ch]) for ch in person.channels if address.get(ch)]  # type: ignore[misc]
