"""Every route of the app has an access rule, and each role gets exactly what the table says.

The route list comes from the app itself (``create_app``), so a route added without a rule in
``access/policy.py`` fails ``test_every_route_has_a_rule``, and the role matrix then proves the
rule is enforced on real requests (a token per role, through the whole middleware stack).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

from access.auth import Principal
from access.policy import PUBLIC, ROLE_ACTIONS, ROLES, SIGNED_IN, rule_for


def app_routes(app: Any) -> list[tuple[str, str]]:
    """(method, path template) of every API and page route, include prefixes resolved."""
    out = set()
    for rc in iter_route_contexts(app.routes):
        if not isinstance(rc.original_route, APIRoute):
            continue
        for method in rc.methods or ():
            if method != "HEAD":
                out.add((method, rc.path_format))
    return sorted(out, key=lambda mp: (mp[1], mp[0]))


@pytest.fixture
def app(platform: Any) -> Any:
    from gateway.app import create_app

    return create_app(platform)


@pytest.fixture
def tokens(platform: Any, app: Any) -> dict[str, str]:
    """One API token per role (users with every site and care unit in scope)."""
    now = datetime.now(UTC)
    out = {}
    for role in ROLES:
        name = f"policy-{role.replace('_', '-')}"
        platform.users.add(name, role, now, sites=["*"], care_units=["*"])
        out[role], _ = platform.users.create_token(name, "policy-test", now)
    return out


def test_every_route_has_a_rule(app: Any) -> None:
    routes = app_routes(app)
    assert len(routes) > 40  # the real app, not an empty one
    missing = [f"{m} {p}" for m, p in routes if rule_for(m, p) is None]
    assert not missing, "routes without an access rule (add them to access/policy.py):\n" + (
        "\n".join(missing)
    )


def test_unknown_actions_are_granted_to_no_one_but_admin() -> None:
    granted = set().union(*(ROLE_ACTIONS[r] for r in ROLES if r != "admin"))
    assert granted <= ROLE_ACTIONS["admin"]
    assert "audit.read" in ROLE_ACTIONS["auditor"]
    assert "audit.read" not in ROLE_ACTIONS["technician"]
    assert not any(a.startswith("care.") for a in ROLE_ACTIONS["facility_staff"])
    assert not any(a.startswith("care.") for a in ROLE_ACTIONS["viewer"])
    assert ROLE_ACTIONS["night_staff"] >= {"care.read", "care.write"}
    assert "devices.read" not in ROLE_ACTIONS["night_staff"]


def _concrete(path: str) -> str:
    # a value for each path parameter; 9 fits int ids and str ids alike
    return re.sub(r"\{[^}]+\}", "9", path)


def _role_cases(app: Any) -> Iterator[tuple[str, str, str, str]]:
    for method, path in app_routes(app):
        rule = rule_for(method, path)
        assert rule is not None, f"{method} {path} has no rule"
        for role in ROLES:
            yield method, path, rule.action, role


def _policy_refusal(resp: Any) -> bool:
    if resp.status_code != 403:
        return False
    try:
        detail = resp.json().get("detail", "")
    except ValueError:  # a page: the HTML refusal
        return "denied" in resp.text
    return "may not" in str(detail) or "no access rule" in str(detail)


def test_role_matrix_over_every_route(app: Any, tokens: dict[str, str]) -> None:
    """(role, route) → allowed/denied exactly as the table says, on real requests."""
    wrong: list[str] = []
    checked = 0
    with TestClient(app, follow_redirects=False) as client:
        for method, path, action, role in _role_cases(app):
            if action == PUBLIC:
                continue
            expected = action == SIGNED_IN or action in ROLE_ACTIONS[role]
            if expected and path.endswith("/events"):
                continue  # an event stream that is let through never ends; refusals do
            resp = client.request(
                method,
                _concrete(path),
                headers={"Authorization": f"Bearer {tokens[role]}", "X-Requested-By": "test"},
            )
            checked += 1
            assert resp.status_code < 500, f"{role} {method} {path}: {resp.status_code}"
            refused = _policy_refusal(resp) or resp.status_code == 401
            if refused == expected:
                wrong.append(f"{role:15} {method:6} {path} ({action}): {resp.status_code}")
    assert checked > 200
    assert not wrong, "role matrix differs from access/policy.py:\n" + "\n".join(wrong)


def test_anonymous_gets_401_on_the_api_and_the_sign_in_page_on_the_web(app: Any) -> None:
    with TestClient(app, follow_redirects=False) as client:
        for method, path in app_routes(app):
            rule = rule_for(method, path)
            assert rule is not None
            if rule.action == PUBLIC:
                continue
            resp = client.request(method, _concrete(path))
            if path.startswith("/api/") or path in ("/metrics", "/openapi.json"):
                assert resp.status_code == 401, f"{method} {path}: {resp.status_code}"
            elif method == "GET":
                assert resp.status_code == 303, f"{method} {path}: {resp.status_code}"
                assert resp.headers["location"].startswith("/login?next=")
            else:  # a form post without a session: to the sign-in page, never through
                assert resp.status_code in (303, 403), f"{method} {path}: {resp.status_code}"


def test_public_routes_are_few() -> None:
    from access.policy import RULES

    public = sorted(r.path for r in RULES if r.action == PUBLIC)
    assert public == [
        "/ack/{token}",  # issue 5: one-time signed acknowledgement links in notifications
        "/healthz",
        "/livez",
        "/login",
        "/login",
        "/login/oidc*",
        "/readyz",
        "/static/*",
    ]


@pytest.mark.parametrize(
    ("principal", "site", "unit", "sees_site", "sees_unit"),
    [
        (Principal("a", "admin"), "s1", "u1", True, True),
        (Principal("a", "admin"), None, None, True, True),
        (Principal("t", "technician", sites=frozenset({"s1"})), "s1", "u1", True, False),
        (Principal("t", "technician", sites=frozenset({"s1"})), "s2", None, False, False),
        (Principal("t", "technician", sites=frozenset({"s1"})), None, None, False, False),
        (Principal("f", "facility_staff", sites=frozenset({"*"})), "s9", "u1", True, False),
        (Principal("n", "night_staff", care_units=frozenset({"u1"})), "s1", "u1", False, True),
        (Principal("n", "night_staff", care_units=frozenset({"u1"})), "s1", "u2", False, False),
        (Principal("n", "night_staff", care_units=frozenset({"*"})), None, "u7", False, True),
        (Principal("v", "viewer"), "s1", "u1", False, False),
    ],
)
def test_object_scopes(
    principal: Principal, site: str | None, unit: str | None, sees_site: bool, sees_unit: bool
) -> None:
    assert principal.may_see_site(site) is sees_site
    assert principal.may_see_care_unit(unit) is sees_unit
