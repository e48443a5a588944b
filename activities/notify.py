"""Notifications: one message, on one channel, to one address (activity ``deliver``).

Channel rules (the workflow picks the channel and falls back to the next one itself):

- ``email`` -> SMTP (``settings.smtp_*``) with aiosmtplib. ``Message-ID`` is derived from the
  idempotency key (``<sha256(key)[:32]@escalations>``) and the key is also sent as
  ``X-Idempotency-Key``. SMTP has no idempotency of its own: if a worker dies after the server
  accepted the message but before the activity completed, the retry sends it again with the same
  Message-ID, which mail stores and clients use to drop the duplicate.
- ``sms``, ``phone``, ``social`` -> signed JSON POST to ``webhook_sms_url``, ``webhook_phone_url``,
  ``webhook_social_url``.
- ``chat`` -> if the address is a staff handle (starts with ``@``) and ``webhook_staff_url`` is set,
  that URL (the internal staff chat tool); otherwise ``webhook_chat_url`` (the customer chat
  platform). A staff handle with no staff URL goes to ``webhook_chat_url`` too.

The webhook JSON body is ``{"escalation_id", "event", "channel", "to", "recipient_name",
"subject", "body", "urgent"}``, signed and keyed as described in :mod:`activities.http`.

Failures, as the workflow expects them:

- no gateway configured for the channel, or no address -> non-retryable ``ApplicationError``
  type ``ChannelUnavailable`` (the workflow moves to the next channel at once);
- the gateway refuses the message for good (HTTP 4xx other than 408/429, SMTP 5xx) ->
  non-retryable type ``Rejected``;
- anything transient (network, timeouts, HTTP 5xx/408/429, SMTP 4xx) -> a retryable error, left
  to the activity's retry policy.

Nothing here logs a message body, a full address, a URL path or a secret.
"""

from __future__ import annotations

import asyncio
import hashlib
import socket
from email.message import EmailMessage
from email.utils import formataddr, formatdate

import aiosmtplib
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.http import WebhookPoster, idempotency_key
from activities.logging import activity_context, redact_address, safe_host
from core.settings import Settings
from workflows.models import Delivery, DeliveryReceipt

MAX_SUBJECT = 200


def message_id(key: str) -> str:
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@escalations>"


