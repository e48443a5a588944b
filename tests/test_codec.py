"""The payload encryption codec (core/codec.py) and the data converter every client uses."""

from __future__ import annotations

import base64
import os

import pytest
from pydantic import SecretStr
from temporalio.api.common.v1 import Payload
from temporalio.api.failure.v1 import Failure

from core.codec import (
    DEMO_PAYLOAD_KEY,
    DEMO_PAYLOAD_KEY_ID,
    ENCODING,
    EncryptionCodec,
    PayloadDecryptError,
    PayloadKeyError,
    codec_from_settings,
)
from core.settings import Settings
from core.temporal import data_converter
from workflows.models import Contact

K1, K2 = os.urandom(32), os.urandom(32)


def b64(key: bytes) -> str:
    return base64.b64encode(key).decode()


def plain(text: str = '{"email":"ada.lovelace@example.com"}') -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=text.encode())


async def test_round_trip_encrypts_and_restores_the_payload() -> None:
    codec = EncryptionCodec({"k1": K1}, "k1")
    original = plain()
    [encoded] = await codec.encode([original])
    assert encoded.metadata["encoding"] == ENCODING
    assert encoded.metadata["encryption-key-id"] == b"k1"
    assert b"ada.lovelace" not in encoded.SerializeToString()
    assert b"json/plain" not in encoded.SerializeToString()  # inner metadata is hidden too
    [decoded] = await codec.decode([encoded])
    assert decoded == original


async def test_each_encoding_uses_a_fresh_nonce() -> None:
    codec = EncryptionCodec({"k1": K1}, "k1")
    a, b = await codec.encode([plain(), plain()])
    assert a.data[:12] != b.data[:12] and a.data != b.data


async def test_unknown_key_id_is_a_clear_error() -> None:
    [encoded] = await EncryptionCodec({"old": K1}, "old").encode([plain()])
    with pytest.raises(PayloadDecryptError, match="unknown key id 'old'.*k2"):
        await EncryptionCodec({"k2": K2}, "k2").decode([encoded])


async def test_wrong_key_under_the_same_id_is_a_clear_error() -> None:
    [encoded] = await EncryptionCodec({"k1": K1}, "k1").encode([plain()])
    with pytest.raises(PayloadDecryptError, match="wrong key or tampered"):
        await EncryptionCodec({"k1": K2}, "k1").decode([encoded])


@pytest.mark.parametrize("position", [0, 12, -1])  # nonce, ciphertext, tag
async def test_tampered_ciphertext_is_refused(position: int) -> None:
    codec = EncryptionCodec({"k1": K1}, "k1")
    [encoded] = await codec.encode([plain()])
    data = bytearray(encoded.data)
    data[position] ^= 0x01
    encoded.data = bytes(data)
    with pytest.raises(PayloadDecryptError, match="tampered"):
        await codec.decode([encoded])


async def test_truncated_ciphertext_is_refused() -> None:
    codec = EncryptionCodec({"k1": K1}, "k1")
    [encoded] = await codec.encode([plain()])
    encoded.data = encoded.data[:5]
    with pytest.raises(PayloadDecryptError, match="truncated"):
        await codec.decode([encoded])


async def test_unencrypted_payloads_pass_through_unchanged() -> None:
    codec = EncryptionCodec({"k1": K1}, "k1")
    old = [plain(), Payload(metadata={"encoding": b"binary/null"}), Payload()]
    assert await codec.decode(old) == old


async def test_rotation_decrypts_old_payloads_and_encrypts_with_the_new_key() -> None:
    [before] = await EncryptionCodec({"k1": K1}, "k1").encode([plain("before")])
    rotated = EncryptionCodec({"k1": K1, "k2": K2}, "k2")
    [after] = await rotated.encode([plain("after")])
    assert after.metadata["encryption-key-id"] == b"k2"
    assert await rotated.decode([before, after]) == [plain("before"), plain("after")]
    with pytest.raises(PayloadDecryptError, match="unknown key id 'k2'"):
        await EncryptionCodec({"k1": K1}, "k1").decode([after])  # an old process cannot


# --- configuration ----------------------------------------------------------------------------


def settings(**kw) -> Settings:
    return Settings(_env_file=None, **kw)


def test_outside_the_demo_without_keys_refuses_in_one_line() -> None:
    with pytest.raises(PayloadKeyError, match="ESCALATIONS_PAYLOAD_KEYS") as e:
        data_converter(settings(demo=False))
    assert "\n" not in str(e.value)


def test_outside_the_demo_the_public_demo_key_is_refused() -> None:
    with pytest.raises(PayloadKeyError, match="demo key"):
        codec_from_settings(settings(payload_keys={"mine": SecretStr(b64(DEMO_PAYLOAD_KEY))}))


def test_the_demo_uses_the_demo_key_when_none_is_configured() -> None:
    codec = codec_from_settings(settings(demo=True))
    assert codec.key_id == DEMO_PAYLOAD_KEY_ID


def test_one_configured_key_is_the_active_one() -> None:
    codec = codec_from_settings(settings(payload_keys={"2025-06": SecretStr(b64(K1))}))
    assert codec.key_id == "2025-06" and codec.key_ids == ["2025-06"]


def test_several_keys_need_the_active_id() -> None:
    keys = {"k1": SecretStr(b64(K1)), "k2": SecretStr(b64(K2))}
    with pytest.raises(PayloadKeyError, match="ESCALATIONS_PAYLOAD_KEY_ID"):
        codec_from_settings(settings(payload_keys=keys))
    with pytest.raises(PayloadKeyError, match="'k3' is not a key id"):
        codec_from_settings(settings(payload_keys=keys, payload_key_id="k3"))
    assert codec_from_settings(settings(payload_keys=keys, payload_key_id="k2")).key_id == "k2"


