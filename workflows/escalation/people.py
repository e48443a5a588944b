"""Finding people in the directory (a local activity). The lookups asked for in the same step
(a breach's manager and next authority level) are made by one call: one marker instead of one
each; each asker gets what its own query selects."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from temporalio import workflow
from temporalio.exceptions import FailureError

with workflow.unsafe.imports_passed_through():
    from workflows.escalation import calls
    from workflows.messages import PeopleQuery
    from workflows.models import Person


class People:
    def __init__(self, spawn: Callable[[Awaitable[None]], object]) -> None:
        self._spawn = spawn
        self.known: dict[str, Person] = {}
        self._batch: list[tuple[PeopleQuery, asyncio.Future[list[Person]]]] | None = None

    async def find(self, q: PeopleQuery) -> list[Person]:
        """Who the query selects (nobody when the directory is unavailable)."""
        if self._batch is None:
            self._batch = []
            self._spawn(self._look_up_together(self._batch))
        found: asyncio.Future[list[Person]] = asyncio.get_running_loop().create_future()
        self._batch.append((q, found))
        return await found

    async def manager(self, manager_id: str) -> Person:
        """The escalated-accounts manager the policy names."""
        if manager_id not in self.known:
            await self.find(PeopleQuery(roles=["manager"]))
        return self.known.get(manager_id) or Person(
            id=manager_id, name="Escalations manager", role="manager"
        )

    async def _look_up_together(
        self, batch: list[tuple[PeopleQuery, asyncio.Future[list[Person]]]]
    ) -> None:
        await asyncio.sleep(0)  # one step: the other lookups started with this one join it
        self._batch = None
        teams = {q.team for q, _ in batch}
        people = await self._look_up(
            PeopleQuery(
                roles=sorted({r for q, _ in batch for r in q.roles}),
                min_authority=min(q.min_authority for q, _ in batch),
                team=teams.pop() if len(teams) == 1 else None,
            )
        )
        for q, found in batch:
            if not found.done():  # (its asker may have been cancelled)
                found.set_result([p for p in people if q.selects(p)])

    async def _look_up(self, q: PeopleQuery) -> list[Person]:
        try:
            res = await calls.find_people(q)
        except FailureError as e:
            workflow.logger.warning("directory unavailable: %s", e)
            return []
        for person in res.people:
            self.known[person.id] = person
        return res.people
