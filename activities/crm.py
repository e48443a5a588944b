"""CRM / ticket sync (activity ``sync_crm``): POST each escalation event to the CRM webhook.

The body is the :class:`CrmEvent` as JSON, signed and keyed exactly like the notification
webhooks (:mod:`activities.http`), so the CRM can verify it and drop a retried duplicate.
No ``crm_webhook_url`` configured: a debug line and nothing else (the sync is optional).
Network errors, 5xx, 408 and 429 are retryable; other 4xx are non-retryable ``Rejected`` (the same
request can never succeed). The workflow runs this in the background with a bounded retry
policy, so a failing CRM never blocks a case.
"""

from __future__ import annotations

from temporalio import activity

from activities.http import WebhookPoster, idempotency_key
from activities.logging import activity_context, safe_host
from core.settings import Settings
from workflows.messages import CrmEvent


class CrmActivities:
    def __init__(self, settings: Settings, poster: WebhookPoster | None = None) -> None:
        self.settings = settings
        self.poster = poster or WebhookPoster(settings.webhook_secrets(), settings.http_timeout_s)

    @activity.defn(name="sync_crm")
    async def sync_crm(self, event: CrmEvent) -> None:
        with activity_context(escalation_id=event.escalation_id, crm_event=event.event) as log:
            url = self.settings.crm_webhook_url
            if not url:
                log.debug("crm_sync_skipped", reason="no crm_webhook_url")
                return
            status = await self.poster.post(
                url,
                event.model_dump(mode="json", exclude={"idempotency_key"}),
                key=event.idempotency_key or idempotency_key(),
                escalation_id=event.escalation_id,
                event=event.event,
                what="crm",
                gateway="crm",
            )
            log.info("crm_synced", host=safe_host(url), status=status)
