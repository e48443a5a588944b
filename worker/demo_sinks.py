"""Demo receivers for the embedded run: a local SMTP server and a webhook gateway.

    python -m worker.demo_sinks --smtp-port 1025 --webhook-port 8025 --out data/outbox

They stand where a contact centre's mail relay and its SMS / chat / staff-chat / CRM gateways
would be, so the embedded stack sends real e-mail (SMTP) and real signed webhooks (HTTP) out of
the box, and you can watch them:

- every e-mail is appended to ``<out>/mail.mbox`` (open it with any mail client, or
  ``tail -f``) and logged in one line;
- every webhook is checked (HMAC signature) and appended to ``<out>/webhooks.jsonl``; a
  repeated ``Idempotency-Key`` is answered ``200 duplicate`` and not recorded again, as a real
  gateway would.

Point the worker at your real relay and gateways instead with ESCALATIONS_SMTP_HOST,
ESCALATIONS_WEBHOOK_*_URL and ESCALATIONS_CRM_WEBHOOK_URL (see README), and run
``python -m worker.embedded --no-sinks``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import mailbox
import signal
from datetime import UTC, datetime
from email import message_from_bytes
from pathlib import Path

import structlog
from aiosmtpd.controller import Controller

from activities.http import verify
from core.logging import setup_logging
from core.settings import get_settings

log = structlog.get_logger("demo_sinks")

CHANNEL_PATHS = ("sms", "chat", "social", "phone", "staff", "crm")


class MailboxHandler:
    def __init__(self, path: Path) -> None:
        self.box = mailbox.mbox(str(path))

    async def handle_DATA(self, server, session, envelope) -> str:
        msg = message_from_bytes(envelope.original_content or envelope.content)
        self.box.lock()
        try:
            self.box.add(msg)
            self.box.flush()
        finally:
            self.box.unlock()
        log.info(
            "mail_received",
            to=len(envelope.rcpt_tos),
            subject=msg.get("Subject"),
            message_id=msg.get("Message-ID"),
        )
        return "250 OK"


class WebhookGateway:
    def __init__(self, out: Path, secrets: dict[str, str]) -> None:
        self.out = out
        self.secrets = secrets  # gateway -> signing secret (settings.webhook_secrets())
        self.seen: set[str] = set()
        if out.exists():  # keep idempotency across restarts of the demo
            for line in out.read_text().splitlines():
                try:
                    self.seen.add(json.loads(line)["idempotency_key"])
                except (ValueError, KeyError):
                    pass

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            lines = head.decode("latin-1").split("\r\n")
            method, path, _ = lines[0].split(" ", 2)
            headers = {
                k.strip().lower(): v.strip()
                for k, v in (ln.split(":", 1) for ln in lines[1:] if ":" in ln)
            }
            length = int(headers.get("content-length", "0"))
            if length > 1_000_000:
                return await self._answer(writer, 413, "too large")
            body = await asyncio.wait_for(reader.readexactly(length), 10)
            channel = path.strip("/").split("/")[0]
            if method != "POST" or channel not in CHANNEL_PATHS:
                return await self._answer(writer, 404, "unknown gateway path")
            if not verify(body, self.secrets[channel], headers.get("x-signature")):
                log.warning("webhook_bad_signature", channel=channel)
                return await self._answer(writer, 401, "bad signature")
            key = headers.get("idempotency-key", "")
            if key in self.seen:
                return await self._answer(writer, 200, "duplicate")
            self.seen.add(key)
            record = {
                "at": datetime.now(UTC).isoformat(),
                "channel": channel,
                "idempotency_key": key,
                "escalation_id": headers.get("x-escalation-id"),
                "event": headers.get("x-escalation-event"),
                "body": json.loads(body),
            }
            with self.out.open("a") as f:
                f.write(json.dumps(record) + "\n")
            log.info(
                "webhook_received",
                channel=channel,
                escalation_event=record["event"],
                escalation_id=record["escalation_id"],
            )
            await self._answer(writer, 200, "ok")
        except (TimeoutError, asyncio.IncompleteReadError, ValueError, ConnectionError):
            pass
        finally:
            writer.close()

    @staticmethod
    async def _answer(writer: asyncio.StreamWriter, status: int, text: str) -> None:
        reason = {200: "OK", 401: "Unauthorized", 404: "Not Found", 413: "Too Large"}[status]
        data = text.encode()
        writer.write(
            f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\n"
            f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n".encode()
            + data
        )
        await writer.drain()


async def run(args: argparse.Namespace) -> None:
    args.out.mkdir(parents=True, exist_ok=True)
    secrets = get_settings().webhook_secrets()
    smtp = Controller(
        MailboxHandler(args.out / "mail.mbox"), hostname=args.host, port=args.smtp_port
    )
    smtp.start()
    gateway = WebhookGateway(args.out / "webhooks.jsonl", secrets)
    server = await asyncio.start_server(gateway.handle, args.host, args.webhook_port)
    log.info(
        "demo_sinks_ready",
        smtp=f"{args.host}:{args.smtp_port}",
        webhooks=f"http://{args.host}:{args.webhook_port}/<channel>",
        out=str(args.out),
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()
    smtp.stop()


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--smtp-port", type=int, default=1025)
    p.add_argument("--webhook-port", type=int, default=8025)
    p.add_argument("--out", type=Path, default=Path("data/outbox"))
    args = p.parse_args()
    setup_logging(get_settings().log_format)
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
