"""The session environments start offline and carry the contract's search attributes."""

from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest

from core.temporal import ensure_search_attributes
from workflows import search_attributes as sa


async def test_dev_server_has_the_contract_search_attributes(dev_env):
    client = dev_env.client
    resp = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=client.namespace)
    )
    assert {k.name for k in sa.ALL} <= set(resp.custom_attributes)
    # the project's own start-up registration is idempotent
    assert await ensure_search_attributes(client) == []


async def test_time_skipping_server_starts(ts_env):
    assert ts_env.supports_time_skipping
