"""After a mail outage, what waits goes when the relay is back, not a backoff step later.

The real workflow on the dev server with the real `deliver` and `dispatch` activities and a real
SMTP server: down while ten e-mail-only customers' cases are granted at tier 1, then started
again on the same port. Every e-mail arrives, once, within 10 s of its return."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import pytest
from aiosmtpd.controller import Controller

from activities.dispatch import make_dispatch
from activities.notify import NotifyActivities
from core.settings import Settings
from tests.activities.conftest import RecordingHandler, free_port
from tests.conftest import run_worker
from tests.workflows.fakes import World
from tests.workflows.helpers import actions, request, start, wait_until
from tests.workflows.test_escalation import always_open
from workflows.escalation import EscalationWorkflow as W
from workflows.models import Contact, Customer

pytestmark = pytest.mark.timeout(180)
CASES = 10


async def test_waiting_e_mails_go_within_10_s_of_the_relay_s_restart(dev_env):
    world, handler, port = World(), RecordingHandler(), free_port()
    notify = NotifyActivities(Settings(demo=True, smtp_host="127.0.0.1", smtp_port=port))
    fakes = {a.__temporal_activity_definition.name: a for a in world.activities()}
    fakes["deliver"] = notify.deliver
    fakes["dispatch"] = make_dispatch(notify.deliver, fakes["sync_crm"])
    relay: Controller | None = Controller(handler, hostname="127.0.0.1", port=port)
    relay.start()
    try:
        relay.stop()  # the outage begins
        relay = None
        async with run_worker(dev_env.client, [W], list(fakes.values())) as tq:
            handles = [
                await start(
                    dev_env.client,
                    tq,
                    policy_edit=always_open,
                    req=request(
                        40,
                        customer=Customer(
                            id=f"C-7{n:03d}",
                            name=f"Customer {n}",
                            contact=Contact(email=f"c{n}@example.com"),
                        ),
                    ),
                )
                for n in range(CASES)
            ]

            async def retrying() -> int:
                return sum(["notification_retrying" in await actions(h) for h in handles])

            deadline = time.monotonic() + 60
            while await retrying() < CASES:  # every case's e-mail waits for the relay
                assert time.monotonic() < deadline, "the cases never met the outage"
                await asyncio.sleep(0.5)
            await asyncio.sleep(5)  # an outage longer than the probe's interval

            relay = Controller(handler, hostname="127.0.0.1", port=port)
            relay.start()
            back = time.monotonic()
            await wait_until(lambda: len(handler.mails) >= CASES, timeout=30)
            took = time.monotonic() - back
            assert took <= 10, f"the last e-mail arrived {took:.1f} s after the relay returned"

            keys = Counter(m.message["X-Idempotency-Key"] for m in handler.mails)
            assert len(keys) == CASES and set(keys.values()) == {1}, keys
            for h in handles:
                await wait_until_delivered(h)
    finally:
        if relay is not None:
            relay.stop()
        await notify.smtp.aclose()


async def wait_until_delivered(h) -> None:
    async def late() -> bool:
        return "notification_delivered" in await actions(h)

    deadline = time.monotonic() + 15
    while not await late():
        assert time.monotonic() < deadline, "no notification_delivered on the timeline"
        await asyncio.sleep(0.2)
