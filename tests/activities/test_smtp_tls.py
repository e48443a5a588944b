"""STARTTLS to the mail relay: required, opportunistic (when the relay offers it) or off, against
a real aiosmtpd server with a certificate made here."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from pathlib import Path

import aiosmtplib
import pytest
from aiosmtpd.controller import Controller
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from activities.notify import build_email
from activities.smtp import SmtpSender
from core.settings import Settings
from tests.activities.conftest import RecordingHandler, free_port, make_settings
from tests.activities.test_notify import delivery


def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "relay.test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "relay.pem", tmp_path / "relay.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def relay(tmp_path: Path, offers_tls: bool) -> tuple[RecordingHandler, Controller, Path]:
    cert, key = self_signed(tmp_path)
    handler = RecordingHandler()
    tls = None
    if offers_tls:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(cert, key)
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), tls_context=tls)
    controller.start()
    return handler, controller, cert


async def send(settings: Settings) -> None:
    sender = SmtpSender(settings)
    try:
        await sender.send(
            build_email(delivery("email", "ada@example.com"), "a@b.test", "<m@x>", "k")
        )
    finally:
        await sender.aclose()


def tls_used(handler: RecordingHandler) -> bool:
    [session] = handler.sessions
    return session.ssl is not None


@pytest.mark.parametrize(
    ("mode", "offers_tls", "outcome"),
    [
        ("required", True, "tls"),
        ("required", False, "refused"),
        ("opportunistic", True, "tls"),
        ("opportunistic", False, "plain"),
        ("off", True, "plain"),
    ],
)
async def test_starttls_modes(tmp_path, mode, offers_tls, outcome):
    handler, controller, cert = relay(tmp_path, offers_tls)
    try:
        settings = make_settings(
            tmp_path, smtp_port=controller.port, smtp_starttls=mode, smtp_tls_ca=cert
        )
        if outcome == "refused":
            with pytest.raises(aiosmtplib.SMTPException):
                await send(settings)
            assert not handler.mails
            return
        await send(settings)
    finally:
        controller.stop()
    assert len(handler.mails) == 1
    assert tls_used(handler) == (outcome == "tls")


async def test_opportunistic_starttls_still_checks_the_certificate(tmp_path):
    """A relay offering STARTTLS with a certificate nobody vouches for gets nothing, in clear
    or otherwise (the activity retries; an operator sets ESCALATIONS_SMTP_TLS_CA)."""
    handler, controller, _ = relay(tmp_path, offers_tls=True)
    try:
        settings = make_settings(tmp_path, smtp_port=controller.port, smtp_starttls="opportunistic")
        with pytest.raises((aiosmtplib.SMTPException, ssl.SSLError)):
            await send(settings)
    finally:
        controller.stop()
    assert not handler.mails


def test_starttls_setting_reads_the_old_booleans():
    assert Settings(_env_file=None, smtp_starttls="true").smtp_starttls == "required"
    assert Settings(_env_file=None, smtp_starttls=False).smtp_starttls == "off"
    assert Settings(_env_file=None).smtp_starttls == "opportunistic"
