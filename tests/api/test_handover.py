"""GET /escalations/{id}/handover: the warm-transfer packet through the API."""

from __future__ import annotations

from datetime import date

from core.policy import read_policy
from core.settings import CONFIG_DIR
from tests.api.conftest import auth, request_body


def stack_policy():
    return read_policy(CONFIG_DIR / "policy.toml", today=date.today())


async def test_the_handover_packet_through_the_api(stack):
    eid = (await stack.open())["id"]
    await stack.consult_answer(eid, "needs a billing specialist")
    r = await stack.http.get(f"/escalations/{eid}/handover", headers=auth("specialist"))
    assert r.status_code == 200, r.text
    packet = r.json()
    assert packet["request"]["summary"] == request_body()["summary"]
    assert packet["consult_question"] == "billing: Charged twice for March"
    assert packet["consult_answer"] == "needs a billing specialist"
    assert packet["triage_reason"].startswith("triage rule")
    assert packet["customer"]["tier"] == "standard"
    assert packet["previous_escalations"] == []
    # the case's own policy names each team's hours and the callback grace (the console shows
    # a contribution's deadline on its team's hours)
    hours = {h["team"]: (h["calendar"], h["timezone"]) for h in packet["team_hours"]}
    zones = {name: cal.timezone for name, cal in stack_policy().calendars.items()}
    assert zones["uk_office"].endswith("Europe/London")  # moved by the demo clock, if set
    assert hours["technical-specialists"] == ("uk_office", zones["uk_office"])
    assert hours["billing-specialists"] == ("uk_extended", zones["uk_extended"])
    assert packet["callback_grace_min"] == 10


async def test_the_handover_of_an_unknown_case_is_404(stack):
    r = await stack.http.get("/escalations/E-0000000000000000/handover", headers=auth("agent"))
    assert r.status_code == 404 and r.json()["error"] == "not_found", r.text
