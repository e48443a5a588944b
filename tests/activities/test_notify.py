"""`deliver` through a real Temporal worker against a real SMTP server and webhook receiver."""

from __future__ import annotations

import json
import time
import uuid
from datetime import timedelta
from email import message_from_bytes
from email import policy as email_policy

import pytest
import structlog
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ActivityError, ApplicationError, RetryState
from temporalio.testing import ActivityEnvironment

from activities.http import sign
from activities.logging import activity_context, redact_address
from activities.notify import NotifyActivities, message_id
from tests.activities.conftest import SECRET, make_settings
from tests.activities.workflows_for_tests import DeliverOnce
from tests.conftest import run_worker
from workflows.messages import Delivery, DeliveryReceipt


def delivery(channel="sms", address="+44 7700 900123", **kw) -> Delivery:
    values = dict(
        escalation_id="E-1",
        event="opened",
        channel=channel,
        address=address,
        recipient_name="Ada Lovelace",
        subject="Your case E-1",
        body="We have escalated your case E-1 (secret-body-marker).",
    )
    values.update(kw)
    return Delivery(**values)


async def run_deliver(client, notify: NotifyActivities, d: Delivery):
    async with run_worker(client, [DeliverOnce], [notify.deliver]) as tq:
        handle = await client.start_workflow(
            DeliverOnce.run, d, id=f"deliver-{uuid.uuid4()}", task_queue=tq
        )
        try:
            return handle, await handle.result()
        except WorkflowFailureError as e:
            return handle, e


async def started_attempts(handle) -> list[int]:
    history = await handle.fetch_history()
    return [
        ev.activity_task_started_event_attributes.attempt
        for ev in history.events
        if ev.HasField("activity_task_started_event_attributes")
    ]


def failure(err) -> ApplicationError:
    assert isinstance(err, WorkflowFailureError), err
    assert isinstance(err.cause, ActivityError)
    assert isinstance(err.cause.cause, ApplicationError)
    return err.cause.cause


async def test_email_over_real_smtp(dev_env, smtp, tmp_path):
    handler, port = smtp
    notify = NotifyActivities(make_settings(tmp_path, smtp_port=port))
    handle, receipt = await run_deliver(
        dev_env.client, notify, delivery("email", "ada@example.com", urgent=True)
    )
    assert isinstance(receipt, DeliveryReceipt)
    run_id = handle.result_run_id
    assert receipt.channel == "email"
    assert receipt.idempotency_key == f"{run_id}:1"
    [mail] = handler.mails
    assert mail.rcpt_tos == ["ada@example.com"]
    assert mail.mail_from == "escalations@test.invalid"
    assert mail.message["Subject"] == "Your case E-1"
    assert mail.message["Message-ID"] == message_id(receipt.idempotency_key)
    assert mail.message["X-Idempotency-Key"] == receipt.idempotency_key
    assert mail.message["X-Priority"] == "1"
    assert "secret-body-marker" in mail.message.get_payload(decode=True).decode()


def sessions(handler) -> int:
    return len({id(s) for s in handler.sessions})


async def test_email_reuses_its_connection_and_replaces_one_the_server_dropped(
    smtp_dropping_idle, tmp_path
):
    handler, port = smtp_dropping_idle
    notify = NotifyActivities(make_settings(tmp_path, smtp_port=port))
    for n in range(3):
        await ActivityEnvironment().run(notify.deliver, delivery("email", f"c{n}@example.com"))
    assert len(handler.mails) == 3 and sessions(handler) == 1

    time.sleep(1.0)  # blocking: the server drops the idle connection, unnoticed by this loop
    with structlog.testing.capture_logs() as logs:
        await ActivityEnvironment().run(notify.deliver, delivery("email", "late@example.com"))
    assert handler.mails[-1].rcpt_tos == ["late@example.com"]
    assert len(handler.mails) == 4 and sessions(handler) == 2
    assert [e["reason"] for e in logs if e["event"] == "smtp_reconnecting"] == [
        "SMTPServerDisconnected"
    ]


