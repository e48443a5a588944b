"""Notifications: one message, on one channel, to one address (activity ``deliver``).

Channel rules (the workflow picks the channel and falls back to the next one itself):

- ``email`` -> SMTP (``settings.smtp_*``) with aiosmtplib, on a reused connection when one is
  idle (:mod:`activities.smtp`). ``Message-ID`` is derived from the
  idempotency key (``<sha256(key)[:32]@escalations>``) and the key is also sent as
  ``X-Idempotency-Key``. SMTP has no idempotency of its own: if a worker dies after the server
  accepted the message but before the activity completed, the retry sends it again with the same
  Message-ID, which mail stores and clients use to drop the duplicate.
- ``sms``, ``phone``, ``social`` -> signed JSON POST to ``webhook_sms_url``, ``webhook_phone_url``,
  ``webhook_social_url``.
- ``chat`` -> by the delivery's ``audience`` (set by the workflow): staff messages to
  ``webhook_staff_url`` (the internal staff chat tool), customer messages to ``webhook_chat_url``
  (the customer chat platform), whatever the address looks like; one whose gateway is not
  configured is ``ChannelUnavailable`` (never the other audience's gateway). A delivery without
  an audience (scheduled before the field existed) keeps the old rule: an ``@`` handle is staff.

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
import re
from datetime import UTC, datetime
from email.charset import QP, Charset
from email.header import Header
from email.mime.text import MIMEText
from email.utils import formataddr, formatdate

import aiosmtplib
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.http import WebhookPoster, idempotency_key
from activities.logging import activity_context, redact_address, safe_host
from activities.relay_probe import RelayProbe, RelayProbes
from activities.smtp import SmtpSender
from core.feedback import LINK_PLACEHOLDER, FeedbackLinks
from core.settings import Settings
from core.status_links import StatusLinks
from workflows.messages import Delivery, DeliveryReceipt

MAX_SUBJECT = 200
_UTF8 = Charset("utf-8")  # quoted-printable bodies and headers: readable where they are ASCII
_UTF8.body_encoding = _UTF8.header_encoding = QP


def message_id(key: str) -> str:
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@escalations>"


def _one_line(text: str, limit: int) -> str:
    """Header-safe: no CR/LF (header injection), bounded length."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


# local@domain in printable ASCII with nothing a header or an SMTP command could be split on.
# Internationalised addresses (SMTPUTF8) are refused: the workflow moves to the next channel.
_ADDRESS = re.compile(r"[!-~]+@[!-~]+")
_SPECIALS = frozenset('<>()[],;:"\\@')


class BadAddress(ValueError):
    """The delivery's address cannot be written into an e-mail header (message says why)."""


def _header(text: str) -> str | Header:
    return text if text.isascii() else Header(text, _UTF8)


def build_email(d: Delivery, sender: str, mid: str, key: str) -> MIMEText:
    """The message for `d` (a plain-text part). Built with the ``compat32`` classes, which
    take header values as given: the ``EmailMessage`` API parses every header it is handed,
    which costs many times the CPU per message (bench/README.md). Every value is made
    header-safe first (one line, bounded), and non-ASCII text is RFC 2047-encoded."""
    address = d.address.strip()
    local, _, domain = address.rpartition("@")
    if not _ADDRESS.fullmatch(address) or _SPECIALS & set(local + domain):
        raise BadAddress("not a printable ASCII local@domain address")
    name = _one_line(d.recipient_name, 100)
    # typeshed takes only str for the charset and header values; compat32 takes a Charset (the
    # quoted-printable body) and Header objects (RFC 2047) as well.
    msg = MIMEText(d.body, "plain", _UTF8)  # type: ignore[arg-type]
    msg["From"] = sender
    msg["To"] = formataddr((name, address), charset=_UTF8)
    msg["Subject"] = _header(_one_line(d.subject, MAX_SUBJECT))  # type: ignore[assignment]
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = mid
    msg["X-Idempotency-Key"] = key
    msg["X-Escalation-Id"] = _one_line(d.escalation_id, 128)
    if d.urgent:
        msg["Importance"] = "high"
        msg["X-Priority"] = "1"
    return msg


def with_feedback_link(d: Delivery, links: FeedbackLinks) -> Delivery:
    """A check-in's body with its signed feedback link in place of `{feedback_link}` (signed
    here: the secret never enters the workflow or its history)."""
    if d.feedback is None:
        return d
    url = links.url(d.escalation_id, d.feedback.key, d.feedback.expires_at)
    return d.model_copy(update={"body": d.body.replace(LINK_PLACEHOLDER, url)})


