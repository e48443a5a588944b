"""CSV exports are opened in spreadsheets: a text cell that starts like a formula (= + - @, tab,
carriage return) is written with a leading single quote (OWASP's advice on CSV injection), while
numbers, negative ones included, stay numbers."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator

import httpx
import pytest

from api.main import create_app
from api.reports.service import csv_cell
from core.report_store import ReportStore
from core.settings import Settings
from tests.api.conftest import auth
from tests.report_store.data import at, case

NAMES = ['=HYPERLINK("http://evil.example/","x")', "+1+2", "-2+3", "@SUM(A1)", "\tTab", "\rCr"]


@pytest.fixture(scope="module")
async def http(tmp_path_factory) -> AsyncIterator[httpx.AsyncClient]:
    store = ReportStore(f"sqlite:///{tmp_path_factory.mktemp('csv') / 'reports.sqlite'}")
    store.write(
        [
            case(f"E-{i}", at(5 + i, 10), agent=(f"a{i}", name), team=name)
            for i, name in enumerate(NAMES)
        ]
    )
    app = create_app(Settings(demo=True), client=object(), report_store=store)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as c:
            yield c


async def test_formula_like_names_are_escaped_in_csv(http):
    r = await http.get("/reports/coaching", params={"format": "csv"}, headers=auth("manager"))
    assert r.status_code == 200, r.text
    rows = list(csv.DictReader(io.StringIO(r.text, newline="")))
    assert sorted(row["agent"] for row in rows) == sorted("'" + n for n in NAMES)
    assert {row["avoidable_escalations"] for row in rows} == {"1"}  # numbers untouched

    r = await http.get("/reports/sla", params={"format": "csv"}, headers=auth("manager"))
    teams = {row["team"] for row in csv.DictReader(io.StringIO(r.text, newline=""))}
    assert teams == {"'" + n for n in NAMES}

    # the JSON answer is data, not a spreadsheet: the names as they are
    r = await http.get("/reports/coaching", headers=auth("manager"))
    assert sorted(row["agent"] for row in r.json()["rows"]) == sorted(NAMES)


def test_numbers_stay_numbers_and_plain_text_stays_plain():
    assert csv_cell(-5) == -5 and csv_cell(-0.25) == -0.25 and csv_cell(3) == 3
    assert csv_cell(None) is None and csv_cell(True) is True
    assert csv_cell("billing") == "billing" and csv_cell("a=b") == "a=b"
    assert csv_cell("-5") == "'-5"  # text that looks like a number is still text
