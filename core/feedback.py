"""The customer's feedback link: a signed, expiring token naming one check-in of one case.

The workflow decides which check-in a link answers and until when (`workflows.messages
.FeedbackLink` on the check-in's delivery); the `deliver` activity signs it into the message
(the secret never enters a workflow or its history); the API verifies it when the customer
answers. The token is the customer's only authority, so it is bound to the case and the
check-in, expires, and each check-in records one answer (the workflow refuses a second).

Token: `<base64url JSON {"e": escalation id, "k": check-in key, "x": expiry, unix s}>.<base64url
HMAC-SHA256 of the first part>` under ESCALATIONS_FEEDBACK_SECRET.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from core.settings import DEMO_FEEDBACK_SECRET, Settings

LINK_PLACEHOLDER = "{feedback_link}"


class BadToken(ValueError):
    """Not a link we issued (`forged`) or one past its time (`expired`)."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind


@dataclass(frozen=True)
class Claim:
    escalation_id: str
    key: str
    expires_at: datetime


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def signed_doc(token: str, mac: Callable[[str], str], what: str) -> dict[str, Any]:
    """The JSON object of a `<body>.<mac>` token whose MAC checks (BadToken `forged` if not)."""
    body, _, given = token.partition(".")
    theirs = given.encode("utf-8", errors="replace")  # any text: compared as bytes
    if not body or not given or not hmac.compare_digest(theirs, mac(body).encode()):
        raise BadToken("forged", f"This {what} is not one we sent, or it was altered.")
    try:
        doc = json.loads(_unb64(body))
    except (binascii.Error, ValueError):
        doc = None
    if not isinstance(doc, dict):
        raise BadToken("forged", f"This {what} cannot be read.")
    return doc


def feedback_secret_refusal(settings: Settings) -> str | None:
    """Why a process must not start with this feedback secret (None: it may)."""
    if settings.demo or settings.feedback_secret.get_secret_value() != DEMO_FEEDBACK_SECRET:
        return None
    return (
        "refusing to start: ESCALATIONS_FEEDBACK_SECRET is the public demo value and "
        "ESCALATIONS_DEMO is not true; set it to a long random secret, the same on the API and "
        "every worker"
    )


class FeedbackLinks:
    def __init__(self, secret: str, base_url: str) -> None:
        self._key = secret.encode()
        self.base_url = base_url.rstrip("/")

    @classmethod
    def from_settings(cls, settings: Settings) -> FeedbackLinks:
        return cls(settings.feedback_secret.get_secret_value(), settings.public_url)

    def _mac(self, body: str) -> str:
        return _b64(
            hmac.new(
                self._key, b"feedback\x00" + body.encode("utf-8", errors="replace"), hashlib.sha256
            ).digest()
        )

    def token(self, escalation_id: str, key: str, expires_at: datetime) -> str:
        doc = {"e": escalation_id, "k": key, "x": int(expires_at.timestamp())}
        body = _b64(json.dumps(doc, separators=(",", ":"), sort_keys=True).encode())
        return f"{body}.{self._mac(body)}"

    def url(self, escalation_id: str, key: str, expires_at: datetime) -> str:
        return f"{self.base_url}/feedback/{self.token(escalation_id, key, expires_at)}"

    def verify(self, token: str, now: datetime | None = None) -> Claim:
        doc = signed_doc(token, self._mac, "feedback link")
        try:
            claim = Claim(
                escalation_id=str(doc["e"]),
                key=str(doc["k"]),
                expires_at=datetime.fromtimestamp(int(doc["x"]), UTC),
            )
        except (ValueError, KeyError, TypeError, OverflowError):
            raise BadToken("forged", "This feedback link cannot be read.") from None
        if (now or datetime.now(UTC)) >= claim.expires_at:
            raise BadToken(
                "expired",
                "This feedback link expired on "
                f"{claim.expires_at.strftime('%d %B %Y, %H:%M')} UTC; please contact us instead.",
            )
        return claim