def _one_line(text: str, limit: int) -> str:
    """Header-safe: no CR/LF (header injection), bounded length."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


class NotifyActivities:
    def __init__(self, settings: Settings, poster: WebhookPoster | None = None) -> None:
        self.settings = settings
        self._ehlo_name: str | None = None
        self.poster = poster or WebhookPoster(
            settings.webhook_secret.get_secret_value(), settings.http_timeout_s
        )

    def webhook_url(self, d: Delivery) -> str | None:
        """The gateway URL for a non-email delivery (None: channel not configured)."""
        s = self.settings
        if d.channel == "chat":
            if d.address.startswith("@") and s.webhook_staff_url:
                return s.webhook_staff_url
            return s.webhook_chat_url
        return {
            "sms": s.webhook_sms_url,
            "phone": s.webhook_phone_url,
            "social": s.webhook_social_url,
        }.get(d.channel)

    @activity.defn(name="deliver")
    async def deliver(self, d: Delivery) -> DeliveryReceipt:
        key = d.idempotency_key or idempotency_key()
        with activity_context(
            escalation_id=d.escalation_id, notification=d.event, channel=d.channel
        ) as log:
            if not d.address.strip():
                log.info("delivery_channel_unavailable", reason="no_address")
                raise ApplicationError(
                    f"no {d.channel} address for {d.recipient_name}",
                    type="ChannelUnavailable",
                    non_retryable=True,
                )
            if d.channel == "email":
                detail = await self._email(d, key, log)
            else:
                detail = await self._webhook(d, key, log)
            log.info("delivered", to=redact_address(d.address))
            return DeliveryReceipt(channel=d.channel, idempotency_key=key, detail=detail)

    async def _local_hostname(self) -> str:
        """The name this worker gives in EHLO, looked up once: aiosmtplib would otherwise ask the
        resolver for it (socket.getfqdn, in a thread) on every message."""
        if self._ehlo_name is None:
            self._ehlo_name = await asyncio.to_thread(socket.getfqdn)
        return self._ehlo_name

    async def _email(self, d: Delivery, key: str, log) -> str:
        s = self.settings
        if not s.smtp_host:
            raise ApplicationError(
                "no SMTP server configured", type="ChannelUnavailable", non_retryable=True
            )
        mid = message_id(key)
        try:
            msg = EmailMessage()
            msg["From"] = s.smtp_from
            msg["To"] = formataddr((_one_line(d.recipient_name, 100), d.address.strip()))
            msg["Subject"] = _one_line(d.subject, MAX_SUBJECT)
            msg["Date"] = formatdate(localtime=False)
            msg["Message-ID"] = mid
            msg["X-Idempotency-Key"] = key
            msg["X-Escalation-Id"] = _one_line(d.escalation_id, 128)
            if d.urgent:
                msg["Importance"] = "high"
                msg["X-Priority"] = "1"
            msg.set_content(d.body)
        except (ValueError, TypeError) as e:  # e.g. an address no header can carry
            raise ApplicationError(
                f"cannot build an e-mail for this address: {type(e).__name__}",
                type="Rejected",
                non_retryable=True,
            ) from e
        try:
            await aiosmtplib.send(
                msg,
                local_hostname=await self._local_hostname(),
                hostname=s.smtp_host,
                port=s.smtp_port,
                username=s.smtp_username,
                password=s.smtp_password.get_secret_value() if s.smtp_password else None,
                use_tls=s.smtp_use_tls,
                start_tls=s.smtp_starttls,
                timeout=s.http_timeout_s,
            )
        except aiosmtplib.SMTPRecipientsRefused as e:
            codes = [r.code for r in e.recipients]
            log.warning("smtp_recipient_refused", codes=codes, to=redact_address(d.address))
            if codes and all(400 <= c < 500 for c in codes):
                raise ApplicationError(
                    f"SMTP recipient temporarily refused ({codes})", type="SmtpUnavailable"
                ) from e
            raise ApplicationError(
                f"SMTP recipient refused ({codes})", type="Rejected", non_retryable=True
            ) from e
        except aiosmtplib.SMTPResponseException as e:
            log.warning("smtp_error", code=e.code, error=type(e).__name__)
            if 400 <= e.code < 500:
                raise ApplicationError(
                    f"SMTP transient failure {e.code}", type="SmtpUnavailable"
                ) from e
            raise ApplicationError(
                f"SMTP refused the message ({e.code})", type="Rejected", non_retryable=True
            ) from e
        except (aiosmtplib.SMTPException, OSError) as e:
            # connect errors, disconnects, timeouts, TLS negotiation: all worth another try
            log.warning("smtp_unreachable", host=s.smtp_host, error=type(e).__name__)
            raise ApplicationError(
                f"SMTP server {s.smtp_host}:{s.smtp_port} unavailable: {type(e).__name__}",
                type="SmtpUnavailable",
            ) from e
        return f"smtp {s.smtp_host} message-id {mid}"

    async def _webhook(self, d: Delivery, key: str, log) -> str:
        url = self.webhook_url(d)
        if not url:
            log.info("delivery_channel_unavailable", reason="no_gateway")
            raise ApplicationError(
                f"no gateway configured for channel {d.channel}",
                type="ChannelUnavailable",
                non_retryable=True,
            )
        payload = {
            "escalation_id": d.escalation_id,
            "event": d.event,
            "channel": d.channel,
            "to": d.address,
            "recipient_name": d.recipient_name,
            "subject": d.subject,
            "body": d.body,
            "urgent": d.urgent,
        }
        resp = await self.poster.post(
            url, payload, key=key, escalation_id=d.escalation_id, event=d.event,
            what=f"{d.channel} gateway",
        )
        return f"{d.channel} gateway {safe_host(url)} answered {resp.status_code}"
