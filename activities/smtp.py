"""SMTP delivery with connection reuse, for the ``deliver`` activity's e-mail channel.

A message goes out on an idle connection left open by an earlier one when there is one, or on
a new connection (connect, STARTTLS or TLS, login, as configured: ``smtp_starttls`` is
``required``, ``opportunistic``, when the relay offers it, or ``off``). After a successful send the
connection is kept for the next message, up to ``settings.smtp_keepalive_connections`` idle
connections (0: a new connection per message, closed after it); it is closed instead after
:data:`MAX_MESSAGES_PER_CONNECTION` messages, or when it has been idle for
:data:`IDLE_S` seconds (mail servers drop idle clients after a while; Postfix after 300 s). A
connection that saw any error is closed, never reused.

If the server dropped an idle connection anyway, the send fails at MAIL FROM, before anything
was accepted, with ``SMTPServerDisconnected`` or the server's ``421`` (closing the channel), and
the message is sent again at once on a new connection. Should the drop come in the middle of
DATA instead, the message may arrive twice, with the same ``Message-ID``, exactly as after an
activity retry (see :mod:`activities.notify`).
Every other error goes to the caller, which maps it for Temporal's retry policy.

Why: a new connection costs a TCP (and TLS) handshake, the greeting, EHLO, perhaps AUTH and
QUIT, round trips that a relay also pays for, and worker CPU on every message (bench/README.md).
"""

from __future__ import annotations

import asyncio
import socket
import time
from dataclasses import dataclass
from email.message import Message

import aiosmtplib

from activities.logging import log
from core.settings import Settings

IDLE_S = 10.0
MAX_MESSAGES_PER_CONNECTION = 100
STARTTLS = {"required": True, "opportunistic": None, "off": False}
QUIT_TIMEOUT_S = 2.0  # a polite QUIT, never a long wait (a stopping worker closes them all)


@dataclass
class _Connection:
    smtp: aiosmtplib.SMTP
    last_used: float
    sent: int = 0


def _dropped(e: aiosmtplib.SMTPException) -> bool:
    return isinstance(e, aiosmtplib.SMTPServerDisconnected) or (
        isinstance(e, aiosmtplib.SMTPResponseException) and e.code == 421
    )


class SmtpSender:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._keep = max(0, settings.smtp_keepalive_connections)
        self._idle: list[_Connection] = []
        self._ehlo_name: str | None = None
        self.connections_opened = 0  # for tests and the curious

    async def send(self, msg: Message) -> None:
        """Send `msg` to the recipients of its To header; raises aiosmtplib's errors."""
        conn = self._take_idle()
        if conn is not None:
            try:
                await self._send_on(conn, msg)
                return
            except aiosmtplib.SMTPException as e:
                if not _dropped(e):
                    raise
                log.info("smtp_reconnecting", reason=type(e).__name__, idle_connection=True)
        await self._send_on(await self._open(), msg)

    async def aclose(self) -> None:
        idle, self._idle = self._idle, []
        for conn in idle:
            await self._quit(conn)

    def _take_idle(self) -> _Connection | None:
        now = time.monotonic()
        while self._idle:
            conn = self._idle.pop()  # the most recently used first
            if now - conn.last_used < IDLE_S and conn.smtp.is_connected:
                return conn
            conn.smtp.close()
        return None

    async def _open(self) -> _Connection:
        s = self.settings
        smtp = aiosmtplib.SMTP(
            hostname=s.smtp_host,
            port=s.smtp_port,
            local_hostname=await self._local_hostname(),
            username=s.smtp_username,
            password=s.smtp_password.get_secret_value() if s.smtp_password else None,
            use_tls=s.smtp_use_tls,
            # aiosmtplib: True upgrades or fails, None upgrades when the relay offers it
            start_tls=None if s.smtp_use_tls else STARTTLS[s.smtp_starttls],
            cert_bundle=str(s.smtp_tls_ca) if s.smtp_tls_ca else None,
            timeout=s.http_timeout_s,
        )
        await smtp.connect()
        self.connections_opened += 1
        return _Connection(smtp, time.monotonic())

    async def _send_on(self, conn: _Connection, msg: Message) -> None:
        try:
            await conn.smtp.send_message(msg)
        except BaseException:
            conn.smtp.close()
            raise
        conn.sent += 1
        conn.last_used = time.monotonic()
        if conn.sent < MAX_MESSAGES_PER_CONNECTION and len(self._idle) < self._keep:
            self._idle.append(conn)
        else:
            await self._quit(conn)

    @staticmethod
    async def _quit(conn: _Connection) -> None:
        try:
            await conn.smtp.quit(timeout=QUIT_TIMEOUT_S)
        except (aiosmtplib.SMTPException, OSError):
            pass
        finally:
            conn.smtp.close()

    async def _local_hostname(self) -> str:
        """The name this worker gives in EHLO, looked up once: aiosmtplib would otherwise ask the
        resolver for it (socket.getfqdn, in a thread) for every connection."""
        if self._ehlo_name is None:
            self._ehlo_name = await asyncio.to_thread(socket.getfqdn)
        return self._ehlo_name
