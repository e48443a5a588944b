"""Everything that touches the world. `build_activities` wires them for a worker.

Activity names (the workflow calls them by name, each with one pydantic argument):

- ``deliver(Delivery) -> DeliveryReceipt``                   (:mod:`activities.notify`)
- ``search_knowledge_base(KbQuery) -> KbResult``             (:mod:`activities.kb`)
- ``route_specialist(RouteRequest) -> RouteResult``          (:mod:`activities.routing`)
- ``find_people(PeopleQuery) -> PeopleResult``               (:mod:`activities.routing`)
- ``sync_crm(CrmEvent) -> None``                             (:mod:`activities.crm`)
- ``dispatch(Dispatch) -> DispatchResult``                  (:mod:`activities.dispatch`: the
  messages and CRM events of one workflow task at once, each as ``deliver`` / ``sync_crm``,
  and the case's facts for the report store)
- ``weekly_digest_text(DigestWeek) -> DigestText``           (:mod:`activities.digest`)
- ``customer_history(CustomerHistoryQuery) -> CustomerHistory`` (:mod:`activities.history`:
  the customer's past escalations, from the report store)
- ``move_policy_version(VersionMove) -> StoredVersion``     (:mod:`activities.policy_store`)
- ``simulate_policy(SimulationStart) -> SimulationDone``    (:mod:`activities.policy_store`)
- ``read_text(TextToRead) -> TextReading``                   (:mod:`activities.quality`: the text
  analysis of what a customer wrote, core/quality)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any

from core.settings import Settings
from workflows.messages import CaseFacts


def build_activities(
    settings: Settings, client: Any, resources: AsyncExitStack | None = None
) -> list[Callable]:
    """Bound activity methods for a worker. `client` is the worker's Temporal client (routing
    counts each person's open escalations through its visibility API). The HTTP session and the
    idle SMTP connections are closed when `resources` closes (after the worker has stopped)."""
    from activities.crm import CrmActivities
    from activities.digest import DigestActivities
    from activities.dispatch import make_dispatch
    from activities.history import HistoryActivities
    from activities.http import WebhookPoster
    from activities.kb import KbActivities
    from activities.notify import NotifyActivities
    from activities.policy_store import PolicyStoreActivities, SimulationActivities
    from activities.quality import QualityActivities
    from activities.routing import RoutingActivities
    from activities.smtp import SmtpSender
    from core.report_store import ReportStore
    from core.report_store.writer import GroupWriter

    poster = WebhookPoster(settings.webhook_secrets(), settings.http_timeout_s)
    smtp = SmtpSender(settings)
    if resources is not None:
        resources.push_async_callback(poster.aclose)
        resources.push_async_callback(smtp.aclose)
    notify = NotifyActivities(settings, poster, smtp)
    kb = KbActivities(settings)
    routing = RoutingActivities(settings, client)
    crm = CrmActivities(settings, poster)
    store = ReportStore(settings.report_url)  # migrated here, at the worker's start
    if resources is not None:
        resources.callback(store.close)
    write_facts: Callable[[CaseFacts], Awaitable[None]] | None = None
    if settings.report_facts:  # one transaction for the facts of every waiting dispatch
        write_facts = GroupWriter(store).write
    return [
        notify.deliver,
        kb.search_knowledge_base,
        routing.route_specialist,
        routing.find_people,
        crm.sync_crm,
        make_dispatch(notify.deliver, crm.sync_crm, write_facts),
        DigestActivities(store).weekly_digest_text,
        HistoryActivities(store).customer_history,
        PolicyStoreActivities(store).move_policy_version,
        SimulationActivities(store).simulate_policy,
        QualityActivities().read_text,
    ]
