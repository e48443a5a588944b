"""GET /escalations/{id}/handover: the warm-transfer packet through the API."""

from __future__ import annotations

from tests.api.conftest import auth, request_body


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
    assert hours["technical-specialists"] == ("uk_office", "Europe/London")
    assert hours["billing-specialists"] == ("uk_extended", "Europe/London")
    assert packet["callback_grace_min"] == 10


async def test_the_handover_of_an_unknown_case_is_404(stack):
    r = await stack.http.get("/escalations/E-0000000000000000/handover", headers=auth("agent"))
    assert r.status_code == 404 and r.json()["error"] == "not_found", r.text
