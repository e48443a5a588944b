"""One parsed policy per distinct pinned copy and worker process (workflows/policy.pinned)."""

import json
from datetime import date

import pytest
from pydantic import ValidationError

from core.policy import read_policy
from core.settings import CONFIG_DIR
from workflows import policy as policy_mod
from workflows.policy import pinned

DOC = read_policy(CONFIG_DIR / "policy.toml", today=date(2026, 11, 23)).model_dump(mode="json")


def copy_of(doc: dict) -> dict:
    """The same copy as a workflow input decodes it: a new dict, keys in another order."""
    return dict(reversed(list(json.loads(json.dumps(doc)).items())))


def test_cases_under_the_same_copy_share_one_policy():
    first = pinned(copy_of(DOC))
    assert pinned(copy_of(DOC)) is first
    assert first.version == DOC["version"]


def test_a_different_copy_gets_its_own_policy():
    changed = copy_of(DOC) | {"version": "2026.12-changed", "tier1_limit": 7}
    other = pinned(changed)
    assert other is not pinned(copy_of(DOC))
    assert (other.version, other.tier1_limit) == ("2026.12-changed", 7)


def test_only_the_last_few_copies_are_kept():
    first = pinned(copy_of(DOC) | {"version": "evicted-0"})
    for i in range(1, policy_mod._PINNED_MAX + 1):
        pinned(copy_of(DOC) | {"version": f"evicted-{i}"})
    assert len(policy_mod._PINNED) == policy_mod._PINNED_MAX
    again = pinned(copy_of(DOC) | {"version": "evicted-0"})
    assert again is not first and again == first


def test_an_invalid_copy_is_refused_and_not_kept():
    bad = copy_of(DOC) | {"tier1_limit": -1}
    with pytest.raises(ValidationError):
        pinned(bad)
    with pytest.raises(ValidationError):
        pinned(bad)