async def test_email_without_keepalive_opens_a_connection_per_message(smtp, tmp_path):
    handler, port = smtp
    notify = NotifyActivities(make_settings(tmp_path, smtp_port=port, smtp_keepalive_connections=0))
    for n in range(2):
        await ActivityEnvironment().run(notify.deliver, delivery("email", f"c{n}@example.com"))
    assert len(handler.mails) == 2 and sessions(handler) == 2
    assert notify.smtp.connections_opened == 2


async def test_email_headers_carry_non_ascii_text_and_refuse_an_injected_address(smtp, tmp_path):
    handler, port = smtp
    notify = NotifyActivities(make_settings(tmp_path, smtp_port=port))
    await ActivityEnvironment().run(
        notify.deliver,
        delivery(
            "email",
            "zoe@example.com",
            recipient_name="Zoë Ünal, Kundin",
            subject="Ihr Fall E-1 – eskaliert",
            body="Grüße\nzweite Zeile = zwei",
        ),
    )
    [mail] = handler.mails
    parsed = message_from_bytes(mail.message.as_bytes(), policy=email_policy.default)
    assert parsed["To"].addresses[0].display_name == "Zoë Ünal, Kundin"
    assert parsed["To"].addresses[0].addr_spec == "zoe@example.com"
    assert parsed["Subject"] == "Ihr Fall E-1 – eskaliert"
    assert parsed.get_content() == "Grüße\nzweite Zeile = zwei\n"

    for address in (
        "ada@example.com\r\nBcc: all@example.com",
        "Ada <ada@example.com>",
        "zoë@example.com",
        "no-at-sign",
    ):
        with pytest.raises(ApplicationError) as e:
            await ActivityEnvironment().run(notify.deliver, delivery("email", address))
        assert e.value.type == "Rejected" and e.value.non_retryable, address
        assert "not a printable ASCII local@domain address" in str(e.value)
    assert len(handler.mails) == 1


async def test_email_transient_smtp_refusal_is_retried(dev_env, smtp, tmp_path):
    handler, port = smtp
    handler.temp_fail["ada@example.com"] = 2
    notify = NotifyActivities(make_settings(tmp_path, smtp_port=port))
    d = delivery("email", "ada@example.com")
    handle, receipt = await run_deliver(dev_env.client, notify, d)
    assert isinstance(receipt, DeliveryReceipt)
    assert handler.rcpt_attempts["ada@example.com"] == 3
    assert len(handler.mails) == 1
    assert await started_attempts(handle) == [3]


async def test_email_permanent_smtp_refusal_is_not_retried(dev_env, smtp, tmp_path):
    handler, port = smtp
    handler.perm_fail.add("nobody@example.com")
    notify = NotifyActivities(make_settings(tmp_path, smtp_port=port))
    handle, err = await run_deliver(dev_env.client, notify, delivery("email", "nobody@example.com"))
    app = failure(err)
    assert app.type == "Rejected" and app.non_retryable
    assert handler.rcpt_attempts["nobody@example.com"] == 1


async def test_webhook_is_signed_and_keyed(dev_env, webhooks, tmp_path):
    notify = NotifyActivities(make_settings(tmp_path, webhook_sms_url=webhooks.url("/sms")))
    handle, receipt = await run_deliver(dev_env.client, notify, delivery("sms"))
    assert isinstance(receipt, DeliveryReceipt)
    [req] = webhooks.requests
    assert req.signature_ok
    t = int(req.headers["x-signature"].split(",")[0].removeprefix("t="))
    assert abs(t - time.time()) < 60
    assert req.headers["x-signature"] == sign(req.body, SECRET, t)
    assert req.path == "/sms"
    assert req.headers["idempotency-key"] == receipt.idempotency_key == f"{handle.result_run_id}:1"
    assert req.headers["x-escalation-id"] == "E-1"
    assert req.json() == {
        "escalation_id": "E-1",
        "event": "opened",
        "channel": "sms",
        "to": "+44 7700 900123",
        "recipient_name": "Ada Lovelace",
        "subject": "Your case E-1",
        "body": "We have escalated your case E-1 (secret-body-marker).",
        "urgent": False,
    }


