"""Routing by skills, authority, working hours and open load (counted in the dev server's
visibility), and the people finder. Loads come from real workflows carrying the `Assignee`
search attribute; they are started without a worker (they stay Running) and terminated after."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.routing import RoutingActivities, assignee_query, rank_teams
from core.policy import read_policy
from core.settings import CONFIG_DIR
from tests.activities.conftest import make_settings
from workflows import search_attributes as sa
from workflows.messages import PeopleQuery
from workflows.policy import CalendarSpec, RouteRequest, Team

POLICY = read_policy(CONFIG_DIR / "policy.toml")
WEDNESDAY_NOON = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)  # uk_extended and uk_office open
env = ActivityEnvironment()


@asynccontextmanager
async def open_cases(client, person_id: str, n: int) -> AsyncIterator[None]:
    """`n` running workflows assigned to `person_id`, visible to count_workflows."""
    handles = []
    tq = f"no-worker-{uuid.uuid4()}"
    before = (await client.count_workflows(assignee_query(person_id))).count
    try:
        for _ in range(n):
            handles.append(
                await client.start_workflow(
                    "IdleForRoutingTest",
                    id=f"routing-load-{uuid.uuid4()}",
                    task_queue=tq,
                    execution_timeout=timedelta(minutes=5),
                    search_attributes=TypedSearchAttributes(
                        [SearchAttributePair(sa.ASSIGNEE, person_id)]
                    ),
                )
            )
        deadline = time.monotonic() + 10
        while (await client.count_workflows(assignee_query(person_id))).count < before + n:
            assert time.monotonic() < deadline, "visibility did not catch up in 10 s"
            await asyncio.sleep(0.05)
        yield
    finally:
        for h in handles:
            await h.terminate("routing test done")


def request(**kw) -> RouteRequest:
    values = dict(
        escalation_id="E-1",
        category="billing",
        teams=POLICY.teams,
        calendars=POLICY.calendars,
        at=WEDNESDAY_NOON,
    )
    values.update(kw)
    return RouteRequest(**values)


def write_directory(tmp_path: Path, people: list[dict]) -> Path:
    lines: list[str] = []
    for p in people:
        lines.append("[[people]]")
        lines += [f"{k} = {v!r}" if isinstance(v, str) else f"{k} = {v}" for k, v in p.items()]
    path = tmp_path / "people.toml"
    path.write_text("\n".join(lines).replace("'", '"') + "\n")
    return path


async def test_billing_case_goes_to_the_less_loaded_specialist(dev_env, tmp_path):
    client = dev_env.client
    routing = RoutingActivities(make_settings(tmp_path), client)  # demo directory
    # other tests on this session server may have left escalations assigned; make the gap explicit
    base1 = (await client.count_workflows(assignee_query("p-specialist"))).count
    base2 = (await client.count_workflows(assignee_query("p-specialist-2"))).count
    async with open_cases(client, "p-specialist", max(0, base2 - base1) + 2):
        result = await env.run(routing.route_specialist, request())
        assert result.team == "billing-specialists"
        assert result.assignee.id == "p-specialist-2"
        assert result.assignee.name == "Sky Specialist"
        assert result.open_load == base2
        # the excluded member is skipped even though the other one is busier
        result = await env.run(routing.route_specialist, request(exclude=["p-specialist-2"]))
        assert result.assignee.id == "p-specialist"
        # everybody excluded: the excluded are allowed again rather than leaving the case unrouted
        result = await env.run(
            routing.route_specialist, request(exclude=["p-specialist", "p-specialist-2"])
        )
        assert result.assignee.id == "p-specialist-2"


async def test_on_duty_beats_load_and_id(dev_env, tmp_path):
    u = uuid.uuid4().hex[:8]
    day, night, nocal, ghost = f"p-a-day-{u}", f"p-b-night-{u}", f"p-c-nocal-{u}", f"p-ghost-{u}"
    owl = f"p-d-owl-{u}"
    path = write_directory(
        tmp_path,
        [
            {
                "id": day,
                "name": "Day",
                "role": "specialist",
                "authority_limit": 250,
                "calendar": "day",
            },
            {
                "id": night,
                "name": "Night",
                "role": "specialist",
                "authority_limit": 250,
                "calendar": "night",
            },
            {"id": nocal, "name": "No Calendar", "role": "specialist", "authority_limit": 250},
            {
                "id": owl,
                "name": "Owl",
                "role": "specialist",
                "authority_limit": 250,
                "calendar": "night",
            },
        ],
    )
    calendars = {
        "day": CalendarSpec(timezone="Europe/London", hours={"wed": ("09:00", "17:00")}),
        "night": CalendarSpec(timezone="Europe/London", hours={"wed": ("22:00", "23:30")}),
    }
    routing = RoutingActivities(make_settings(tmp_path, directory_path=path), dev_env.client)

    def req(members: list[str], **kw) -> RouteRequest:
        team = Team(
            name="t", skills=["billing"], calendar="uk_office", authority_limit=250, members=members
        )
        return request(teams=[team], calendars=calendars, **kw)

    async with open_cases(dev_env.client, day, 1):
        # night is idle but off duty at noon; day is on duty with one open case
        result = await env.run(routing.route_specialist, req([night, ghost, day]))
        assert result.assignee.id == day and result.open_load == 1
        # no calendar counts as on duty: with equal duty, the lower load wins
        result = await env.run(routing.route_specialist, req([day, night, nocal]))
        assert result.assignee.id == nocal and result.open_load == 0
    # nobody on duty: still routed (both off duty at 21:00, both load 0 -> lowest id)
    late = datetime(2026, 11, 18, 21, 0, tzinfo=UTC)
    result = await env.run(routing.route_specialist, req([owl, night], at=late))
    assert result.assignee.id == night
    # unknown members only -> NoRoute, non-retryable
    with pytest.raises(ApplicationError) as e:
        await env.run(routing.route_specialist, req([ghost]))
    assert e.value.type == "NoRoute" and e.value.non_retryable


class CountingClient:
    """The real client, counting the visibility counts asked of it."""

    def __init__(self, client) -> None:
        self.client, self.counts = client, 0

    async def count_workflows(self, query: str):
        self.counts += 1
        return await self.client.count_workflows(query)


async def test_a_burst_of_routings_spreads_over_the_team_on_one_count_each(
    dev_env, tmp_path, monkeypatch
):
    u = uuid.uuid4().hex[:8]
    a, b = f"p-a-{u}", f"p-b-{u}"
    path = write_directory(
        tmp_path,
        [
            {"id": a, "name": "A", "role": "specialist", "authority_limit": 250},
            {"id": b, "name": "B", "role": "specialist", "authority_limit": 250},
        ],
    )
    client = CountingClient(dev_env.client)
    routing = RoutingActivities(make_settings(tmp_path, directory_path=path), client)
    team = Team(
        name="t", skills=["billing"], calendar="uk_office", authority_limit=250, members=[a, b]
    )
    req = request(teams=[team])
    async with open_cases(dev_env.client, a, 1):
        routed = [(await env.run(routing.route_specialist, req)) for _ in range(5)]
        # visibility still says a=1, b=0 for every one of them: the worker adds its own routings
        assert [(r.assignee.id, r.open_load) for r in routed] == [
            (b, 0),
            (a, 1),
            (b, 1),
            (a, 2),
            (b, 2),
        ]
        assert client.counts == 2  # one per person, not one per person and routing

        monkeypatch.setattr("activities.routing.LOAD_TTL_S", 0.0)  # counts are stale now
        result = await env.run(routing.route_specialist, req)
        assert (result.assignee.id, result.open_load) == (b, 0)  # visibility's word again
        assert client.counts == 4


async def test_unknown_category_falls_back_to_the_wildcard_team(dev_env, tmp_path):
    routing = RoutingActivities(make_settings(tmp_path), dev_env.client)
    result = await env.run(routing.route_specialist, request(category="Returns"))
    assert result.team == "technical-specialists"
    assert result.assignee.id == "p-specialist-tech"
    result = await env.run(routing.route_specialist, request(category="BILLING"))
    assert result.team == "billing-specialists"


async def test_no_team_for_the_category_is_no_route(dev_env, tmp_path):
    routing = RoutingActivities(make_settings(tmp_path), dev_env.client)
    with pytest.raises(ApplicationError) as e:
        await env.run(routing.route_specialist, request(category="returns", teams=POLICY.teams[:1]))
    assert e.value.type == "NoRoute" and e.value.non_retryable


def team(name: str, skills: list[str], authority: float) -> Team:
    return Team(
        name=name, skills=skills, calendar="uk_office", authority_limit=authority, members=["x"]
    )


def test_team_ranking():
    small = team("small", ["billing"], 100)
    big = team("big", ["Billing"], 1000)
    mid = team("mid", ["billing"], 500)
    anything = team("any", ["*"], 10000)
    other = team("other", ["technical"], 10000)
    teams = [small, big, mid, anything, other]
    names = lambda ts: [t.name for t in ts]  # noqa: E731
    # exact skills first; among them those with enough authority (policy order), then highest
    assert names(rank_teams(teams, "billing", 400)) == ["big", "mid", "small", "any"]
    assert names(rank_teams(teams, "billing", 5000)) == ["big", "mid", "small", "any"]
    assert names(rank_teams(teams, "billing", 0)) == ["small", "big", "mid", "any"]
    assert names(rank_teams(teams, "refunds", 0)) == ["any"]
    assert names(rank_teams([small, other], "refunds", 0)) == []


async def test_find_people_by_role_and_authority(tmp_path):
    routing = RoutingActivities(make_settings(tmp_path), client=None)
    result = await env.run(
        routing.find_people,
        PeopleQuery(roles=["supervisor", "manager", "executive"], min_authority=600),
    )
    assert [p.id for p in result.people] == ["p-manager", "p-manager-2", "p-executive"]
    result = await env.run(
        routing.find_people, PeopleQuery(roles=["supervisor", "manager", "executive"])
    )
    assert [p.id for p in result.people] == [
        "p-supervisor",
        "p-manager",
        "p-manager-2",
        "p-executive",
    ]
    result = await env.run(
        routing.find_people, PeopleQuery(roles=["specialist"], team="billing-specialists")
    )
    assert [p.id for p in result.people] == ["p-specialist", "p-specialist-2"]
    assert all(p.role == "specialist" for p in result.people)
    assert "token_hmac" not in result.model_dump_json()
    result = await env.run(routing.find_people, PeopleQuery(roles=["helpline"], min_authority=1))
    assert result.people == []


def test_assignee_query_escapes_quotes():
    assert assignee_query('a"b') == 'Assignee = "a\\"b" AND ExecutionStatus = "Running"'
