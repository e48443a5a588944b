"""The weekly digest for the escalated-accounts manager: started each Monday 08:00 in the help
line's time zone by a Temporal schedule (worker/schedules.py). It asks the report store for the
week just ended against the week before (activity `weekly_digest_text`), finds the managers
(`find_people`) and e-mails each of them through `deliver`, with one idempotency key per week and
person, so a retried run sends nothing twice."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from workflows.digest_week import DigestInput, DigestText, weeks_before
    from workflows.messages import Delivery, PeopleQuery, PeopleResult


@workflow.defn
class WeeklyDigestWorkflow:
    @workflow.run
    async def run(self, inp: DigestInput) -> int:
        """Returns how many managers were sent the digest."""
        week = weeks_before(workflow.now(), inp.timezone)
        retry = RetryPolicy(maximum_attempts=5)
        text: DigestText = await workflow.execute_activity(
            "weekly_digest_text",
            week,
            result_type=DigestText,
            start_to_close_timeout=timedelta(minutes=2),
            retry_policy=retry,
            summary="this week against the last, from the report store",
        )
        found: PeopleResult = await workflow.execute_activity(
            "find_people",
            PeopleQuery(roles=["manager"]),
            result_type=PeopleResult,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=retry,
            summary="the escalated-accounts managers",
        )
        sent = 0
        for person in found.people:
            if not person.email:
                continue
            await workflow.execute_activity(
                "deliver",
                Delivery(
                    escalation_id=f"digest-{week.since.date().isoformat()}",
                    event="weekly_digest",
                    channel="email",
                    address=person.email,
                    recipient_name=person.name,
                    subject=text.subject,
                    body=text.body,
                    idempotency_key=f"weekly-digest:{week.since.date().isoformat()}:{person.id}",
                ),
                start_to_close_timeout=timedelta(minutes=1),
                retry_policy=retry,
                summary=f"digest to {person.name}",
            )
            sent += 1
        return sent
