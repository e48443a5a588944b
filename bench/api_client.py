"""The bench's HTTP client for the service's API: a thin wrapper over one aiohttp session.

aiohttp rather than httpx because the client shares the cores with the stack it measures, and
aiohttp takes far less CPU per request (bench/README.md); the raw baseline's client (the Temporal
SDK's, in Rust) is lighter still.
"""

from __future__ import annotations

import json as jsonlib
from dataclasses import dataclass
from typing import Any

import aiohttp


@dataclass
class Response:
    status_code: int
    text: str

    def json(self) -> Any:
        return jsonlib.loads(self.text)


class Api:
    def __init__(self, base_url: str, timeout: float = 30, connections: int = 200) -> None:
        self._base = base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._connections = connections
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Api:
        self._session = aiohttp.ClientSession(
            timeout=self._timeout, connector=aiohttp.TCPConnector(limit=self._connections)
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()

    async def _request(self, method: str, path: str, **kw: Any) -> Response:
        assert self._session is not None, "use Api as an async context manager"
        # A kept-alive connection the server closed as it was reused (its keep-alive timeout, on
        # a busy host): sent again once when that is safe, a GET or a request with a key.
        repeatable = method == "GET" or "Idempotency-Key" in (kw.get("headers") or {})
        for attempt in (1, 2):
            try:
                async with self._session.request(method, self._base + path, **kw) as r:
                    return Response(r.status, await r.text())
            except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError):
                if attempt == 2 or not repeatable:
                    raise
        raise AssertionError("unreachable")

    async def get(
        self, path: str, params: dict | None = None, headers: dict | None = None
    ) -> Response:
        return await self._request("GET", path, params=params, headers=headers)

    async def post(self, path: str, json: Any = None, headers: dict | None = None) -> Response:
        return await self._request("POST", path, json=json, headers=headers)
