"""Jinja filters of the console: times (UTC in the HTML, the reader's zone after the script),
durations, money."""

from __future__ import annotations

from datetime import UTC, datetime

from jinja2 import Environment
from markupsafe import Markup, escape

from workflows.access import Action, role_refusal


def when(at: datetime | None) -> Markup:
    """A <time> the script shows in the reader's time zone; without it, UTC."""
    if at is None:
        return Markup("&ndash;")
    at = at.astimezone(UTC)
    text = at.strftime("%a %d %b %H:%M UTC")
    return Markup('<time datetime="{}" data-local>{}</time>').format(at.isoformat(), text)


def countdown(at: datetime | None) -> Markup:
    """Time left until `at`, counted down live by the script."""
    if at is None:
        return Markup("")
    at = at.astimezone(UTC)
    left = (at - datetime.now(UTC)).total_seconds()
    return Markup('<span class="countdown" data-due="{}">{}</span>').format(
        at.isoformat(), duration(left)
    )


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


def install(env: Environment) -> None:
    env.globals["may"] = may
    env.filters.update(
        when=when, countdown=countdown, duration=duration, business=business, money=money
    )
