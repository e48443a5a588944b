"""The worker gets every activity under the name the workflow calls."""

from temporalio import activity

from activities import build_activities
from tests.activities.conftest import make_settings


def test_build_activities_registers_every_name(tmp_path):
    acts = build_activities(make_settings(tmp_path), client=None)
    names = {activity._Definition.must_from_callable(a).name for a in acts}
    assert names == {
        "deliver",
        "search_knowledge_base",
        "route_specialist",
        "find_people",
        "sync_crm",
        "dispatch",
        "weekly_digest_text",
        "customer_history",
        "move_policy_version",
        "simulate_policy",
        "read_text",
    }
