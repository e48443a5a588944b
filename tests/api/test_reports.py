"""GET /reports/summary over a small, known set of escalations."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest

from tests.api.conftest import auth

pytestmark = pytest.mark.timeout(90)


async def test_summary_counts_a_known_window(stack):
    since = datetime.now(UTC)  # same clock as the dev server; earlier tests' cases
    await asyncio.sleep(0.01)  # must stay out of the window
    # resolved at tier 1 (refund 40 <= 50 GBP, avoidable trigger)
    t1 = await stack.open(requested_remedy={"kind": "refund", "amount": 40, "currency": "GBP"})
    # resolved at the help line (unavoidable trigger)
    hl = await stack.open(trigger="technical_fault")
    await stack.wait_stage(hl["id"], "helpline_consult")
    r = await stack.http.post(
        f"/escalations/{hl['id']}/consult-answer",
        json={"resolves": True, "answer": "restart the router"},
        headers=auth("helpline"),
    )
    assert r.status_code == 200, r.text
    # still open with the escalated-accounts manager (a threat skips the help line)
    await stack.open(trigger="legal_threat")
    # cancelled
    c = await stack.open()
    await stack.wait_stage(c["id"], "helpline_consult")
    r = await stack.http.post(
        f"/escalations/{c['id']}/cancel", json={"reason": "dup"}, headers=auth("manager")
    )
    assert r.status_code == 200, r.text
    await stack.wait_stage(t1["id"], "follow_up")
    await stack.wait_stage(hl["id"], "follow_up")
    until = datetime.now(UTC) + timedelta(seconds=1)

    params = {"since": since.isoformat(), "until": until.isoformat()}
    deadline = time.monotonic() + 20
    while True:  # visibility is eventually consistent
        r = await stack.http.get("/reports/summary", params=params, headers=auth("executive"))
        assert r.status_code == 200, r.text
        report = r.json()
        settled = (
            report["resolved_at"]["tier1"] == 1
            and report["resolved_at"]["helpline"] == 1
            and report["open_by_stage"].get("specialist") == 1
            and report["median_time_to_resolution_s"] is not None
        )
        if settled or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.3)

    assert report["total"] == 4
    assert report["by_trigger"]["customer_request"] == 2
    assert report["by_trigger"]["technical_fault"] == 1
    assert report["by_trigger"]["legal_threat"] == 1
    assert report["by_trigger"]["social_media_threat"] == 0
    assert report["avoidable_share"] == pytest.approx(2 / 4)
    assert report["resolved_at"] == {"tier1": 1, "helpline": 1, "specialist": 0, "executive": 0}
    assert report["open_by_stage"]["specialist"] == 1
    assert report["open_by_stage"]["follow_up"] == 2  # resolved, check-ins still to come
    assert sum(report["open_by_stage"].values()) == 3
    assert report["sla_compliance"] == 1.0
    assert 0 <= report["median_time_to_resolution_s"] < 60


async def test_summary_of_an_empty_window(stack):
    r = await stack.http.get(
        "/reports/summary",
        headers=auth("operator"),
        params={"since": "2001-01-01T00:00:00", "until": "2001-01-02"},
    )
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["total"] == 0
    assert report["avoidable_share"] is None and report["sla_compliance"] is None
    assert report["median_time_to_resolution_s"] is None
    assert set(report) >= {
        "by_trigger",
        "avoidable_share",
        "resolved_at",
        "sla_compliance",
        "median_time_to_resolution_s",
        "open_by_stage",
    }


async def test_a_window_out_of_range_is_refused_before_temporal_is_asked(stack):
    for params, field in (
        ({"since": "0001-01-01T00:00:00Z"}, "since"),
        ({"until": "1999-12-31T23:59:59Z"}, "until"),
        ({"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, "until"),
    ):
        r = await stack.http.get("/reports/summary", params=params, headers=auth("executive"))
        assert r.status_code == 422, r.text
        body = r.json()
        assert body["error"] == "invalid" and body["detail"].startswith(f"{field}:"), body
        assert "Temporal" not in body["detail"] and "invalid" not in body["detail"].lower()


def test_a_servers_own_message_never_reaches_the_caller():
    from temporalio.service import RPCError, RPCStatusCode

    from api.temporal_errors import to_domain_error

    for status in (
        RPCStatusCode.INVALID_ARGUMENT,
        RPCStatusCode.FAILED_PRECONDITION,
        RPCStatusCode.ALREADY_EXISTS,
    ):
        err = to_domain_error(RPCError("secret server detail: year 1 out of range", status, b""))
        assert err is not None and "secret server detail" not in err.detail, (status, err.detail)