@pytest.mark.parametrize(
    "value,message",
    [
        ("not base64!", "not base64"),
        (b64(os.urandom(16)), "16 bytes"),
    ],
)
def test_malformed_keys_are_refused(value: str, message: str) -> None:
    with pytest.raises(PayloadKeyError, match=message):
        codec_from_settings(settings(payload_keys={"k": SecretStr(value)}))


def test_keys_come_from_the_environment_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    urlsafe = base64.urlsafe_b64encode(K2).decode().rstrip("=")
    monkeypatch.setenv("ESCALATIONS_PAYLOAD_KEYS", f'{{"k1": "{b64(K1)}", "k2": "{urlsafe}"}}')
    monkeypatch.setenv("ESCALATIONS_PAYLOAD_KEY_ID", "k2")
    s = settings()
    assert "k1" not in repr(s) or b64(K1) not in repr(s)  # secrets are not printed
    codec = codec_from_settings(s)
    assert codec.key_id == "k2" and codec.key_ids == ["k1", "k2"]


async def test_the_data_converter_encrypts_pydantic_values_and_failures() -> None:
    converter = data_converter(settings(payload_keys={"k1": SecretStr(b64(K1))}))
    contact = Contact(email="ada.lovelace@example.com", phone="+44 20 7946 0999")
    [payload] = await converter.encode([contact])
    assert payload.metadata["encryption-key-id"] == b"k1"
    assert b"ada.lovelace" not in payload.data
    assert await converter.decode([payload], [Contact]) == [contact]

    failure = Failure()
    await converter.encode_failure(ValueError("mail to ada.lovelace@example.com failed"), failure)
    assert b"ada.lovelace" not in failure.SerializeToString()
    error = await converter.decode_failure(failure)
    assert "ada.lovelace@example.com" in str(error)


# --- on the dev server: what Temporal stores is ciphertext -------------------------------------

EMAIL, PHONE = "ada.lovelace@example.com", "+44 20 7946 0999"


def _in_base64_strings(secret: str, exported: str) -> bool:
    """Whether `secret` is in any base64-decodable string of a history's JSON export."""
    import json
    import re

    found = False

    def walk(node) -> None:
        nonlocal found
        if isinstance(node, dict):
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
        elif isinstance(node, str) and re.fullmatch(r"[A-Za-z0-9+/=_-]{8,}", node):
            try:
                found |= secret.encode() in base64.b64decode(node + "=" * (-len(node) % 4))
            except ValueError:
                pass

    walk(json.loads(exported))
    return found


async def test_history_holds_no_personal_data_in_the_clear(dev_env) -> None:
    import uuid

    from temporalio.client import Client

    from tests.conftest import run_worker
    from tests.workflows.fakes import World
    from tests.workflows.helpers import request, start, wait_for, wait_until
    from workflows.escalation import EscalationWorkflow
    from workflows.models import Customer

    plain_client = dev_env.client
    client = await Client.connect(
        plain_client.service_client.config.target_host,
        namespace=plain_client.namespace,
        data_converter=data_converter(settings(demo=True)),
    )
    marker = uuid.uuid4().hex[:8]
    summary = f"Charged twice for March {marker}"
    details = f"The customer read out card ending 4242 on the call {marker}"
    req = request(
        amount=40,
        customer=Customer(
            id="C-PII",
            name="Ada Lovelace",
            contact=Contact(email=EMAIL, phone=PHONE, preferred_channel="email"),
        ),
        summary=summary,
        details=details,
    )
    world = World()
    async with run_worker(
        client, workflows=[EscalationWorkflow], activities=world.activities()
    ) as task_queue:
        handle = await start(client, task_queue, req)
        # A 40 GBP refund is granted at tier 1 and the customer is told by e-mail: the history
        # then holds the input, activity arguments and results, memo, timers and the update path.
        view = await wait_for(handle, lambda v: v.stage not in ("triage", "tier1_exception"))
        await wait_until(lambda: any(d.address == EMAIL for d in world.deliveries))
        # Reading through the encrypting client works.
        assert view.customer.contact.email == EMAIL
        assert view.customer.contact.phone == PHONE
        assert view.summary == summary

        history = await plain_client.get_workflow_handle(handle.id).fetch_history()
        await handle.terminate("test finished")

    # The JSON export shows payload bytes in base64, so look in the raw bytes as well.
    text = history.to_json()
    raw = b"".join(e.SerializeToString() for e in history.events)
    assert len(history.events) > 5
    # Fragments long enough not to turn up by chance in timestamps, ids or ciphertext
    # ("7946" alone once matched a timestamp's nanoseconds).
    for secret in (EMAIL, PHONE, summary, details, marker, "ada.lovelace", "7946 0999", "Lovelace"):
        assert secret not in text, f"{secret!r} in the exported history"
        assert secret.encode() not in raw, f"{secret!r} in the stored history"
        assert not _in_base64_strings(secret, text), f"{secret!r} base64 in the export"
    assert "binary/encrypted" in text or "YmluYXJ5L2VuY3J5cHRlZA" in text

    # The plain client sees ciphertext only; the encrypting one reads the same history.
    described = await plain_client.get_workflow_handle(handle.id).describe()
    assert all(
        p.metadata.get("encoding") == ENCODING
        for p in described.raw_description.workflow_execution_info.memo.fields.values()
    )
