"""Signed, idempotent webhook POSTs shared by the notification and CRM activities.

Every request carries:

- ``X-Signature: sha256=<hex>``: HMAC-SHA256 of the exact body bytes with
  ``settings.webhook_secret`` (receivers verify it with a constant-time compare).
- ``Idempotency-Key: <workflow run id>:<activity id>``: the same on every retry attempt of the
  same activity execution, so a receiver can drop a duplicate after a crash or a timed-out reply.
- ``X-Escalation-Id`` and ``X-Escalation-Event``.

Errors are classified for Temporal's retry policy:

- transport errors (connect, timeout, reset), HTTP 5xx, 408 and 429 -> a *retryable*
  ``ApplicationError`` (type ``WebhookUnavailable``); ``Retry-After`` (seconds) on a 429/503 is
  honoured as the next retry delay, capped at :data:`MAX_RETRY_AFTER_S`;
- any other 4xx (and an unexpected 1xx/3xx, i.e. a misconfigured URL), and a URL no request
  can be sent to (not http(s), no host) -> non-retryable ``ApplicationError`` type ``Rejected``:
  sending the same request again cannot succeed.

Only the URL's host is ever logged (webhook URLs often embed a token), never the body.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import json
import urllib.request
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.logging import log, safe_host

MAX_RETRY_AFTER_S = 300
RETRYABLE_STATUS = frozenset({408, 429})


def sign(body: bytes, secret: str) -> str:
    """The ``X-Signature`` header value for `body`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(body: bytes, secret: str, signature: str | None) -> bool:
    """Receiver side of :func:`sign` (constant-time)."""
    return bool(signature) and hmac.compare_digest(sign(body, secret), signature or "")


def idempotency_key() -> str:
    """Stable across retry attempts of the running activity: ``<run id>:<activity id>``."""
    info = activity.info()
    return f"{info.workflow_run_id}:{info.activity_id}"


def encode(payload: Any) -> bytes:
    """Canonical JSON bytes (the signature covers exactly these bytes)."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()


def _retry_after(value: str | None) -> timedelta | None:
    value = (value or "").strip()
    if not value.isdigit():
        return None
    return timedelta(seconds=min(int(value), MAX_RETRY_AFTER_S))


@functools.lru_cache(maxsize=256)
def proxy_for(url: str) -> str | None:
    """The proxy for `url` from ``HTTP_PROXY``/``HTTPS_PROXY``/``NO_PROXY`` (read once per URL:
    the environment does not change under a running worker)."""
    parts = urlsplit(url)
    if parts.hostname and urllib.request.proxy_bypass(parts.hostname):
        return None
    return urllib.request.getproxies().get(parts.scheme)


class WebhookPoster:
    """Holds one pooled ``aiohttp.ClientSession`` (created on first use, in the running event
    loop) for all webhook calls; keep-alive connections are reused across activities.

    aiohttp rather than httpx: far less CPU per request (bench/README.md), and the worker sends
    several webhooks per escalation step. Proxies from ``HTTP(S)_PROXY``/``NO_PROXY`` are honoured
    (:func:`proxy_for`); aiohttp's own ``trust_env`` would look them and ``~/.netrc`` up again,
    in a thread, for every request."""

    def __init__(self, secret: str, timeout_s: float = 10.0) -> None:
        self._secret = secret
        self._timeout_s = timeout_s
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _http(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        if self._session is None or self._session.closed or self._loop is not loop:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self._timeout_s)
            )
            self._loop = loop
        return self._session

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def post(
        self,
        url: str,
        payload: Any,
        *,
        key: str,
        escalation_id: str,
        event: str,
        what: str,
    ) -> int:
        """POST `payload` as signed JSON; returns the 2xx status or raises (see module doc)."""
        body = encode(payload)
        headers = {
            "Content-Type": "application/json",
            "X-Signature": sign(body, self._secret),
            "Idempotency-Key": key,
            "X-Escalation-Id": escalation_id,
            "X-Escalation-Event": event,
        }
        host = safe_host(url)
        try:
            async with self._http().post(
                url, data=body, headers=headers, allow_redirects=False, proxy=proxy_for(url)
            ) as resp:
                await resp.read()  # the whole answer, so the connection can be reused
                status, retry_after = resp.status, resp.headers.get("Retry-After")
        except (ValueError, aiohttp.NonHttpUrlClientError) as e:  # aiohttp.InvalidURL too
            raise ApplicationError(
                f"{what} webhook URL is invalid", type="Rejected", non_retryable=True
            ) from e
        except (aiohttp.ClientError, TimeoutError) as e:
            log.warning("webhook_unreachable", what=what, host=host, error=type(e).__name__)
            raise ApplicationError(
                f"{what} webhook at {host} unreachable: {type(e).__name__}",
                type="WebhookUnavailable",
            ) from e
        if 200 <= status < 300:  # the caller logs the success (delivered, crm_synced)
            log.debug("webhook_accepted", what=what, host=host, status=status)
            return status
        if status >= 500 or status in RETRYABLE_STATUS:
            log.warning("webhook_unavailable", what=what, host=host, status=status)
            raise ApplicationError(
                f"{what} webhook at {host} answered {status}",
                type="WebhookUnavailable",
                next_retry_delay=_retry_after(retry_after) if status in (429, 503) else None,
            )
        log.warning("webhook_rejected", what=what, host=host, status=status)
        raise ApplicationError(
            f"{what} webhook at {host} rejected the request with {status}",
            type="Rejected",
            non_retryable=True,
        )
