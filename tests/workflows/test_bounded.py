"""No input, however large or repeated, may stall a case.

Measured from outside before: 194 notes of 20 KB on one case and its workflow task failed for
good (queries and cancel refused, no deadline fired). A case now keeps its first and latest
timeline entries and its latest notes whole; here it takes 5,000 actions (every 25th note 20 KB)
on the real dev server, then still answers, has fired its deadline and can be cancelled.
"""

from __future__ import annotations

import asyncio
import time

from temporalio.client import WorkflowHandle

from tests.conftest import run_worker
from tests.workflows.fakes import World
from tests.workflows.helpers import AGENT, HELPLINE, OPERATOR, request, start, wait_for
from tests.workflows.test_escalation import always_open
from workflows.escalation import EscalationWorkflow as W
from workflows.inputs import AddNote, Reason
from workflows.opening import NOTES_KEPT, TIMELINE_KEPT

ACTIONS = 5_000
IN_FLIGHT = 8  # Temporal admits at most 10 updates in flight per workflow


def short_first_response(policy) -> None:
    always_open(policy)
    policy.warning_fractions = []
    for target in policy.sla:
        target.first_response_h = 20 / 3600  # 20 s: fires while the notes pour in


async def test_a_case_with_5000_actions_still_answers_fires_and_cancels(dev_env):
    world = World()
    async with run_worker(dev_env.client, [W], world.activities()) as tq:
        h: WorkflowHandle = await start(
            dev_env.client, tq, policy_edit=short_first_response, req=request(600)
        )
        await wait_for(h, lambda v: v.stage == "helpline_consult")
        big, small = "x" * 20_000, "a note of the usual size"
        sent = 0
        began = time.monotonic()

        async def writer(n: int) -> None:
            nonlocal sent
            for i in range(n, ACTIONS, IN_FLIGHT):
                actor = (AGENT, HELPLINE, OPERATOR)[i % 3]
                text = big if i % 25 == 0 else f"{small} {i}"
                await h.execute_update(W.add_note, AddNote(actor=actor, text=text))
                sent += 1

        await asyncio.gather(*(writer(n) for n in range(IN_FLIGHT)))
        took = time.monotonic() - began
        assert sent == ACTIONS
        v = await wait_for(h, lambda v: v.clocks[0].breached, timeout=60)
        assert v.stage == "helpline_consult"
        timeline = await h.query(W.timeline)
        assert len(timeline.items) <= TIMELINE_KEPT
        assert timeline.elided >= ACTIONS - TIMELINE_KEPT
        assert timeline.items[0].action == "opened"
        # the breach fired while the notes poured in, or just after the last (a quick host)
        assert "note_added" in [i.action for i in timeline.items[-3:]]
        v = await h.execute_update(W.cancel, Reason(actor=OPERATOR, reason="test over"))
        assert v.stage == "cancelled"
        result = await h.result()
        assert result.stage == "cancelled"
        history = await h.fetch_history()
        print(f"5000 actions in {took:.0f} s; last run's history {len(history.events)} events")
    assert NOTES_KEPT <= 20
