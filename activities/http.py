"""Signed, idempotent webhook POSTs shared by the notification and CRM activities.

Every request carries:

- ``X-Signature: t=<unix seconds>,v1=<hex>``: HMAC-SHA256 of ``"<t>.<body>"`` (the exact body
  bytes) with the gateway's secret (``settings.webhook_secret_<gateway>``, else the shared
  ``settings.webhook_secret``). Receivers check it with :func:`verify`: a constant-time compare,
  and a timestamp within :data:`TOLERANCE_S` of their clock, so a captured request cannot be
  replayed later. A retry is signed anew, with its own timestamp.
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
import time
import urllib.request
from collections.abc import Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.logging import log, safe_host

MAX_RETRY_AFTER_S = 300
TOLERANCE_S = 300  # how far a signature's timestamp may be from the receiver's clock
RETRYABLE_STATUS = frozenset({408, 429})


def sign(body: bytes, secret: str, t: int | None = None) -> str:
    """The ``X-Signature`` header value for `body`, signed at `t` (unix seconds; default now)."""
    t = int(time.time()) if t is None else t
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def verify(
    body: bytes,
    secret: str,
    signature: str | None,
    *,
    now: float | None = None,
    tolerance_s: float = TOLERANCE_S,
) -> bool:
    """Receiver side of :func:`sign`: the MAC matches (constant time) and the timestamp is
    within `tolerance_s` of `now`."""
    fields = dict(
        part.strip().split("=", 1) for part in (signature or "").split(",") if "=" in part
    )
    t, mac = fields.get("t", ""), fields.get("v1", "")
    if not t.isdigit() or not mac:
        return False
    now = time.time() if now is None else now
    if abs(now - int(t)) > tolerance_s:
        return False
    return hmac.compare_digest(sign(body, secret, int(t)), f"t={t},v1={mac}")


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

    def __init__(self, secrets: Mapping[str, str] | str, timeout_s: float = 10.0) -> None:
        # gateway -> signing secret (settings.webhook_secrets()); one string: every gateway's
        self._secrets = secrets
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
        gateway: str,
    ) -> int:
        """POST `payload` as JSON signed with `gateway`'s secret; returns the 2xx status or
        raises (see module doc)."""
        body = encode(payload)
        secret = self._secrets if isinstance(self._secrets, str) else self._secrets[gateway]
        headers = {
            "Content-Type": "application/json",
            "X-Signature": sign(body, secret),
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
