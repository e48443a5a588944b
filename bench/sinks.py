"""Local delivery sinks for the benchmark: an SMTP server (aiosmtpd) and an HTTP server that
answers 200 to every POST, so notifications and CRM sync succeed at once on 127.0.0.1.

    python -m bench.sinks --smtp-port 2525 --http-port 8088

Counts of messages received are written to stdout every few seconds and at exit.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal

COUNTS = {"smtp": 0, "http": 0}


class SmtpHandler:
    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd API
        COUNTS["smtp"] += 1
        return "250 OK"


async def handle_http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:  # keep-alive: one request after another on this connection
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=60)
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            if length:
                await reader.readexactly(length)
            COUNTS["http"] += 1
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b'Content-Length: 11\r\n\r\n{"ok":true}'
            )
            await writer.drain()
    except (
        asyncio.IncompleteReadError,
        asyncio.LimitOverrunError,
        TimeoutError,
        ConnectionError,
        ValueError,
    ):
        pass
    finally:
        writer.close()


async def run(args: argparse.Namespace) -> None:
    from aiosmtpd.controller import Controller

    smtp = Controller(SmtpHandler(), hostname="127.0.0.1", port=args.smtp_port)
    smtp.start()
    http = await asyncio.start_server(handle_http, "127.0.0.1", args.http_port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print("sinks ready", flush=True)
    try:
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), timeout=5)
            except TimeoutError:
                print(json.dumps(COUNTS), flush=True)
    finally:
        http.close()
        smtp.stop()
        print(json.dumps(COUNTS), flush=True)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--smtp-port", type=int, required=True)
    p.add_argument("--http-port", type=int, required=True)
    asyncio.run(run(p.parse_args()))


if __name__ == "__main__":
    main()
