"""The policy's stored versions on SQLite and PostgreSQL: seeded once from the file, a version
number never re-used, a version out of draft never edited, one live version at a time."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from core.policy import LivePolicy
from core.report_store import ReportStore
from core.report_store.policies import StateConflict, VersionReused
from core.report_store.schema import policy_versions
from core.settings import CONFIG_DIR
from workflows.policy_change.models import VersionState as S

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
FILE = CONFIG_DIR / "policy.toml"


def text_with_version(version: str) -> str:
    return FILE.read_text().replace('version = "2026.11-demo"', f'version = "{version}"', 1)


def test_the_file_seeds_the_store_once(store: ReportStore, tmp_path):
    live = LivePolicy(store.policies, FILE, refresh_s=0)
    policy, doc = live.get_with_json()
    assert policy.version == "2026.11-demo" and doc["version"] == "2026.11-demo"
    row = store.policies.live()
    assert row is not None and row.state == S.LIVE and row.author == "config"
    assert row.text == FILE.read_text() and len(row.digest) == 64

    # a changed file does not replace the stored live version: the store is the policy's home
    other = tmp_path / "policy.toml"
    other.write_text(text_with_version("2026.99-file"))
    assert LivePolicy(store.policies, other, refresh_s=0).get().version == "2026.11-demo"
    assert [v.version for v in store.policies.all()] == ["2026.11-demo"]


def test_a_version_number_is_never_reused(store: ReportStore):
    LivePolicy(store.policies, FILE).seed()
    with pytest.raises(VersionReused):
        store.policies.create_draft(
            "2026.11-demo", text_with_version("2026.11-demo"), "p", "", None, NOW
        )
    d = store.policies.create_draft(
        "2026.12", text_with_version("2026.12"), "p-manager", "x", "2026.11-demo", NOW
    )
    assert d.seq == 2 and d.state == S.DRAFT
    with pytest.raises(VersionReused):
        store.policies.create_draft("2026.12", text_with_version("2026.12"), "p", "", None, NOW)


def test_only_a_draft_is_edited_and_a_live_version_never(store: ReportStore):
    LivePolicy(store.policies, FILE).seed()
    v = "2026.12"
    store.policies.create_draft(v, text_with_version(v), "p-manager", "first", None, NOW)
    edited = store.policies.edit_draft(v, v, text_with_version(v) + "\n# tweak\n", "second", NOW)
    assert edited.note == "second" and edited.text is not None and edited.text.endswith("# tweak\n")
    with pytest.raises(StateConflict, match="keeps its number"):
        store.policies.edit_draft(v, "2027.01", text_with_version("2027.01"), None, NOW)

    with pytest.raises(StateConflict, match="only a draft is edited"):
        store.policies.edit_draft("2026.11-demo", "2026.11-demo", "x", None, NOW)
    for to, frm in ((S.IN_REVIEW, [S.DRAFT]), (S.APPROVED, [S.IN_REVIEW])):
        store.policies.move(v, to, frm, NOW, change_id="policy-change-2026.12")
    with pytest.raises(StateConflict):
        store.policies.edit_draft(v, v, text_with_version(v), None, NOW)
    went = store.policies.go_live(v, NOW)
    assert went.state == S.LIVE and went.live_at == NOW
    old = store.policies.get("2026.11-demo")
    assert old.state == S.RETIRED and old.retired_at == NOW
    with pytest.raises(StateConflict):
        store.policies.edit_draft(v, v, "anything", None, NOW)
    assert store.policies.get(v).digest == went.digest  # unchanged
    # nor can a retired version come back, or a draft skip review
    with pytest.raises(StateConflict):
        store.policies.move("2026.11-demo", S.IN_REVIEW, [S.RETIRED], NOW)
    store.policies.create_draft("2027.01", text_with_version("2027.01"), "p", "", None, NOW)
    with pytest.raises(StateConflict, match="cannot go live"):
        store.policies.go_live("2027.01", NOW)


def test_the_database_holds_one_live_version(store: ReportStore):
    LivePolicy(store.policies, FILE).seed()
    store.policies.create_draft("2026.12", text_with_version("2026.12"), "p", "", None, NOW)
    with pytest.raises(IntegrityError), store.engine.begin() as conn:
        conn.execute(
            update(policy_versions)
            .where(policy_versions.c.version == "2026.12")
            .values(state=S.LIVE)
        )
    assert store.policies.get("2026.12").state == S.DRAFT


def test_a_rejected_version_stays_rejected(store: ReportStore):
    LivePolicy(store.policies, FILE).seed()
    store.policies.create_draft("2026.12", text_with_version("2026.12"), "p", "", None, NOW)
    store.policies.move("2026.12", S.IN_REVIEW, [S.DRAFT], NOW)
    store.policies.move("2026.12", S.REJECTED, [S.IN_REVIEW], NOW)
    with pytest.raises(StateConflict):
        store.policies.go_live("2026.12", NOW)
    assert store.policies.live().version == "2026.11-demo"  # type: ignore[union-attr]


def test_the_newest_simulation_is_shown_while_it_runs(store: ReportStore):
    """The console shows a running simulation's progress: `newest` answers it, running or not,
    while `latest` (the report attached to the change) stays the last finished one."""
    sims = store.simulations
    since, until = datetime(2026, 11, 23, tzinfo=UTC), datetime(2026, 11, 30, tzinfo=UTC)
    assert sims.newest("2026.12") is None
    sims.create("s-1", "2026.12", "2026.11-demo", since, until, "p-manager", NOW)
    figures = {"cases": 3}
    sims.finish("s-1", {"live": figures, "draft": figures, "cannot_know": []}, NOW)
    later = NOW.replace(hour=10)
    sims.create("s-2", "2026.12", "2026.11-demo", since, until, "p-executive", later)
    sims.progress("s-2", 500)
    newest = sims.newest("2026.12")
    assert newest is not None and newest["id"] == "s-2" and newest["state"] == "running"
    assert newest["cases_done"] == 500
    latest = sims.latest("2026.12")
    assert latest is not None and latest["id"] == "s-1" and latest["report"]["live"]["cases"] == 3
