"""Routing directory: which specialist takes a case (``route_specialist``) and who holds a role
with enough authority (``find_people``).

Team choice (teams and calendars come from the policy pinned by the workflow):

1. teams whose ``skills`` contain the category (case-insensitive, exact) come first, teams with
   ``"*"`` only after them;
2. within each group, teams whose ``authority_limit`` covers ``required_authority`` first (in
   policy order), then the rest by highest authority;
3. the first team in that order with at least one usable member wins.

Member choice within the team (``exclude`` is honoured unless it excludes everybody, in which
case the excluded members are allowed again rather than leaving the case unrouted):
on duty at ``req.at`` (the person's ``calendar`` from ``req.calendars`` with
:func:`workflows.business_hours.is_open`; no calendar, or a calendar the policy does not define,
counts as on duty), then the lowest open load, then the person id. Off-duty members are still
picked when nobody is on duty: a case is better queued with a person than not routed.

Open load = running escalations with search attribute ``Assignee`` = the person, counted in
Temporal visibility. Each worker asks at most once per :data:`LOAD_TTL_S` seconds per person and
adds the cases it routes to that person in between: visibility is eventually consistent anyway
(a case routed a moment ago may not be counted yet, so a burst of cases routed on fresh counts
would all go to the same person), and a count costs the Temporal server as much CPU as a
workflow task (bench/README.md).

Member ids the directory does not know are skipped with a warning. No usable member in any
candidate team -> non-retryable ``ApplicationError`` type ``NoRoute``.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.logging import activity_context
from core.directory import Directory, DirectoryEntry, LiveDirectory
from core.settings import Settings
from workflows.business_hours import is_open
from workflows.messages import PeopleQuery, PeopleResult, RouteResult
from workflows.models import Person
from workflows.policy import CalendarSpec, RouteRequest, Team

WILDCARD = "*"
LOAD_TTL_S = 5.0


@dataclass
class _Load:
    count: int
    counted_at: float


def to_person(entry: DirectoryEntry) -> Person:
    """The directory entry without its token hash (which must never reach workflow history)."""
    return entry.as_person()


def rank_teams(teams: list[Team], category: str, required_authority: float) -> list[Team]:
    """Candidate teams, best first (see module doc)."""
    cat = category.strip().lower()

    def order(group: list[Team]) -> list[Team]:
        enough = [t for t in group if t.authority_limit >= required_authority]
        short = sorted(
            (t for t in group if t.authority_limit < required_authority),
            key=lambda t: -t.authority_limit,
        )
        return enough + short

    skills = [{s.strip().lower() for s in t.skills} for t in teams]
    exact = [t for t, s in zip(teams, skills, strict=True) if cat in s]
    wildcard = [t for t, s in zip(teams, skills, strict=True) if cat not in s and WILDCARD in s]
    return order(exact) + order(wildcard)


def assignee_query(person_id: str) -> str:
    escaped = person_id.replace("\\", "\\\\").replace('"', '\\"')
    return f'Assignee = "{escaped}" AND ExecutionStatus = "Running"'


class RoutingActivities:
    def __init__(self, settings: Settings, client: Any, directory: Directory | None = None) -> None:
        self.settings = settings
        self.client = client
        self._directory = directory
        self._live: LiveDirectory | None = None
        self._loads: dict[str, _Load] = {}

    @property
    def directory(self) -> Directory:
        """The directory file as it is now (loaded on first use, re-read when it changes or on
        SIGHUP), unless one was given."""
        if self._directory is not None:
            return self._directory
        if self._live is None:
            path = Path(self.settings.directory_path)
            try:
                self._live = LiveDirectory(path, None, self.settings.directory_reload_s)
            except FileNotFoundError as e:
                # retryable: an operator can put the file back without losing the case
                raise ApplicationError(f"directory file not found: {path}") from e
        return self._live.current()

    async def open_load(self, person_id: str) -> int:
        """Visibility's count if this worker's is older than LOAD_TTL_S, else the count it has
        (plus the cases it routed to the person since)."""
        load = self._loads.get(person_id)
        now = time.monotonic()
        if load is None or now - load.counted_at >= LOAD_TTL_S:
            resp = await self.client.count_workflows(assignee_query(person_id))
            load = self._loads[person_id] = _Load(int(resp.count), now)
        return load.count

    @staticmethod
    def on_duty(person: Person, calendars: dict[str, CalendarSpec], at, log) -> bool:
        if not person.calendar:
            return True
        if person.calendar == "24x7":
            return True
        spec = calendars.get(person.calendar)
        if spec is None:
            log.warning("routing_unknown_calendar", person=person.id, calendar=person.calendar)
            return True
        return is_open(spec, at)

    @activity.defn(name="route_specialist")
    async def route_specialist(self, req: RouteRequest) -> RouteResult:
        with activity_context(escalation_id=req.escalation_id, category=req.category) as log:
            at = req.at if req.at.tzinfo else req.at.replace(tzinfo=UTC)
            directory = self.directory
            teams = rank_teams(req.teams, req.category, req.required_authority)
            if not teams:
                raise ApplicationError(
                    f"no team handles category {req.category!r} and no team takes '*'",
                    type="NoRoute",
                    non_retryable=True,
                )
            excluded = set(req.exclude)
            for team in teams:
                known: list[Person] = []
                for pid in team.members:
                    entry = directory.by_id(pid)
                    if entry is None:
                        log.warning("routing_unknown_member", team=team.name, person=pid)
                        continue
                    known.append(to_person(entry))
                if not known:
                    log.warning("routing_team_empty", team=team.name)
                    continue
                eligible = [p for p in known if p.id not in excluded] or known
                loads = await asyncio.gather(*(self.open_load(p.id) for p in eligible))
                ranked = sorted(
                    (
                        (not self.on_duty(p, req.calendars, at, log), load, p.id, p)
                        for p, load in zip(eligible, loads, strict=True)
                    ),
                    key=lambda r: r[:3],
                )
                off_duty, load, _, person = ranked[0]
                self._loads[person.id].count += 1
                log.info(
                    "routed",
                    team=team.name,
                    assignee=person.id,
                    open_load=load,
                    on_duty=not off_duty,
                    candidates=len(eligible),
                )
                return RouteResult(team=team.name, assignee=person, open_load=load)
            raise ApplicationError(
                f"no known member in any team for category {req.category!r}",
                type="NoRoute",
                non_retryable=True,
            )

    @activity.defn(name="find_people")
    async def find_people(self, q: PeopleQuery) -> PeopleResult:
        with activity_context() as log:
            found = [to_person(p) for p in self.directory.people if q.selects(p)]
            found.sort(key=lambda p: (p.authority_limit, p.id))
            log.debug("people_found", roles=sorted(q.roles), count=len(found))
            return PeopleResult(people=found)
