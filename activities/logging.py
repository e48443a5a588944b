"""structlog binding for activities.

Every activity runs its body inside :func:`activity_context`, which binds ``workflow_id``,
``run_id``, ``activity`` and ``attempt`` (plus any extra fields) into structlog's contextvars for
the duration of that one activity task, so every log line it writes, including those of helpers,
carries them. Each activity runs in its own asyncio task, so concurrent activities never see each
other's bindings.

Never log message bodies, full addresses, URLs with credentials, tokens or secrets: use
:func:`redact_address` and :func:`safe_host` for the parts worth logging.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import structlog
from temporalio import activity

log = structlog.get_logger("activities")


@contextmanager
def activity_context(**extra: Any) -> Iterator[Any]:
    """Bind the running activity's identity into structlog contextvars; yields a logger."""
    info = activity.info()
    # bind + reset by token: structlog's bound_contextvars copies the whole context first to
    # restore it, which shows in the worker's CPU at one binding per message (bench/README.md)
    tokens = structlog.contextvars.bind_contextvars(
        workflow_id=info.workflow_id,
        run_id=info.workflow_run_id,
        activity=info.activity_type,
        attempt=info.attempt,
        **extra,
    )
    try:
        yield log
    finally:
        structlog.contextvars.reset_contextvars(**tokens)


def redact_address(address: str | None) -> str:
    """Enough of an address to correlate, never the whole of it.

    ``ada.lovelace@example.com`` -> ``a***@example.com``; ``+44 20 7946 0123`` -> ``***0123``;
    ``@p-agent`` -> ``@p***``.
    """
    if not address:
        return ""
    a = address.strip()
    if "@" in a and not a.startswith("@"):
        local, _, domain = a.rpartition("@")
        return f"{local[:1]}***@{domain}"
    if a.startswith("@"):
        return f"{a[:2]}***"
    digits = [c for c in a if c.isdigit()]
    if len(digits) >= 6:
        return "***" + "".join(digits[-4:])
    return "***"


def safe_host(url: str | None) -> str:
    """Only the host of a URL: webhook URLs often carry a token in their path or query."""
    if not url:
        return ""
    try:
        return urlsplit(url).hostname or "?"
    except ValueError:
        return "?"