async def test_webhook_503_twice_then_accepted_once_with_one_key(dev_env, webhooks, tmp_path):
    webhooks.fail_first = 2
    notify = NotifyActivities(make_settings(tmp_path, webhook_chat_url=webhooks.url("/chat")))
    handle, receipt = await run_deliver(dev_env.client, notify, delivery("chat", "cust-77"))
    assert isinstance(receipt, DeliveryReceipt)
    assert [r.status for r in webhooks.requests] == [503, 503, 200]
    assert len(webhooks.accepted) == 1
    assert webhooks.keys == {receipt.idempotency_key: 3}  # same key on all three attempts
    assert all(r.signature_ok for r in webhooks.requests)
    assert await started_attempts(handle) == [3]


async def test_unconfigured_channel_fails_at_once(dev_env, webhooks, tmp_path):
    notify = NotifyActivities(make_settings(tmp_path, webhook_sms_url=webhooks.url()))
    handle, err = await run_deliver(dev_env.client, notify, delivery("social", "@ada_tweets"))
    app = failure(err)
    assert app.type == "ChannelUnavailable"
    assert app.non_retryable
    assert err.cause.retry_state == RetryState.NON_RETRYABLE_FAILURE
    assert await started_attempts(handle) == [1]
    assert webhooks.requests == []


async def test_webhook_4xx_is_rejected_without_retry(dev_env, webhooks, tmp_path):
    webhooks.status = 400
    notify = NotifyActivities(make_settings(tmp_path, webhook_phone_url=webhooks.url()))
    handle, err = await run_deliver(dev_env.client, notify, delivery("phone"))
    app = failure(err)
    assert app.type == "Rejected" and app.non_retryable
    assert len(webhooks.requests) == 1


@pytest.mark.parametrize("status", [429, 408, 500])
async def test_throttling_and_server_errors_are_retried(dev_env, webhooks, tmp_path, status):
    webhooks.fail_first, webhooks.fail_status = 1, status
    notify = NotifyActivities(make_settings(tmp_path, webhook_sms_url=webhooks.url()))
    handle, receipt = await run_deliver(dev_env.client, notify, delivery("sms"))
    assert isinstance(receipt, DeliveryReceipt)
    assert [r.status for r in webhooks.requests] == [status, 200]
    assert len(webhooks.accepted) == 1


@pytest.mark.parametrize(("header", "delay"), [("7", 7), ("86400", 300), ("soon", None)])
async def test_retry_after_is_honoured_and_capped(webhooks, tmp_path, header, delay):
    webhooks.status, webhooks.retry_after = 429, header
    notify = NotifyActivities(make_settings(tmp_path, webhook_sms_url=webhooks.url()))
    with pytest.raises(ApplicationError) as e:
        await ActivityEnvironment().run(notify.deliver, delivery("sms"))
    assert e.value.type == "WebhookUnavailable" and not e.value.non_retryable
    expected = timedelta(seconds=delay) if delay is not None else None
    assert e.value.next_retry_delay == expected


async def test_unreachable_gateway_is_retryable(tmp_path):
    from tests.activities.conftest import free_port

    url = f"http://127.0.0.1:{free_port()}/down"  # nothing listens there
    notify = NotifyActivities(make_settings(tmp_path, webhook_sms_url=url))
    with pytest.raises(ApplicationError) as e:
        await ActivityEnvironment().run(notify.deliver, delivery("sms"))
    assert e.value.type == "WebhookUnavailable" and not e.value.non_retryable


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/sms", "http://", "http://[::1/sms"])
async def test_a_webhook_url_no_request_can_reach_is_rejected(tmp_path, url):
    notify = NotifyActivities(make_settings(tmp_path, webhook_sms_url=url))
    with pytest.raises(ApplicationError) as e:
        await ActivityEnvironment().run(notify.deliver, delivery("sms"))
    assert e.value.type == "Rejected" and e.value.non_retryable


