"""Determinism guard: every recorded history of the main paths replays against today's
workflow code. A change that would break running escalations fails here; guard it with
`workflow.patched(...)` (and keep these histories) instead of re-recording. Re-record
(RECORD_HISTORIES=1 make test) only when a path is retired (docs/decisions/0002)."""

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from workflows.escalation import EscalationWorkflow

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


def test_the_main_paths_are_recorded():
    names = {p.stem for p in HISTORIES}
    assert {
        "tier1_closed",
        "helpline_resolved",
        "signoff_approved",
        "consult_timeout_reroute",
        "sla_breach_over_holidays",
        "follow_up_reopen",
        "cancelled",
        "api_signoff",
        "sla_breach_batched",
        "sla_breach_on_time",
        "pause_resume",
        "continued_as_new_first_run",
        "continued_as_new_second_run",
    } <= names


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_history_replays(path: Path):
    history = WorkflowHistory.from_json(f"escalation-{path.stem}", path.read_text())
    replayer = Replayer(workflows=[EscalationWorkflow], data_converter=pydantic_data_converter)
    await replayer.replay_workflow(history)
