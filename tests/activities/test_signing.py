"""Webhook signatures: a timestamp signed with the body (a captured request cannot be replayed
later), one secret per gateway, and no public demo secret outside the demo."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import time

import pytest
from pydantic import SecretStr
from temporalio.testing import ActivityEnvironment

from activities.crm import CrmActivities
from activities.http import TOLERANCE_S, sign, verify
from activities.notify import NotifyActivities
from core.settings import ROOT, Settings
from tests.activities.conftest import WebhookReceiver, make_settings
from tests.activities.test_notify import delivery
from workflows.messages import CrmEvent


def test_a_signature_covers_the_body_and_its_time_and_expires():
    body = b'{"a":1}'
    header = sign(body, "s3cret")
    assert header.startswith("t=") and ",v1=" in header
    assert verify(body, "s3cret", header)
    assert not verify(b'{"a":2}', "s3cret", header)  # another body
    assert not verify(body, "other", header)  # another secret
    t = int(header.split(",")[0].removeprefix("t="))
    forged = header.replace(f"t={t}", f"t={t + 600}")  # a fresh time on an old MAC
    assert not verify(body, "s3cret", forged, now=t + 600)
    # the same request replayed later than the tolerance is refused
    assert verify(body, "s3cret", header, now=t + TOLERANCE_S - 1)
    assert not verify(body, "s3cret", header, now=t + TOLERANCE_S + 1)
    assert not verify(body, "s3cret", "sha256=" + "0" * 64)  # the old format
    assert not verify(body, "s3cret", None)


async def test_each_gateway_signs_with_its_own_secret(tmp_path):
    sms = WebhookReceiver("sms-secret")
    chat = WebhookReceiver("shared-secret")
    crm = WebhookReceiver("crm-secret")
    for r in (sms, chat, crm):
        await r.start()
    try:
        settings = make_settings(
            tmp_path,
            webhook_secret=SecretStr("shared-secret"),
            webhook_secret_sms=SecretStr("sms-secret"),
            webhook_secret_crm=SecretStr("crm-secret"),
            webhook_sms_url=sms.url("/sms"),
            webhook_chat_url=chat.url("/chat"),
            crm_webhook_url=crm.url("/crm"),
        )
        notify = NotifyActivities(settings)
        env = ActivityEnvironment()
        await env.run(notify.deliver, delivery("sms", idempotency_key="k1"))
        await env.run(notify.deliver, delivery("chat", "c-1", audience="customer"))
        event = CrmEvent(
            escalation_id="E-1",
            external_ref=None,
            event="stage_changed",
            stage="specialist",
            at="2026-12-01T10:00:00Z",
            idempotency_key="k2",
        )
        await env.run(CrmActivities(settings).sync_crm, event)
        await notify.poster.aclose()
    finally:
        for r in (sms, chat, crm):
            await r.stop()
    for r in (sms, chat, crm):
        [req] = r.requests
        assert req.signature_ok and req.status == 200, r.secret
    # a gateway's secret signs nothing else
    assert not verify(sms.requests[0].body, "shared-secret", sms.requests[0].headers["x-signature"])


def test_the_demo_webhook_secret_is_refused_outside_the_demo():
    Settings(_env_file=None, demo=True).check_webhook_secrets()
    with pytest.raises(ValueError, match="sms, chat, social, phone, staff, crm"):
        Settings(_env_file=None, demo=False).check_webhook_secrets()
    with pytest.raises(ValueError, match="refusing to start: the webhooks of crm "):
        Settings(
            _env_file=None,
            demo=False,
            webhook_secret=SecretStr("x" * 32),
            webhook_secret_crm=SecretStr("demo-webhook-secret"),
        ).check_webhook_secrets()
    Settings(_env_file=None, demo=False, webhook_secret=SecretStr("x" * 32)).check_webhook_secrets()


def test_the_worker_refuses_to_start_with_the_demo_webhook_secret(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ESCALATIONS_")}
    key = base64.b64encode(os.urandom(32)).decode()
    env.update(
        ESCALATIONS_PAYLOAD_KEYS=f'{{"k1":"{key}"}}',
        ESCALATIONS_ACTION_KEYS=f'{{"a1":"{key}"}}',
        ESCALATIONS_DEMO="false",
    )
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "worker"],
        cwd=tmp_path,  # no .env file here
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("escalations-worker: refusing to start: the webhooks of"), proc.stderr
    assert "ESCALATIONS_WEBHOOK_SECRET" in last
    assert time.monotonic() - started < 30
