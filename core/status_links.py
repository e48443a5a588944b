"""The customer's status link: a signed, expiring token naming one case, in every message the
customer gets (the `deliver` activity adds it; the secret never enters a workflow). It opens the
case's status page (api/customer), which shows what the customer may know and takes what they
add. It is the customer's only authority, so it is bound to the case and expires; an altered
link is refused (403), an expired one answered 410 with where to turn instead.

Token: `<base64url JSON {"e": escalation id, "x": expiry, unix s}>.<base64url HMAC-SHA256 of
"status\\0" + the first part>` under ESCALATIONS_FEEDBACK_SECRET (the purpose in the MAC keeps
a status token from ever passing as a feedback token, and the other way round).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from core.feedback import BadToken, _b64, signed_doc
from core.settings import Settings

TOKEN_MAX = 512


@dataclass(frozen=True)
class StatusClaim:
    escalation_id: str
    expires_at: datetime


class StatusLinks:
    def __init__(self, secret: str, base_url: str, days: float = 30) -> None:
        self._key = secret.encode()
        self.base_url = base_url.rstrip("/")
        self.lifetime = timedelta(days=days)

    @classmethod
    def from_settings(cls, settings: Settings) -> StatusLinks:
        return cls(
            settings.feedback_secret.get_secret_value(),
            settings.public_url,
            settings.status_link_days,
        )

    def _mac(self, body: str) -> str:
        raw = b"status\x00" + body.encode("utf-8", errors="replace")
        return _b64(hmac.new(self._key, raw, hashlib.sha256).digest())

    def token(self, escalation_id: str, expires_at: datetime) -> str:
        doc = {"e": escalation_id, "x": int(expires_at.timestamp())}
        body = _b64(json.dumps(doc, separators=(",", ":"), sort_keys=True).encode())
        return f"{body}.{self._mac(body)}"

    def url(self, escalation_id: str, sent_at: datetime) -> str:
        """The link of a message sent at `sent_at`: it opens the page for the link's lifetime."""
        return f"{self.base_url}/status/{self.token(escalation_id, sent_at + self.lifetime)}"

    def verify(self, token: str, now: datetime | None = None) -> StatusClaim:
        doc = signed_doc(token, self._mac, "link")
        try:
            claim = StatusClaim(
                escalation_id=str(doc["e"]),
                expires_at=datetime.fromtimestamp(int(doc["x"]), UTC),
            )
        except (ValueError, KeyError, TypeError, OverflowError):
            raise BadToken("forged", "This link cannot be read.") from None
        if (now or datetime.now(UTC)) >= claim.expires_at:
            raise BadToken(
                "expired",
                "This link expired on "
                f"{claim.expires_at.strftime('%d %B %Y, %H:%M')} UTC. The newest message we sent "
                "you carries a fresh one; or contact us on any channel below.",
            )
        return claim
