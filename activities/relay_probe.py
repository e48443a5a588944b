"""While a relay or gateway is down, one probe per worker finds out when it is back.

The messages waiting for it (each a `deliver` activity told how long it may wait,
`Delivery.wait_for_relay_s`) wait on the probe, not on a backoff timer of their own: one TCP
connection every `interval_s` seconds, whatever the number of messages, and all of them go as
soon as it answers (docs/decisions/0037-release-after-an-outage.md).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from urllib.parse import urlsplit

PROBE_INTERVAL_S = 2.0
CONNECT_TIMEOUT_S = 3.0
HEARTBEAT_EVERY_S = 10.0  # the waiting activity's heartbeat timeout is 30 s (calls.py)


class RelayProbe:
    """One host and port. `wait_up` after a failed send: True once it answers again."""

    def __init__(self, host: str, port: int, interval_s: float = PROBE_INTERVAL_S) -> None:
        self.host, self.port, self.interval_s = host, port, interval_s
        self._up = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.probes = 0  # connections tried, for tests and the curious

    async def _answers(self) -> bool:
        self.probes += 1
        try:
            _, writer = await asyncio.wait_for(
                asyncio.open_connection(self.host, self.port), CONNECT_TIMEOUT_S
            )
        except (OSError, TimeoutError):
            return False
        writer.close()
        try:
            await writer.wait_closed()
        except OSError:
            pass
        return True

    async def _watch(self, up: asyncio.Event) -> None:
        # a send has just failed: asking at once would only answer what it already said
        while True:
            await asyncio.sleep(self.interval_s)
            if await self._answers():
                up.set()
                return

    def _down(self) -> asyncio.Event:
        if self._up.is_set():  # it answered once, and a send failed since
            self._up = asyncio.Event()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._watch(self._up))
        return self._up

    async def wait_up(self, timeout_s: float, heartbeat: Callable[[], None]) -> bool:
        up = self._down()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while (left := deadline - loop.time()) > 0:
            try:
                await asyncio.wait_for(asyncio.shield(up.wait()), min(left, HEARTBEAT_EVERY_S))
                return True
            except TimeoutError:
                heartbeat()  # still alive; and how a cancelled case reaches us
        return False


class RelayProbes:
    """The probes of one worker, by host and port (one each, shared by every activity)."""

    def __init__(self, interval_s: float = PROBE_INTERVAL_S) -> None:
        self.interval_s = interval_s
        self._probes: dict[tuple[str, int], RelayProbe] = {}

    def get(self, host: str, port: int) -> RelayProbe:
        key = (host, port)
        if key not in self._probes:
            self._probes[key] = RelayProbe(host, port, self.interval_s)
        return self._probes[key]

    def for_url(self, url: str) -> RelayProbe | None:
        parts = urlsplit(url)
        if not parts.hostname:
            return None
        port = parts.port or (443 if parts.scheme == "https" else 80)
        return self.get(parts.hostname, port)