STATUS_LINE = "Where your case stands, and to add anything: {url}"


def with_status_link(d: Delivery, links: StatusLinks, sent_at: datetime) -> Delivery:
    """A customer's message with the signed link to their case's status page (every customer
    message carries one; staff messages never)."""
    if d.audience != "customer":
        return d
    line = STATUS_LINE.format(url=links.url(d.escalation_id, sent_at))
    return d.model_copy(update={"body": f"{d.body.rstrip()}\n\n{line}\n"})


def _scheduled_at() -> datetime:
    """When the workflow asked for this delivery: the same on every retry, so a resent message
    carries the same link."""
    try:
        return activity.info().scheduled_time
    except RuntimeError:  # called outside an activity (a test)
        return datetime.now(UTC)


class NotifyActivities:
    def __init__(
        self,
        settings: Settings,
        poster: WebhookPoster | None = None,
        smtp: SmtpSender | None = None,
        probes: RelayProbes | None = None,
    ) -> None:
        self.settings = settings
        self.probes = probes or RelayProbes()
        self.poster = poster or WebhookPoster(settings.webhook_secrets(), settings.http_timeout_s)
        self.smtp = smtp or SmtpSender(settings)
        self.links = FeedbackLinks.from_settings(settings)
        self.status_links = StatusLinks.from_settings(settings)

    def gateway(self, d: Delivery) -> str:
        """Which gateway a non-email delivery goes to (its signing secret is that gateway's)."""
        if d.channel != "chat":
            return d.channel
        if d.audience is None:  # scheduled before deliveries carried their audience
            legacy_staff = d.address.startswith("@") and self.settings.webhook_staff_url
            return "staff" if legacy_staff else "chat"
        return "staff" if d.audience == "staff" else "chat"

    def webhook_url(self, d: Delivery) -> str | None:
        """The gateway URL for a non-email delivery (None: channel not configured)."""
        s = self.settings
        return {
            "sms": s.webhook_sms_url,
            "phone": s.webhook_phone_url,
            "social": s.webhook_social_url,
            "chat": s.webhook_chat_url,
            "staff": s.webhook_staff_url,
        }.get(self.gateway(d))

    @activity.defn(name="deliver")
    async def deliver(self, d: Delivery) -> DeliveryReceipt:
        d = with_status_link(with_feedback_link(d, self.links), self.status_links, _scheduled_at())
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
            detail = await self._send_when_up(d, key, log)
            log.info("delivered", to=redact_address(d.address), detail=detail)
            return DeliveryReceipt(channel=d.channel, idempotency_key=key, detail=detail)

    def _probe(self, d: Delivery) -> RelayProbe | None:
        if d.channel == "email":
            s = self.settings
            return self.probes.get(s.smtp_host, s.smtp_port) if s.smtp_host else None
        url = self.webhook_url(d)
        return self.probes.for_url(url) if url else None

    async def _send_when_up(self, d: Delivery, key: str, log) -> str:
        """Send; while the relay or gateway is down and the workflow lets us wait
        (`wait_for_relay_s`), wait for its worker's probe and send again as soon as it answers."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + d.wait_for_relay_s
        while True:
            try:
                if d.channel == "email":
                    return await self._email(d, key, log)
                return await self._webhook(d, key, log)
            except ApplicationError as e:
                left = deadline - loop.time()
                probe = None if e.non_retryable or left <= 0 else self._probe(d)
                if probe is None:
                    raise
                log.info("waiting_for_relay", host=probe.host, up_to_s=round(left))
                if not await probe.wait_up(left, activity.heartbeat):
                    raise

    async def _email(self, d: Delivery, key: str, log) -> str:
        s = self.settings
        if not s.smtp_host:
            raise ApplicationError(
                "no SMTP server configured", type="ChannelUnavailable", non_retryable=True
            )
        mid = message_id(key)
        try:
            msg = build_email(d, s.smtp_from, mid, key)
        except (ValueError, TypeError) as e:  # e.g. an address no header can carry
            why = str(e) if isinstance(e, BadAddress) else type(e).__name__
            raise ApplicationError(
                f"cannot build an e-mail for this address: {why}",
                type="Rejected",
                non_retryable=True,
            ) from e
        try:
            await self.smtp.send(msg)
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
        status = await self.poster.post(
            url,
            payload,
            key=key,
            escalation_id=d.escalation_id,
            event=d.event,
            what=f"{d.channel} gateway",
            gateway=self.gateway(d),
        )
        return f"{d.channel} gateway {safe_host(url)} answered {status}"
