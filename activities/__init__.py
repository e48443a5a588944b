"""Everything that touches the world. `build_activities` wires them for a worker."""

from __future__ import annotations

from typing import Any, Callable

from core.settings import Settings


def build_activities(settings: Settings, client: Any) -> list[Callable]:
    from activities.policy import PolicyActivities

    policy = PolicyActivities(settings.policy_path)
    return [policy.load_policy]
