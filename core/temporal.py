"""The one way every process connects to Temporal: dev server, cluster or Temporal Cloud."""

from __future__ import annotations

import dataclasses

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes
from temporalio.runtime import Runtime
from temporalio.service import TLSConfig

from core.codec import codec_from_settings
from core.settings import Settings


def data_converter(settings: Settings) -> DataConverter:
    """pydantic payloads, encrypted (core.codec): what every client of the service uses.

    Failure messages and stack traces are moved into an encoded payload too
    (`DefaultFailureConverterWithEncodedAttributes`): an error text can quote a customer's
    address. Raises `core.codec.PayloadKeyError` (one line) when the keys are not configured.
    """
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=codec_from_settings(settings),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


def tls_config(settings: Settings) -> bool | TLSConfig:
    if not settings.uses_tls:
        return False
    if not (
        settings.temporal_tls_client_cert
        or settings.temporal_tls_server_ca
        or settings.temporal_tls_server_name
    ):
        return True  # system roots, e.g. Temporal Cloud with an API key
    return TLSConfig(
        client_cert=settings.temporal_tls_client_cert.read_bytes()
        if settings.temporal_tls_client_cert
        else None,
        client_private_key=settings.temporal_tls_client_key.read_bytes()
        if settings.temporal_tls_client_key
        else None,
        server_root_ca_cert=settings.temporal_tls_server_ca.read_bytes()
        if settings.temporal_tls_server_ca
        else None,
        domain=settings.temporal_tls_server_name,
    )


async def connect(settings: Settings, runtime: Runtime | None = None, lazy: bool = False) -> Client:
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        tls=tls_config(settings),
        api_key=settings.temporal_api_key.get_secret_value() if settings.temporal_api_key else None,
        data_converter=data_converter(settings),
        runtime=runtime,
        lazy=lazy,
    )


async def add_search_attributes(client: Client, names: list[str] | None = None) -> None:
    """Register the contract's search attributes (all, or those named)."""
    from temporalio.api.enums.v1 import IndexedValueType
    from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest

    from workflows import search_attributes as sa

    await client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=client.namespace,
            search_attributes={
                key.name: IndexedValueType.ValueType(int(key.indexed_value_type))
                for key in sa.ALL
                if names is None or key.name in names
            },
        )
    )


async def ensure_search_attributes(client: Client) -> list[str]:
    """Register the contract's search attributes that the namespace lacks; returns those added.

    Idempotent. On Temporal Cloud, custom search attributes are created with tcld or the Cloud
    UI (the operator API is not open to namespace API keys); there a failure here is only logged.
    """
    from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest

    from workflows import search_attributes as sa

    existing = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=client.namespace)
    )
    missing = [key.name for key in sa.ALL if key.name not in existing.custom_attributes]
    if missing:
        await add_search_attributes(client, missing)
    return sorted(missing)
