"""Fake activities registered under the real activity names, for workflow tests.

They use the real demo policy and directory files; deliveries are recorded instead of sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.dispatch import make_dispatch
from activities.quality import QualityActivities
from core.directory import load_directory
from core.settings import CONFIG_DIR
from workflows.messages import (
    CrmEvent,
    CustomerHistory,
    CustomerHistoryQuery,
    Delivery,
    DeliveryReceipt,
    KbQuery,
    KbResult,
    PeopleQuery,
    PeopleResult,
    RouteResult,
)
from workflows.models import KbMatch
from workflows.policy import Policy, RouteRequest


@dataclass
class World:
    """What the fake activities saw and how they should misbehave."""

    policy_edit: Callable[[Policy], None] | None = None  # passed to helpers.start
    failing_channels: set[str] = field(default_factory=set)
    deliveries: list[Delivery] = field(default_factory=list)
    crm: list[CrmEvent] = field(default_factory=list)
    routed: list[RouteRequest] = field(default_factory=list)
    routing_down: bool = False
    kb_delay_s: float = 0  # a slow knowledge base holds up the opening's workflow task
    # customer id -> their past year as the report store answers it (others: no past)
    histories: dict[str, CustomerHistory] = field(default_factory=dict)
    history_down: bool = False
    history_delay_s: float = 0  # a slow report store: the case waits unassigned meanwhile
    history_asked: list[CustomerHistoryQuery] = field(default_factory=list)
    # channel (or "crm") -> until when its relay or gateway is down (a transient failure), by
    # the server's clock (the time-skipping server's own)
    down_until: dict[str, datetime] = field(default_factory=dict)

    def _down(self, what: str) -> bool:
        until = self.down_until.get(what)
        return until is not None and activity.info().current_attempt_scheduled_time < until

    def activities(self) -> list:
        directory = load_directory(CONFIG_DIR / "people.demo.toml")
        world = self

        @activity.defn(name="search_knowledge_base")
        async def search_knowledge_base(q: KbQuery) -> KbResult:
            await asyncio.sleep(world.kb_delay_s)
            return KbResult(
                matches=[KbMatch(slug="duplicate-charge", title="Duplicate charges", score=1.0)]
            )

        @activity.defn(name="customer_history")
        async def customer_history(q: CustomerHistoryQuery) -> CustomerHistory:
            world.history_asked.append(q)
            await asyncio.sleep(world.history_delay_s)
            if world.history_down:
                raise ApplicationError("report store unreachable", non_retryable=True)
            return world.histories.get(q.customer_id, CustomerHistory())

        @activity.defn(name="find_people")
        async def find_people(q: PeopleQuery) -> PeopleResult:
            people = [
                p.as_person()
                for p in directory.people
                if p.role in q.roles and p.authority_limit >= q.min_authority
            ]
            return PeopleResult(people=people)

        @activity.defn(name="route_specialist")
        async def route_specialist(r: RouteRequest) -> RouteResult:
            world.routed.append(r)
            if world.routing_down:
                raise ApplicationError("routing service down", non_retryable=True)
            team = next(t for t in r.teams if r.category in t.skills or "*" in t.skills)
            member = next((m for m in team.members if m not in r.exclude), team.members[0])
            p = directory.by_id(member)
            return RouteResult(
                team=team.name,
                assignee=p.as_person(),
                open_load=0,
            )

        @activity.defn(name="deliver")
        async def deliver(d: Delivery) -> DeliveryReceipt:
            if d.channel in world.failing_channels:
                raise ApplicationError(
                    f"{d.channel} down", type="ChannelUnavailable", non_retryable=True
                )
            if world._down(d.channel):
                raise ApplicationError(f"{d.channel} relay unreachable", type="RelayDown")
            world.deliveries.append(d)
            info = activity.info()
            return DeliveryReceipt(
                channel=d.channel, idempotency_key=f"{info.workflow_run_id}:{info.activity_id}"
            )

        @activity.defn(name="sync_crm")
        async def sync_crm(e: CrmEvent) -> None:
            if world._down("crm"):
                raise ApplicationError("CRM unreachable", type="CrmDown")
            world.crm.append(e)

        return [
            search_knowledge_base,
            customer_history,
            find_people,
            route_specialist,
            deliver,
            sync_crm,
            make_dispatch(deliver, sync_crm),
            QualityActivities().read_text,  # the real offline analysis (trained once a process)
        ]

    def events(self, to: str | None = None) -> list[str]:
        return [d.event for d in self.deliveries if to is None or d.recipient_name == to]
