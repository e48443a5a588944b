"""Encryption of every Temporal payload (customer contact details, free text, results, memo).

`EncryptionCodec` is a Temporal payload codec: it sits after the pydantic payload converter, so
what reaches the Temporal server (and its history, visibility memo and UI) is AES-256-GCM
ciphertext. Based on the Temporal samples' encryption codec (samples-python `encryption/`), with
key ids and rotation:

- every encoded payload records the id of the key that encrypted it
  (metadata `encoding: binary/encrypted`, `encryption-key-id: <id>`);
- several keys can be configured at once; the active one encrypts, any configured one decrypts,
  so a key is rotated by adding a new key, making it active, and keeping the old one for as long
  as histories encrypted with it must stay readable;
- outside the demo a payload in the clear is refused (every payload the service reads was
  encrypted by it; a plain one was typed in by someone with namespace access); in the demo it
  passes through unchanged.

The wire format (12-byte random nonce followed by the AES-GCM ciphertext and tag, over the
serialised inner `Payload`) is the one of the samples, so codec servers written in other SDKs
interoperate.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping, Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from google.protobuf.message import DecodeError
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

from core.settings import Settings

ENCODING = b"binary/encrypted"
KEY_ID_METADATA = "encryption-key-id"
NONCE_BYTES = 12
KEY_BYTES = 32

# The public demo key: used only when ESCALATIONS_DEMO is true and no keys are configured.
# Anything encrypted with it is readable by anyone who has this source code.
DEMO_PAYLOAD_KEY_ID = "demo-public-key"
DEMO_PAYLOAD_KEY = b"demo-key-not-secret-do-not-use!!"


REFUSED_PLAINTEXT = Payload(
    metadata={"encoding": b"json/plain"},
    data=b'{"refused": "a payload in the clear is refused outside the demo"}',
)


class PayloadKeyError(ValueError):
    """The payload keys are missing or malformed; the message is one line and says what to do."""


class PayloadDecryptError(ValueError):
    """An encrypted payload cannot be decrypted: unknown key id, wrong key, or tampered data."""


def parse_key(key_id: str, encoded: str) -> bytes:
    """A configured key: standard or URL-safe base64 of exactly 32 bytes (AES-256)."""
    text = encoded.strip()
    text += "=" * (-len(text) % 4)
    try:
        if "-" in text or "_" in text:
            raw = base64.b64decode(text, altchars=b"-_", validate=True)
        else:
            raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise PayloadKeyError(
            f"payload key {key_id!r} is not base64; generate one with "
            '`python -c "import base64,os;print(base64.b64encode(os.urandom(32)).decode())"`'
        ) from None
    if len(raw) != KEY_BYTES:
        raise PayloadKeyError(
            f"payload key {key_id!r} is {len(raw)} bytes; AES-256 needs exactly {KEY_BYTES} "
            "(base64 of 32 random bytes)"
        )
    return raw


class EncryptionCodec(PayloadCodec):
    """AES-256-GCM over whole payloads, with the key id in the metadata and key rotation."""

    def __init__(
        self, keys: Mapping[str, bytes], active_key_id: str, refuse_plaintext: bool = False
    ) -> None:
        super().__init__()
        self.refuse_plaintext = refuse_plaintext
        if not keys:
            raise PayloadKeyError("no payload keys given")
        if active_key_id not in keys:
            raise PayloadKeyError(
                f"the active payload key id {active_key_id!r} is not among the configured keys "
                f"({', '.join(sorted(keys))})"
            )
        for key_id, key in keys.items():
            if not key_id or len(key) != KEY_BYTES:
                raise PayloadKeyError(
                    f"payload key {key_id!r} must be {KEY_BYTES} bytes under a non-empty id"
                )
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self.key_id = active_key_id

    @property
    def key_ids(self) -> list[str]:
        return sorted(self._ciphers)

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        cipher = self._ciphers[self.key_id]
        out = []
        for p in payloads:
            nonce = os.urandom(NONCE_BYTES)
            out.append(
                Payload(
                    metadata={"encoding": ENCODING, KEY_ID_METADATA: self.key_id.encode()},
                    data=nonce + cipher.encrypt(nonce, p.SerializeToString(), None),
                )
            )
        return out

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decrypt(p) for p in payloads]

    def decrypt(self, p: Payload) -> Payload:
        if p.metadata.get("encoding", b"") != ENCODING:
            if self.refuse_plaintext:
                # Outside the demo every payload the service reads was encrypted by it; a plain
                # one was typed in by someone with namespace access (`temporal ... --input`).
                # It reads as a refusal that fits no model: the update or start carrying it is
                # rejected. (Raising here would fail the whole workflow task, again and again.)
                return REFUSED_PLAINTEXT
            return p  # the demo: histories written before encryption stay readable
        key_id = p.metadata.get(KEY_ID_METADATA, b"").decode(errors="replace")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise PayloadDecryptError(
                f"payload encrypted with unknown key id {key_id!r}; configured key ids: "
                f"{', '.join(self.key_ids)} (keep retired keys in ESCALATIONS_PAYLOAD_KEYS)"
            )
        if len(p.data) <= NONCE_BYTES:
            raise PayloadDecryptError(f"encrypted payload (key id {key_id!r}) is truncated")
        try:
            plain = cipher.decrypt(p.data[:NONCE_BYTES], p.data[NONCE_BYTES:], None)
        except InvalidTag:
            raise PayloadDecryptError(
                f"payload does not decrypt with key {key_id!r}: wrong key or tampered data"
            ) from None
        try:
            return Payload.FromString(plain)
        except DecodeError:
            raise PayloadDecryptError(
                f"payload decrypted with key {key_id!r} is not a Temporal payload"
            ) from None


def codec_from_settings(settings: Settings) -> EncryptionCodec:
    """The codec the settings describe; `PayloadKeyError` (one line) when they do not add up.

    Outside the demo, keys must be configured and the public demo key is refused.
    """
    keys = {
        key_id: parse_key(key_id, secret.get_secret_value())
        for key_id, secret in settings.payload_keys.items()
    }
    if not settings.demo:
        if not keys:
            raise PayloadKeyError(
                "refusing to start: no payload encryption keys. Set ESCALATIONS_PAYLOAD_KEYS="
                '\'{"<key id>": "<base64 of 32 random bytes>"}\' (and ESCALATIONS_PAYLOAD_KEY_ID '
                "if there are several), or ESCALATIONS_DEMO=true for a demo run"
            )
        if any(key == DEMO_PAYLOAD_KEY for key in keys.values()) or DEMO_PAYLOAD_KEY_ID in keys:
            raise PayloadKeyError(
                "refusing to start: ESCALATIONS_PAYLOAD_KEYS holds the public demo key and "
                "ESCALATIONS_DEMO is not true; configure a secret key"
            )
    active = settings.payload_key_id
    if active is None:
        if not keys:
            active = DEMO_PAYLOAD_KEY_ID
        elif len(keys) == 1:
            [active] = keys
        else:
            raise PayloadKeyError(
                f"several payload keys ({', '.join(sorted(keys))}): set ESCALATIONS_PAYLOAD_KEY_ID "
                "to the one that encrypts"
            )
    if settings.demo:
        keys.setdefault(DEMO_PAYLOAD_KEY_ID, DEMO_PAYLOAD_KEY)  # demo histories stay readable
    if active not in keys:
        raise PayloadKeyError(
            f"ESCALATIONS_PAYLOAD_KEY_ID={active!r} is not a key id of ESCALATIONS_PAYLOAD_KEYS "
            f"({', '.join(sorted(keys)) or 'none'})"
        )
    return EncryptionCodec(keys, active, refuse_plaintext=not settings.demo)
