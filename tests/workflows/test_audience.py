"""Customer and staff messages never mix: every delivery says whom it is for."""

from __future__ import annotations

import pytest

from tests.workflows.fakes import World
from tests.workflows.helpers import request, skip_to_office_hours, start, wait_until
from tests.workflows.test_escalation import running
from workflows.models import Contact, Customer

pytestmark = pytest.mark.timeout(60)


async def test_a_customer_whose_id_looks_like_a_staff_handle_gets_customer_messages(fresh_ts_env):
    await skip_to_office_hours(fresh_ts_env)
    world = World()
    customer = Customer(
        id="@p-agent",  # the demo agent's staff chat handle
        name="Ada Lovelace",
        contact=Contact(email="ada@example.com", preferred_channel="chat"),
    )
    async with running(fresh_ts_env, world) as tq:
        await start(fresh_ts_env.client, tq, req=request(600, customer=customer))
        # the customer is told the case is escalated; the help line is asked to consult
        await wait_until(lambda: {d.audience for d in world.deliveries} >= {"customer", "staff"})
    to_customer = [d for d in world.deliveries if d.recipient_name == "Ada Lovelace"]
    to_staff = [d for d in world.deliveries if d.recipient_name != "Ada Lovelace"]
    assert to_customer and to_staff
    assert {d.audience for d in to_customer} == {"customer"}
    assert any(d.channel == "chat" and d.address == "@p-agent" for d in to_customer)
    assert {d.audience for d in to_staff} == {"staff"}
