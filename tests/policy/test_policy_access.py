"""Who may do what on /policy/versions, every path x every caller: the roles the access table
gives (workflows/access.py) pass the role check, everyone else is 403 naming their role, no or an
unknown token is 401. What the allowed callers then get is the end-to-end tests' business
(test_policy_api.py); tests/api/test_access.py counts these paths as covered here."""

from __future__ import annotations

import pytest

from tests.api.conftest import auth

ROLES = ("system", "agent", "helpline", "specialist", "supervisor", "manager", "executive",
         "operator")  # fmt: skip
ANY = frozenset(ROLES)
V = "{version}"
DRAFT = {"text": "version = 'x'", "note": ""}

# (method, path) -> (roles allowed, a body)
POLICY_ACCESS: dict[tuple[str, str], tuple[frozenset[str], dict | None]] = {
    ("GET", "/policy/versions"): (ANY, None),
    ("GET", f"/policy/versions/{V}"): (ANY, None),
    ("POST", "/policy/versions"): (frozenset({"manager"}), DRAFT),
    ("PUT", f"/policy/versions/{V}"): (frozenset({"manager"}), DRAFT),
    ("POST", f"/policy/versions/{V}/propose"): (frozenset({"manager"}), {}),
    ("POST", f"/policy/versions/{V}/schedule"): (frozenset({"manager"}), {"go_live_at": None}),
    ("POST", f"/policy/versions/{V}/decisions"): (
        frozenset({"supervisor", "manager", "executive"}),
        {"decision": "approve", "comment": "ok"},
    ),
    ("POST", f"/policy/versions/{V}/migrate"): (frozenset({"operator", "manager"}), {"limit": 0}),
    ("POST", f"/policy/versions/{V}/simulations"): (
        frozenset({"supervisor", "manager", "executive"}),
        {},
    ),
    ("GET", f"/policy/versions/{V}/simulations/{{simulation_id}}"): (ANY, None),
}


@pytest.mark.parametrize("caller", [*ROLES, "no-token", "bad-token"])
@pytest.mark.parametrize("operation", list(POLICY_ACCESS), ids=lambda op: f"{op[0]} {op[1]}")
async def test_policy_access(policy_stack, operation, caller):
    method, path = operation
    allowed, body = POLICY_ACCESS[operation]
    url = path.replace(V, "2026.11-demo").replace("{simulation_id}", "nope")
    headers = {"no-token": {}, "bad-token": {"Authorization": "Bearer demo-nobody"}}.get(
        caller
    ) or auth(caller)
    r = await policy_stack.http.request(method, url, json=body, headers=headers)
    if caller in ("no-token", "bad-token"):
        assert r.status_code == 401 and r.json()["error"] == "unauthorized", r.text
    elif caller not in allowed:
        assert r.status_code == 403 and caller in r.json()["detail"], r.text
    elif method == "GET":  # an unknown simulation: past the role check, not found
        assert r.status_code == (404 if "nope" in url else 200), r.text
    else:  # past the role check: the live version is no draft, the body no policy
        assert r.status_code in (409, 422) and r.json()["error"] in ("conflict", "invalid"), r.text
