"""Who an identity provider's claims name (api/oidc.py person_from_claims), and the settings
the API refuses to start with: pure rules, no provider needed."""

from __future__ import annotations

import pytest

from api.oidc import RoleUnknown, person_from_claims, start_refusal
from core.directory import load_directory
from core.settings import CONFIG_DIR, Settings

DIRECTORY = load_directory(CONFIG_DIR / "people.demo.toml")
SSO = {"oidc_issuer": "https://login.example.com", "oidc_client_id": "console"}


def settings(**more) -> Settings:
    return Settings(demo=True, **{**SSO, **more})


def test_claims_name_a_person_the_directory_does_not_list():
    claims = {"sub": "u1", "email": "new@example.com", "name": "New", "groups": ["x", "agent"]}
    person = person_from_claims(claims, DIRECTORY, settings())
    assert (person.id, person.role, person.subject, person.name) == (
        "oidc:u1",
        "agent",
        "u1",
        "New",
    )


def test_groups_map_to_roles_and_authority_falls_back_to_the_role():
    s = settings(
        oidc_role_map={"esc-execs": "executive"}, oidc_authority_by_role={"executive": 5000}
    )
    person = person_from_claims({"sub": "u2", "groups": ["esc-execs"]}, DIRECTORY, s)
    assert (person.role, person.authority_limit) == ("executive", 5000)


def test_the_directory_wins_by_default_matched_by_email():
    claims = {"sub": "u3", "email": "P-AGENT@staff.example.com", "groups": ["executive"]}
    person = person_from_claims(claims, DIRECTORY, settings())
    assert (person.id, person.role, person.subject) == ("p-agent", "agent", "u3")


def test_claims_win_when_configured_and_the_entry_fills_the_rest():
    claims = {"sub": "u3", "email": "p-agent@staff.example.com", "groups": ["supervisor"]}
    person = person_from_claims(claims, DIRECTORY, settings(oidc_person_source="claims"))
    assert (person.id, person.role, person.name) == ("p-agent", "supervisor", "Alex Agent")


def test_an_unverified_email_matches_nobody():
    claims = {"sub": "u4", "email": "p-agent@staff.example.com", "email_verified": False}
    with pytest.raises(RoleUnknown, match="no role"):
        person_from_claims(claims, DIRECTORY, settings())


def test_the_directory_matches_by_subject_first():
    directory = DIRECTORY.model_copy(deep=True)
    directory.people[1].subject = "entra-oid-1"
    person = person_from_claims({"sub": "entra-oid-1"}, directory, settings())
    assert person.id == directory.people[1].id


def test_unsafe_settings_are_refused():
    assert start_refusal(Settings(demo=False, **SSO)) is None
    plain = Settings(demo=False, oidc_issuer="http://login.example.com", oidc_client_id="c")
    assert "not https" in (start_refusal(plain) or "")
    assert "CLIENT_ID" in (start_refusal(Settings(oidc_issuer="https://x")) or "")
    assert "unknown roles" in (start_refusal(settings(oidc_role_map={"g": "boss"})) or "")
