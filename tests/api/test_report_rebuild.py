"""The rebuild command fills the report store from Temporal for a case whose facts it never got
(this module's worker writes none), and running it again changes nothing."""

from __future__ import annotations

from sqlalchemy import select

from api.reports.rebuild import rebuild
from core.report_store import ReportStore
from core.report_store.schema import cases, events
from tests.api.conftest import auth
from tests.report_store.test_writes import dump


async def test_rebuild_writes_a_case_s_facts_once(stack, tmp_path):
    eid = (await stack.open())["id"]
    await stack.consult_answer(eid, "refunded", resolves=True)
    await stack.wait_stage(eid, "follow_up")
    only = [f"WorkflowId = 'escalation-{eid}'"]
    from api.visibility import visibility_query

    assert await stack.wait_listed(visibility_query(only), 1) == 1
    store = ReportStore(f"sqlite:///{tmp_path / 'reports.sqlite'}")
    try:
        assert await rebuild(stack.client, store, only) == 1
        once = dump(store)
        assert await rebuild(stack.client, store, only) == 1
        assert dump(store) == once
        timeline = (
            await stack.http.get(f"/escalations/{eid}/timeline", headers=auth("operator"))
        ).json()
        with store.engine.connect() as conn:
            row = conn.execute(
                select(
                    cases.c.stage,
                    cases.c.resolved_tier,
                    cases.c.opened_by_id,
                    cases.c.trigger,
                    cases.c.customer_id,
                )
            ).one()
            actions = [a for (a,) in conn.execute(select(events.c.action).order_by(events.c.seq))]
        assert tuple(row) == ("follow_up", "helpline", "p-agent", "customer_request", "C-1001")
        assert actions == [e["action"] for e in timeline["items"]]
    finally:
        store.close()
