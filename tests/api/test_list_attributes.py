"""How the lists read visibility: search attributes from their JSON payloads (api.gateway.
plain_attributes, far cheaper than the SDK's typed decoder) read as the SDK reads them, and "open"
asked as `CloseTime IS NULL`, or by status where a server refuses that."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from temporalio.api.common.v1 import Payload, SearchAttributes
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.converter import decode_typed_search_attributes, encode_search_attributes
from temporalio.service import RPCError, RPCStatusCode

from api import visibility
from api.visibility import plain_attributes
from workflows import search_attributes as sa


def test_the_lists_reading_of_search_attributes_is_the_sdks():
    due = datetime(2026, 12, 24, 16, 30, 15, 123456, tzinfo=UTC)
    pairs = [
        SearchAttributePair(sa.STAGE, "executive_signoff"),
        SearchAttributePair(sa.SLA_DUE_AT, due),
        SearchAttributePair(sa.SLA_BREACHED, False),
        SearchAttributePair(sa.PENDING_LEVEL, 2),
        SearchAttributePair(sa.PENDING_AUTHORITY, 600.0),
        SearchAttributePair(sa.ATTENTION, ["at_risk", "awaiting_ack"]),
    ]
    proto = SearchAttributes()
    encode_search_attributes(TypedSearchAttributes(pairs), proto)
    # as visibility sometimes answers: a keyword as a one-item list, a whole double as an int
    proto.indexed_fields[sa.SEVERITY.name].CopyFrom(
        Payload(metadata={"encoding": b"json/plain", "type": b"Keyword"}, data=b'["P2"]')
    )
    proto.indexed_fields[sa.PENDING_AUTHORITY.name].data = b"600"

    sdk = {p.key.name: p.value for p in decode_typed_search_attributes(proto)}
    ours = plain_attributes(proto)
    assert ours == sdk
    assert ours[sa.SLA_DUE_AT.name] == due and ours[sa.SEVERITY.name] == "P2"


async def test_a_server_that_refuses_close_time_is_null_is_asked_by_status(monkeypatch):
    monkeypatch.setitem(visibility._open_clause, "supported", True)
    asked: list[str] = []

    async def server(query: str) -> str:
        asked.append(query)
        if visibility.OPEN in query:
            raise RPCError("invalid query: CloseTime IS NULL", RPCStatusCode.INVALID_ARGUMENT, b"")
        return "page"

    query = f"`EscalationStage` = 'specialist' AND {visibility.OPEN}"
    assert await visibility._open_fallback(server, query) == "page"
    assert await visibility._open_fallback(server, query) == "page"  # remembered: asked once
    running = f"`EscalationStage` = 'specialist' AND {visibility.RUNNING}"
    assert asked == [query, running, running]

    async def down(query: str) -> str:
        raise RPCError("unavailable", RPCStatusCode.UNAVAILABLE, b"")

    monkeypatch.setitem(visibility._open_clause, "supported", True)
    with pytest.raises(RPCError):  # any other failure is the caller's, and changes nothing
        await visibility._open_fallback(down, query)
    assert visibility._open_clause["supported"]
