"""The escalation process (deterministic code only)."""

WORKFLOWS: list[type] = []
