"""The raw-Temporal baseline: a workflow with no business logic that runs the same number of
local and regular activities as the escalation's path, phase by phase.

A phase is the work between two client actions (phase 0 after the start, phase k after update
``step`` number k). Local activities run in sequence, regular ones are started in the background,
as the escalation's notifications and CRM sync are. The workflow ends when every phase has been
entered and every regular activity has completed.

Section *anatomy* switches on, one at a time, the kinds of Temporal work the escalation adds to
this baseline (search-attribute upserts, timers on its waits, bigger payloads), to price each on
the same dev server.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.common import SearchAttributeKey

RAW_WORKFLOW = "BenchRawWorkflow"
NOOP_ACTIVITY = "bench_noop"


# the escalation's own keyword attributes, registered by the embedded launcher
STAGE = SearchAttributeKey.for_keyword("EscalationStage")
ASSIGNEE = SearchAttributeKey.for_keyword("Assignee")


@dataclass
class RawInput:
    phases: list[list[int]] = field(default_factory=list)  # [[local, regular], ...]
    payload: str = ""
    upsert_from_phase: int | None = None  # upsert two search attributes in each phase from it
    timers: bool = False  # each wait for the next update carries a timer (cancelled by it)
    result: str = ""  # what each update answers
    pad: str = ""  # carried in the input only (the escalation's input holds its policy copy)


@activity.defn(name=NOOP_ACTIVITY)
async def noop(payload: str) -> str:
    return payload


@workflow.defn(name=RAW_WORKFLOW)
class RawWorkflow:
    def __init__(self) -> None:
        self._steps = 0
        self._result = ""

    @workflow.run
    async def run(self, inp: RawInput) -> int:
        self._result = inp.result
        background: list[asyncio.Future] = []
        for k, (local, regular) in enumerate(inp.phases):
            if k > 0:
                try:
                    await workflow.wait_condition(
                        lambda k=k: self._steps >= k, timeout=86400 if inp.timers else None
                    )
                except TimeoutError:
                    pass
            for _ in range(local):
                await workflow.execute_local_activity(
                    NOOP_ACTIVITY,
                    inp.payload,
                    result_type=str,
                    start_to_close_timeout=timedelta(seconds=20),
                )
            if inp.upsert_from_phase is not None and k >= inp.upsert_from_phase:
                workflow.upsert_search_attributes(
                    [STAGE.value_set(f"phase-{k}"), ASSIGNEE.value_set(f"person-{k}")]
                )
            for _ in range(regular):
                background.append(
                    asyncio.ensure_future(
                        workflow.execute_activity(
                            NOOP_ACTIVITY,
                            inp.payload,
                            result_type=str,
                            start_to_close_timeout=timedelta(seconds=30),
                        )
                    )
                )
        await asyncio.gather(*background)
        return len(background)

    @workflow.update
    async def step(self, n: int) -> str:
        self._steps = max(self._steps, n)
        return self._result


RAW_DEADLINE_WORKFLOW = "BenchRawDeadlineWorkflow"


@dataclass
class RawDeadlineInput:
    due: float  # the deadline, seconds since the epoch
    payload: str = "x" * 1500  # activity inputs of an escalation's size
    pad: str = "p" * 7000  # an input of an escalation's size


@workflow.defn(name=RAW_DEADLINE_WORKFLOW)
class RawDeadlineWorkflow:
    """The baseline of section *deadlines*: the Temporal work of a P4 escalation that is opened,
    rests, and breaches its first-response deadline, with no logic. Opening: 2 local activities,
    1 regular activity and a day-long timer (the help-line window); then a timer to the deadline.
    When it fires: the lateness is taken (`workflow.now()`, as the escalation's timeline entry
    is), then 2 local activities (the escalation's people lookups), a search-attribute upsert,
    1 regular activity (its dispatch) and the next clock's timer; then it stays open, as the
    escalation does."""

    def __init__(self) -> None:
        self._lateness: float | None = None

    @workflow.run
    async def run(self, inp: RawDeadlineInput) -> None:
        async def local() -> None:
            await workflow.execute_local_activity(
                NOOP_ACTIVITY,
                inp.payload,
                result_type=str,
                start_to_close_timeout=timedelta(seconds=20),
            )

        def regular() -> asyncio.Future:
            return asyncio.ensure_future(
                workflow.execute_activity(
                    NOOP_ACTIVITY,
                    inp.payload,
                    result_type=str,
                    start_to_close_timeout=timedelta(seconds=30),
                )
            )

        background = [asyncio.ensure_future(workflow.sleep(86400))]
        await asyncio.gather(local(), local())
        background.append(regular())
        delay = inp.due - workflow.now().timestamp()
        if delay > 0:
            await workflow.sleep(delay)
        self._lateness = workflow.now().timestamp() - inp.due
        await asyncio.gather(local(), local())
        workflow.upsert_search_attributes([STAGE.value_set("breached")])
        background += [regular(), asyncio.ensure_future(workflow.sleep(172800))]
        await workflow.wait_condition(lambda: False)

    @workflow.query
    def lateness(self) -> float | None:
        return self._lateness
