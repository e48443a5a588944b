"""Nothing accepted is lost on an outage of a relay or a gateway, and no integration holds up a
deadline: on the time-skipping server, hours pass in moments."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from tests.workflows.fakes import World
from tests.workflows.helpers import HELPLINE, actions, request, start, wait_for, wait_until
from tests.workflows.test_escalation import always_open, running
from workflows.escalation import EscalationWorkflow as W
from workflows.inputs import AddNote
from workflows.models import Contact, Customer


async def test_a_relay_down_for_three_hours_delivers_every_message_once_when_it_returns(
    fresh_ts_env,
):
    """Measured before: with the relay down for two minutes, tier-1 cases of customers reachable
    only by e-mail were resolved and their e-mail recorded as failed, never sent."""
    env, world = fresh_ts_env, World()
    opened_at = await env.get_current_time()
    world.down_until["email"] = opened_at + timedelta(hours=3)
    only_email = Customer(
        id="C-2001", name="Grace Hopper", contact=Contact(email="grace@example.com")
    )
    async with running(env, world) as tq:
        h = await start(env.client, tq, req=request(40, customer=only_email))
        await wait_for(h, lambda v: v.stage == "follow_up")
        await env.sleep(timedelta(hours=2))
        assert not [d for d in world.deliveries if d.event == "tier1_granted"]
        await env.sleep(timedelta(hours=2))
        await wait_until(lambda: any(d.event == "tier1_granted" for d in world.deliveries))
        sent = Counter((d.event, d.idempotency_key) for d in world.deliveries)
        assert all(n == 1 for n in sent.values()), sent
        [resolved] = [d for d in world.deliveries if d.event == "tier1_granted"]  # tier 1's words
        assert resolved.channel == "email"
        tl = await actions(h)
        assert "notification_retrying" in tl and "notification_delivered" in tl
        assert "notification_failed" not in tl


async def test_a_failing_crm_at_continue_as_new_does_not_hold_the_sla_clock(dev_env):
    """Real time, dev server. Measured before: a failing CRM during continue-as-new held the SLA
    watcher for the CRM's whole retry. Now its event is carried to the next run, the breach fires
    at its due time, and the CRM gets the event, once, when it is back."""
    env, world = dev_env, World()
    world.down_until["crm"] = datetime.now(UTC) + timedelta(seconds=25)

    def quick_first_response(policy) -> None:
        always_open(policy)
        policy.warning_fractions = []
        for target in policy.sla:
            target.first_response_h = 8 / 3600  # 8 seconds

    async with running(env, world) as tq:
        h = await start(
            env.client,
            tq,
            policy_edit=quick_first_response,
            req=request(600),
            continue_as_new_after_events=20,
        )
        v = await wait_for(h, lambda v: v.stage == "helpline_consult")
        due = v.clocks[0].due_at
        for i in range(3):  # the history grows past 20 events: the case continues as new
            await h.execute_update(W.add_note, AddNote(actor=HELPLINE, text=f"note {i}"))
        v = await wait_for(h, lambda v: v.clocks[0].breached, timeout=30)
        timeline = (await h.query(W.timeline)).items
        [breach] = [e for e in timeline if e.action == "sla_breached"]
        assert timedelta(0) <= breach.at - due < timedelta(seconds=2), (breach.at, due)
        assert "continued_as_new" in [e.action for e in timeline]
        await wait_until(lambda: any(e.stage == "helpline_consult" for e in world.crm), timeout=90)
        assert Counter(e.idempotency_key for e in world.crm).most_common(1)[0][1] == 1
