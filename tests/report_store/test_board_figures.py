"""The manager's board figures that the report store answers (api/console/board.py): this week
against last and SLA compliance this month against last, at fixed days (UTC weeks and months,
as the store buckets them), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime

from api.console.board import stored_figures
from tests.report_store.data import case


def on(month: int, day: int, hour: int = 12) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def test_this_week_and_last_and_the_months_sla_compliance(store):
    store.write(
        [
            # last month (November): one case, both clocks met
            case("N1", on(11, 30), fr="met", res="met"),
            # last week (Mon 30 Nov - Sun 6 Dec): N1 above, and two in December
            case("D1", on(12, 1), fr="met", res="breached"),
            case("D2", on(12, 6, 23), fr="breached", res=None),  # resolution still running
            # this week, from Monday 7 Dec: two so far (the 9th is "today")
            case("D3", on(12, 7, 0), fr="met", res="met"),
            case("D4", on(12, 9), fr="met", res=None),
            case("later", on(12, 10)),  # after today: in neither
        ]
    )
    f = stored_figures(store, date(2026, 12, 9))
    assert (f.week, f.month) == (date(2026, 12, 7), date(2026, 12, 1))
    assert (f.opened_this_week, f.opened_last_week) == (2, 3)
    # December to the 9th: D1 (1 met, 1 breached), D2 (1 breached), D3 (2 met), D4 (1 met)
    assert f.clocks_this_month == (4, 2)
    assert f.clocks_last_month == (2, 0)


def test_a_month_with_no_ended_clock_has_no_compliance_figure(store):
    store.write([case("J1", on(1, 5), fr=None, res=None)])
    f = stored_figures(store, date(2026, 1, 5))
    assert f.clocks_this_month == (0, 0)
    assert f.opened_this_week == 1  # Monday 5 Jan 2026 opens its week
