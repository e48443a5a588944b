"""The customer-history activity over a hand-made data set, on SQLite and PostgreSQL: the window,
the case asking left out, goodwill summed per currency, newest first, the limit against the
count, and nothing of other customers."""

from __future__ import annotations

from datetime import timedelta

from temporalio.testing import ActivityEnvironment

from activities.history import HistoryActivities
from tests.report_store.data import at, case
from workflows.messages import CaseFacts, CustomerHistoryQuery


def of(
    customer: str | None, facts: CaseFacts, currency: str = "GBP", outcome: str = ""
) -> CaseFacts:
    facts.case.customer_id = customer
    facts.case.currency = currency if facts.case.granted_amount is not None else None
    facts.case.outcome = outcome or None
    return facts


DATA = [
    of("C-1", case("H0", at(1, 9), granted=999)),  # before the window
    of("C-1", case("H1", at(3, 9), granted=40, resolved="tier1"), outcome="refund"),
    of("C-1", case("H2", at(4, 9), granted=25.5, root_cause="late delivery"), currency="EUR"),
    of("C-1", case("H3", at(5, 9), granted=10)),
    of("C-1", case("H4", at(6, 9))),  # nothing granted
    of("C-1", case("ASK", at(7, 9), granted=500)),  # the case asking
    of("C-2", case("X1", at(5, 9), granted=70)),  # another customer
    of(None, case("X2", at(5, 10), granted=70)),  # written before customers were stored
]


async def history(store, **kw):
    q = CustomerHistoryQuery(customer_id="C-1", since=at(2, 0), exclude_id="ASK", **kw)
    return await ActivityEnvironment().run(HistoryActivities(store).customer_history, q)


async def test_a_customer_s_year_newest_first_with_goodwill_per_currency(store):
    store.write(DATA)
    h = await history(store)
    assert [e.escalation_id for e in h.escalations] == ["H4", "H3", "H2", "H1"]
    assert h.count == 4
    assert h.goodwill_granted == {"EUR": 25.5, "GBP": 50.0}
    h1 = h.escalations[-1]
    assert (h1.opened_at, h1.resolved_tier, h1.outcome, h1.granted_amount, h1.currency) == (
        at(3, 9),
        "tier1",
        "refund",
        40.0,
        "GBP",
    )
    assert h.escalations[2].root_cause == "late delivery"


async def test_the_limit_cuts_the_list_not_the_count_or_the_sums(store):
    store.write(DATA)
    h = await history(store, limit=2)
    assert [e.escalation_id for e in h.escalations] == ["H4", "H3"]
    assert h.count == 4
    assert h.goodwill_granted == {"EUR": 25.5, "GBP": 50.0}


async def test_the_window_starts_at_since_inclusive(store):
    store.write(DATA)
    q = CustomerHistoryQuery(customer_id="C-1", since=at(4, 9))  # no exclusion: ASK counts
    h = await ActivityEnvironment().run(HistoryActivities(store).customer_history, q)
    assert [e.escalation_id for e in h.escalations] == ["ASK", "H4", "H3", "H2"]
    assert h.goodwill_granted == {"EUR": 25.5, "GBP": 510.0}


async def test_a_customer_without_escalations_has_an_empty_history(store):
    store.write(DATA)
    q = CustomerHistoryQuery(customer_id="C-9", since=at(1, 0) - timedelta(days=365))
    h = await ActivityEnvironment().run(HistoryActivities(store).customer_history, q)
    assert (h.escalations, h.count, h.goodwill_granted) == ([], 0, {})
