"""The console's Jinja filters in words (no browser): what the case page prints for issue 22's
parts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from api.console import filters


def test_times_are_utc_in_the_html_for_the_script_to_localise():
    at = datetime(2026, 12, 3, 15, 30, tzinfo=timezone(timedelta(hours=1)))
    assert filters.when(at) == (
        '<time datetime="2026-12-03T14:30:00+00:00" data-local>Thu 03 Dec 14:30 UTC</time>'
    )
    assert str(filters.when(None)) == "&ndash;"
    soon = filters.countdown(datetime.now(UTC) + timedelta(hours=2, minutes=1))
    assert 'class="countdown"' in soon and "2 h 0 min left" in soon


def test_feedback_check_ins_amounts_and_answers_in_words():
    assert filters.check_in("0.1") == "check-in 1"
    assert filters.check_in("2.1") == "check-in 1 after resolution 3"  # reopened twice
    assert filters.amount(40.0, "GBP") == "40 GBP"
    assert filters.amount(None, "GBP") == "unknown"
    assert filters.yesno(False) == "no" and filters.yesno(None) == "unknown"


def test_timeline_actions_read_as_words():
    assert filters.action_words("owner_chased") == "chased the owner"
    assert filters.action_words("callback_missed") == "callback missed: breach of promise"
    assert filters.action_words("approval_granted") == "approval granted"
    assert "contribution_breached" in filters.ALARMING