@pytest.mark.parametrize("bypass", [False, True])
async def test_webhooks_go_through_the_environments_proxy(webhooks, tmp_path, monkeypatch, bypass):
    from activities.http import proxy_for

    monkeypatch.setenv("HTTP_PROXY", webhooks.url(""))  # the receiver stands in for the proxy
    monkeypatch.setenv("NO_PROXY", "gateway.invalid" if bypass else "localhost")
    proxy_for.cache_clear()
    try:
        notify = NotifyActivities(
            make_settings(tmp_path, webhook_sms_url="http://gateway.invalid/sms")
        )
        if bypass:  # straight to a host that does not exist
            with pytest.raises(ApplicationError) as e:
                await ActivityEnvironment().run(notify.deliver, delivery("sms"))
            assert e.value.type == "WebhookUnavailable"
            assert webhooks.requests == []
        else:
            await ActivityEnvironment().run(notify.deliver, delivery("sms"))
            [req] = webhooks.requests
            assert req.path == "http://gateway.invalid/sms" and req.signature_ok
    finally:
        proxy_for.cache_clear()


async def test_no_address_is_channel_unavailable(tmp_path):
    notify = NotifyActivities(make_settings(tmp_path))
    with pytest.raises(ApplicationError) as e:
        await ActivityEnvironment().run(notify.deliver, delivery("email", "  "))
    assert e.value.type == "ChannelUnavailable" and e.value.non_retryable


STAFF = "http://staff.invalid/s"


def test_chat_goes_to_the_gateway_of_its_audience_whatever_the_address(tmp_path):
    both = NotifyActivities(
        make_settings(tmp_path, webhook_chat_url="http://chat.invalid/c", webhook_staff_url=STAFF)
    )
    # a customer whose id looks like a staff handle stays on the customer platform
    assert both.webhook_url(delivery("chat", "@cust-77", audience="customer")) == (
        "http://chat.invalid/c"
    )
    assert both.webhook_url(delivery("chat", "p-agent", audience="staff")) == STAFF
    # a missing gateway is a missing channel, never the other audience's gateway
    chat_only = NotifyActivities(make_settings(tmp_path, webhook_chat_url="http://chat.invalid/c"))
    assert chat_only.webhook_url(delivery("chat", "@p-agent", audience="staff")) is None
    staff_only = NotifyActivities(make_settings(tmp_path, webhook_staff_url=STAFF))
    assert staff_only.webhook_url(delivery("chat", "@cust-77", audience="customer")) is None
    # deliveries scheduled before they carried an audience keep the old handle rule
    assert both.webhook_url(delivery("chat", "@p-agent")) == STAFF
    assert both.webhook_url(delivery("chat", "cust-77")) == "http://chat.invalid/c"


async def test_a_customer_chat_to_an_at_handle_reaches_the_customer_gateway(webhooks, tmp_path):
    notify = NotifyActivities(
        make_settings(
            tmp_path,
            webhook_chat_url=webhooks.url("/customer-chat"),
            webhook_staff_url=webhooks.url("/staff-chat"),
        )
    )
    await ActivityEnvironment().run(
        notify.deliver, delivery("chat", "@cust-77", audience="customer")
    )
    [req] = webhooks.requests
    assert req.path.endswith("/customer-chat") and req.signature_ok


async def test_logs_carry_activity_identity_and_no_body_or_address(webhooks, tmp_path):
    notify = NotifyActivities(make_settings(tmp_path, webhook_sms_url=webhooks.url()))
    with structlog.testing.capture_logs() as logs:
        await ActivityEnvironment().run(notify.deliver, delivery("sms"))
    text = json.dumps(logs, default=str)
    assert "secret-body-marker" not in text
    assert "7700 900123" not in text and "900123" not in text
    assert SECRET not in text
    assert any(e["event"] == "delivered" and e["to"] == "***0123" for e in logs)

    seen = {}

    async def probe() -> None:
        with activity_context():
            seen.update(structlog.contextvars.get_contextvars())

    await ActivityEnvironment().run(probe)
    assert {"workflow_id", "run_id", "activity", "attempt"} <= set(seen)
    assert structlog.contextvars.get_contextvars() == {}


def test_redaction():
    assert redact_address("ada.lovelace@example.com") == "a***@example.com"
    assert redact_address("+44 20 7946 0123") == "***0123"
    assert redact_address("@p-agent") == "@p***"
    assert redact_address("") == ""
