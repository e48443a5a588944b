"""Jinja filters of the console: times (UTC in the HTML, the reader's zone after the script),
durations, money."""

from __future__ import annotations

from datetime import UTC, datetime

from jinja2 import Environment
from markupsafe import Markup, escape

from api.console.forms import options
from workflows.access import Action, role_refusal


def when(at: datetime | None) -> Markup:
    """A <time> the script shows in the reader's time zone; without it, UTC."""
    if at is None:
        return Markup("&ndash;")
    at = at.astimezone(UTC)
    # an ISO time and a strftime of fixed fields hold nothing to escape; a page has a hundred
    # of these, and Markup.format was half its render time
    text = at.strftime("%a %d %b %H:%M UTC")
    return Markup(f'<time datetime="{at.isoformat()}" data-local>{text}</time>')


def countdown(at: datetime | None) -> Markup:
    """Time left until `at`, counted down live by the script."""
    if at is None:
        return Markup("")
    at = at.astimezone(UTC)
    left = (at - datetime.now(UTC)).total_seconds()
    return Markup(f'<span class="countdown" data-due="{at.isoformat()}">{duration(left)}</span>')


def duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    past = seconds < 0
    s = int(abs(seconds))
    d, rem = divmod(s, 86400)
    h, rem = divmod(rem, 3600)
    m = rem // 60
    parts = [f"{d} d"] * bool(d) + [f"{h} h"] * bool(h) + [f"{m} min"]
    text = " ".join(parts[:2])
    return f"overdue by {text}" if past else f"{text} left"


def business(seconds: float | None) -> str:
    if seconds is None:
        return ""
    h, rem = divmod(int(max(seconds, 0)), 3600)
    return f"{h} h {rem // 60} min"


def money(remedy) -> str:
    return "" if remedy is None else f"{remedy.amount:g} {escape(remedy.currency)}"


def may(person, action: str) -> bool:
    """Whether the access table lets the person's role take the action (nav links)."""
    return role_refusal(Action(action), person.role) is None


def amount(value: float | None, currency: str, unknown: str = "unknown") -> str:
    return unknown if value is None else f"{value:g} {currency}"


def yesno(value: bool | None) -> str:
    return "unknown" if value is None else "yes" if value else "no"


def check_in(key: str) -> str:
    """A feedback's check-in key ("<reopen count>.<number>") in words."""
    resolution, _, number = key.partition(".")
    if not number:
        return key or "–"
    if not resolution.isdigit() or resolution == "0":
        return f"check-in {number}"
    return f"check-in {number} after resolution {int(resolution) + 1}"  # reopened in between


# Timeline actions whose words say more than the action's name (the rest: its name in words)
ACTION_WORDS = {
    "reassigned": "reassigned the case",
    "owner_chased": "chased the owner",
    "ownership_taken": "took ownership",
    "callback_promised": "callback promised",
    "callback_done": "callback made",
    "callback_reminder": "callback reminder sent",
    "callback_missed": "callback missed: breach of promise",
    "contribution_requested": "contribution asked of another team",
    "contribution_answered": "contribution answered",
    "contribution_breached": "contribution not answered in time",
    "contribution_deadline_moved": "contribution deadline moved to the resolution clock's",
    "feedback_received": "customer feedback received",
    "triaged": "triaged",
}
# Entries a reader should not miss (shown as breaches)
ALARMING = frozenset(
    {
        "sla_breached",
        "callback_missed",
        "contribution_breached",
        "notification_failed",
        "routing_failed",
    }
)


def action_words(action: str) -> str:
    return ACTION_WORDS.get(action, action.replace("_", " "))


def install(env: Environment) -> None:
    env.globals["may"] = may
    env.filters.update(
        when=when,
        countdown=countdown,
        duration=duration,
        business=business,
        money=money,
        amount=amount,
        yesno=yesno,
        check_in=check_in,
        action_words=action_words,
    )
    env.globals["alarming"] = ALARMING
    env.globals["options"] = options  # a case form's select: its fixed or the case's choices
