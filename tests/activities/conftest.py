"""Real local components for the activity tests, bound to free ports on 127.0.0.1:

- ``smtp``: an aiosmtpd SMTP server (its own thread) recording every message; a recipient
  address can be told to answer a 4xx (a number of times) or a 5xx.
- ``webhooks``: a tiny HTTP/1.1 receiver on ``asyncio.start_server`` that verifies the
  ``X-Signature`` HMAC, records every request, counts idempotency keys, accepts each key once
  (a repeat is answered 200 ``duplicate``), and can fail the first N requests (503 by default)
  or answer a fixed status, optionally with a ``Retry-After`` header.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message

import pytest
from aiosmtpd.controller import Controller
from pydantic import SecretStr

from activities.http import verify
from core.settings import Settings

SECRET = "test-webhook-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- SMTP ---------------------------------------------------------------------------------------


@dataclass
class Mail:
    mail_from: str
    rcpt_tos: list[str]
    message: Message


class RecordingHandler:
    def __init__(self) -> None:
        self.mails: list[Mail] = []
        self.sessions: list[object] = []  # the SMTP session of each mail, in order
        self.rcpt_attempts: Counter[str] = Counter()
        self.temp_fail: dict[str, int] = {}  # address -> how many 451s to answer first
        self.perm_fail: set[str] = set()
        self._lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        with self._lock:
            self.rcpt_attempts[address] += 1
            if address in self.perm_fail:
                return "550 5.1.1 No such user"
            if self.temp_fail.get(address, 0) > 0:
                self.temp_fail[address] -= 1
                return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self._lock:
            self.sessions.append(session)
            self.mails.append(
                Mail(
                    envelope.mail_from,
                    list(envelope.rcpt_tos),
                    message_from_bytes(envelope.content),
                )
            )
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp() -> Iterator[tuple[RecordingHandler, int]]:
    yield from _smtp_server()


@pytest.fixture
def smtp_dropping_idle() -> Iterator[tuple[RecordingHandler, int]]:
    """An SMTP server that closes a connection idle for 0.5 s (as mail servers do, later)."""
    yield from _smtp_server(timeout=0.5)


def _smtp_server(**smtp_parameters) -> Iterator[tuple[RecordingHandler, int]]:
    handler = RecordingHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, **smtp_parameters)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


# --- webhooks -----------------------------------------------------------------------------------


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    signature_ok: bool
    status: int

    def json(self):
        return json.loads(self.body)


@dataclass
class WebhookReceiver:
    secret: str
    fail_first: int = 0  # answer `fail_status` to this many requests first
    fail_status: int = 503
    status: int | None = None  # answer this status to everything (after fail_first)
    retry_after: str | None = None  # sent with every non-2xx answer
    requests: list[Received] = field(default_factory=list)
    accepted: list[Received] = field(default_factory=list)
    keys: Counter[str] = field(default_factory=Counter)
    port: int = 0
    _server: asyncio.base_events.Server | None = None

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            lines = head.decode("latin-1").split("\r\n")
            _method, path, _ = lines[0].split(" ", 2)
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    k, v = line.split(":", 1)
                    headers[k.strip().lower()] = v.strip()
            body = await asyncio.wait_for(
                reader.readexactly(int(headers.get("content-length", "0"))), 5
            )
            ok = verify(body, self.secret, headers.get("x-signature"))
            key = headers.get("idempotency-key", "")
            self.keys[key] += 1
            if not ok:
                status, reply = 401, {"error": "bad signature"}
            elif len(self.requests) < self.fail_first:
                status, reply = self.fail_status, {"error": "try later"}
            elif self.status is not None:
                status, reply = self.status, {"status": self.status}
            elif any(r.headers.get("idempotency-key") == key for r in self.accepted):
                status, reply = 200, {"duplicate": True}
            else:
                status, reply = 200, {"accepted": True}
            rec = Received(path, headers, body, ok, status)
            self.requests.append(rec)
            if status == 200 and "accepted" in reply:
                self.accepted.append(rec)
            out = json.dumps(reply).encode()
            writer.write(
                f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(out)}\r\nConnection: close\r\n".encode()
                + (
                    f"Retry-After: {self.retry_after}\r\n".encode()
                    if self.retry_after and status != 200
                    else b""
                )
                + b"\r\n"
                + out
            )
            await writer.drain()
        finally:
            writer.close()


@pytest.fixture
async def webhooks() -> AsyncIterator[WebhookReceiver]:
    receiver = WebhookReceiver(SECRET)
    await receiver.start()
    try:
        yield receiver
    finally:
        await receiver.stop()


def make_settings(tmp_path, **overrides) -> Settings:
    values = dict(
        smtp_host="127.0.0.1",
        smtp_port=free_port(),
        smtp_from="escalations@test.invalid",
        webhook_secret=SecretStr(SECRET),
        webhook_sms_url=None,
        webhook_chat_url=None,
        webhook_social_url=None,
        webhook_phone_url=None,
        webhook_staff_url=None,
        crm_webhook_url=None,
        http_timeout_s=5.0,
        data_dir=tmp_path / "data",
    )
    values.update(overrides)
    return Settings(_env_file=None, **values)
