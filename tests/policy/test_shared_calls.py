"""The policy calls the API's routes and the console's pages share (api/policy/service.py)
check the caller's role against the access table themselves, before they
read the store or reach Temporal: a console page cannot take an action the API would refuse."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from api.errors import Forbidden, Invalid
from api.policy.schemas import MigrationRequest
from api.policy.service import (
    decide_change,
    migrate_cases,
    propose_draft,
    schedule_change,
    start_simulation,
    write_draft,
)
from core.directory import DirectoryEntry
from workflows.access import ACCESS, ROLES, Action

NOW = datetime(2026, 12, 1, tzinfo=UTC)
V = "2026.12"

# each shared call with nothing behind it (store, client: None): only the role check can answer
CALLS: dict[str, tuple[Action, Any]] = {
    "write_draft": (Action.POLICY_PROPOSE, lambda p: write_draft(None, p, "version = 'x'", "")),  # type: ignore[arg-type]
    "propose_draft": (
        Action.POLICY_PROPOSE,
        lambda p: propose_draft(None, None, "q", None, p, V, None),  # type: ignore[arg-type]
    ),
    "decide_change": (
        Action.POLICY_APPROVE,
        lambda p: decide_change(None, None, p, V, "approve", "ok"),  # type: ignore[arg-type]
    ),
    "schedule_change": (
        Action.POLICY_PROPOSE,
        lambda p: schedule_change(None, None, p, V, None),  # type: ignore[arg-type]
    ),
    "migrate_cases": (
        Action.MIGRATE_POLICY,
        lambda p: migrate_cases(None, None, p, V, MigrationRequest()),  # type: ignore[arg-type]
    ),
    "start_simulation": (
        Action.POLICY_SIMULATE,
        lambda p: start_simulation(None, None, "q", p, V, NOW, NOW),  # type: ignore[arg-type]
    ),
}


def person(role: str) -> DirectoryEntry:
    return DirectoryEntry(id=f"p-{role}", name=role.title(), role=role, authority_limit=0)


@pytest.mark.parametrize("name", list(CALLS))
@pytest.mark.parametrize("role", ROLES)
async def test_a_shared_call_refuses_the_roles_the_access_table_does_not_give(name, role):
    action, call = CALLS[name]
    if role in ACCESS[action].roles:
        # past the role check: the text is checked, or the call reaches for the missing store
        with pytest.raises((AttributeError, Invalid)):
            await call(person(role))
    else:
        with pytest.raises(Forbidden) as refused:
            await call(person(role))
        assert f"signed in as {role}" in refused.value.detail
