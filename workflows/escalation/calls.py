"""Every activity the escalation calls, with its timeouts, retries and summary: typed references
to the worker's activities (tests register fakes under the same names).

Local activities (directory, routing, knowledge base) give up after two minutes so that their
callers' fallbacks run (route to the manager, no KB matches, nobody found) and the stage settles.
A failed local activity raises the failure itself (ApplicationError, TimeoutError), not an
ActivityError around it: callers catch FailureError.
"""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.crm import CrmActivities
    from activities.dispatch import Dispatcher
    from activities.kb import KbActivities
    from activities.notify import NotifyActivities
    from activities.quality import QualityActivities
    from activities.routing import RoutingActivities
    from workflows.messages import (
        CrmEvent,
        CustomerHistory,
        CustomerHistoryQuery,
        Delivery,
        DeliveryReceipt,
        Dispatch,
        DispatchResult,
        KbQuery,
        KbResult,
        PeopleQuery,
        PeopleResult,
        RouteResult,
        TextToRead,
    )
    from workflows.models import TextReading
    from workflows.policy import RouteRequest

LOCAL_START_TO_CLOSE = timedelta(seconds=20)
LOCAL_SCHEDULE_TO_CLOSE = timedelta(minutes=2)
LOCAL_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30)
)
DELIVERY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_attempts=3,
    non_retryable_error_types=["ChannelUnavailable", "Rejected"],
)
CRM_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    maximum_interval=timedelta(minutes=5),
    maximum_attempts=12,
    non_retryable_error_types=["Rejected"],
)


async def find_people(q: PeopleQuery) -> PeopleResult:
    return await workflow.execute_local_activity_method(
        RoutingActivities.find_people,
        q,
        summary=f"find {'/'.join(q.roles)}",
        start_to_close_timeout=LOCAL_START_TO_CLOSE,
        schedule_to_close_timeout=LOCAL_SCHEDULE_TO_CLOSE,
        retry_policy=LOCAL_RETRY,
    )


async def route_specialist(r: RouteRequest) -> RouteResult:
    return await workflow.execute_local_activity_method(
        RoutingActivities.route_specialist,
        r,
        summary="route to a specialist",
        start_to_close_timeout=LOCAL_START_TO_CLOSE,
        schedule_to_close_timeout=LOCAL_SCHEDULE_TO_CLOSE,
        retry_policy=LOCAL_RETRY,
    )


async def search_knowledge_base(q: KbQuery) -> KbResult:
    return await workflow.execute_local_activity_method(
        KbActivities.search_knowledge_base,
        q,
        summary="knowledge-base lookup",
        start_to_close_timeout=LOCAL_START_TO_CLOSE,
        schedule_to_close_timeout=LOCAL_SCHEDULE_TO_CLOSE,
        retry_policy=LOCAL_RETRY,
    )


# The report store's read of a customer's past year (activities: issue 24's report store). A
# regular activity, not a local one: a worker without it then fails the call at once
# (NotFoundError, not retried) and the case goes on without the history
# (workflows/escalation/goodwill.py), where a local activity would fail the workflow task.
CUSTOMER_HISTORY = "customer_history"
HISTORY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(seconds=10),
    non_retryable_error_types=["NotFoundError"],
)


# The text analysis (activities/quality.py): a regular activity for the same reason. A reading
# takes milliseconds; a worker's first loads the models (seconds, longer when it trains them: a
# retry then finds them loaded). A worker killed mid-reading holds it until the timeout.
READ_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=5,
    non_retryable_error_types=["NotFoundError"],
)


async def read_text(t: TextToRead) -> TextReading:
    return await workflow.execute_activity_method(
        QualityActivities.read_text,
        t,
        summary="reading the customer's words",
        start_to_close_timeout=timedelta(seconds=20),
        schedule_to_close_timeout=timedelta(minutes=5),
        retry_policy=READ_RETRY,
    )


async def customer_history(q: CustomerHistoryQuery) -> CustomerHistory:
    return await workflow.execute_activity(
        CUSTOMER_HISTORY,
        q,
        result_type=CustomerHistory,
        summary="customer's past year",
        start_to_close_timeout=timedelta(seconds=10),
        schedule_to_close_timeout=timedelta(seconds=30),
        retry_policy=HISTORY_RETRY,
    )


async def deliver(d: Delivery, summary: str) -> DeliveryReceipt:
    return await workflow.execute_activity_method(
        NotifyActivities.deliver,
        d,
        start_to_close_timeout=timedelta(seconds=30),
        retry_policy=DELIVERY_RETRY,
        summary=summary,
    )


async def deliver_once(d: Delivery, summary: str) -> DeliveryReceipt:
    """One try, while a relay or gateway is down: the caller waits on a durable timer between."""
    return await workflow.execute_activity_method(
        NotifyActivities.deliver,
        d,
        start_to_close_timeout=timedelta(seconds=30),
        retry_policy=RetryPolicy(maximum_attempts=1),
        summary=summary,
    )


async def deliver_when_up(d: Delivery, summary: str) -> DeliveryReceipt:
    """One try that waits, inside the activity, up to `d.wait_for_relay_s` for the relay or
    gateway to answer again (its worker probes it), so the message goes as soon as it is back."""
    return await workflow.execute_activity_method(
        NotifyActivities.deliver,
        d,
        start_to_close_timeout=timedelta(seconds=d.wait_for_relay_s + 60),
        heartbeat_timeout=timedelta(seconds=30),
        retry_policy=RetryPolicy(maximum_attempts=1),
        summary=summary,
    )


async def sync_crm(event: CrmEvent) -> None:
    # A regular (not local) activity: a slow or failing CRM must not hold up the workflow task.
    await workflow.execute_activity_method(
        CrmActivities.sync_crm,
        event,
        start_to_close_timeout=timedelta(seconds=15),
        retry_policy=CRM_RETRY,
        summary=f"CRM sync: {event.stage}",
    )


def start_dispatch(batch: Dispatch, summary: str) -> Awaitable[DispatchResult]:
    """One try: an item that meets a transient failure is sent on alone, with its retries."""
    return workflow.start_activity_method(
        Dispatcher.dispatch,
        batch,
        start_to_close_timeout=timedelta(seconds=30),
        retry_policy=RetryPolicy(maximum_attempts=1),
        summary=summary if len(summary) <= 200 else summary[:199] + "…",
    )
