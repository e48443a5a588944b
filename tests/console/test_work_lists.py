""" "My work" on the real stack (a dev server of this module's own): each part of an inbox is one
visibility query sorted into its sections, and a part with more than a page of matches asks once
per section instead (`LIST_SIZE` made small here), with the same answer."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from api.console import work
from core.directory import load_directory
from core.settings import CONFIG_DIR
from tests.api.conftest import Stack, auth

PEOPLE = load_directory(CONFIG_DIR / "people.demo.toml")


def person(person_id: str):
    found = PEOPLE.by_id(person_id)
    assert found is not None
    return found


async def transferred(stack: Stack, amount: float) -> str:
    remedy = {"kind": "refund", "amount": amount, "currency": "GBP", "description": "refund"}
    eid = (await stack.open(requested_remedy=remedy))["id"]
    await stack.consult_answer(eid)
    await stack.wait_stage(eid, "specialist")
    return eid


async def to_signoff(stack: Stack, amount: float) -> str:
    eid = await transferred(stack, amount)
    r = await stack.http.post(f"/escalations/{eid}/acknowledge", headers=auth("specialist"))
    assert r.status_code == 200, r.text
    remedy = {"kind": "refund", "amount": amount, "currency": "GBP", "description": "refund"}
    r = await stack.http.post(
        f"/escalations/{eid}/proposals", json={"remedy": remedy}, headers=auth("specialist")
    )
    assert r.json()["stage"] == "executive_signoff", r.text
    return eid


async def sections_until(
    stack: Stack, who: str, ok: Callable[[dict[str, set[str]]], bool], timeout: float = 10
) -> dict[str, set[str]]:
    """The reader's sections (title -> case ids) once `ok`: visibility follows within seconds."""
    deadline = time.monotonic() + timeout
    while True:
        found = {
            s.title: {i.case.id for i in s.items}
            for s in await work.my_work(stack.client, person(who))
        }
        if ok(found) or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.2)


async def test_approvals_are_sorted_by_the_readers_authority_from_one_query(stack, monkeypatch):
    small, middle, large = [await to_signoff(stack, a) for a in (300, 600, 2000)]
    may, see = "Approvals you may decide", "Approvals you can see but not decide"

    found = await sections_until(stack, "p-supervisor", lambda f: len(f[may] | f[see]) == 3)
    assert found[may] == {small} and found[see] == {middle, large}  # authority 500
    found = await sections_until(stack, "p-executive", lambda f: len(f[may]) == 3)
    assert found[may] == {small, middle, large} and found[see] == set()

    # more than a page waiting: each section asks for itself (a page of one here)
    monkeypatch.setattr(work, "LIST_SIZE", 1)
    found = await sections_until(stack, "p-supervisor", lambda f: True)
    assert found[may] == {small} and len(found[see]) == 1 and found[see] < {middle, large}


async def test_an_owner_sees_a_transfer_to_acknowledge_then_as_their_own(stack):
    eid = await transferred(stack, 200)
    owner = (await stack.wait_stage(eid, "specialist"))["assignee"]
    to_ack, own = "Cases to acknowledge", "Cases you own"
    found = await sections_until(stack, owner, lambda f: eid in f[to_ack])
    assert eid in found[to_ack] and eid not in found[own]

    r = await stack.http.post(f"/escalations/{eid}/acknowledge", headers=auth("specialist"))
    assert r.status_code == 200, r.text
    owner = r.json()["assignee"]  # a teammate who acknowledges takes the case over
    found = await sections_until(stack, owner, lambda f: eid in f[own])
    assert eid in found[own] and eid not in found[to_ack]


async def test_the_managers_board_lists_an_unacknowledged_transfer_from_one_page_or_per_section(
    stack, monkeypatch
):
    eid = await transferred(stack, 200)
    unacked = "Unacknowledged transfers"
    found = await sections_until(stack, "p-manager", lambda f: eid in f[unacked])
    assert eid in found[unacked] and eid not in found["Breached cases"]

    # more flagged cases than a page (of two here): the board's sections ask for themselves
    for amount in (250, 260):
        await transferred(stack, amount)
    monkeypatch.setattr(work, "LIST_SIZE", 1)
    found = await sections_until(stack, "p-manager", lambda f: len(f[unacked]) == 1)
    assert len(found[unacked]) == 1 and found["Undelivered messages"] == set()
