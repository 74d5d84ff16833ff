"""Users, tokens, sign-in, CSRF, headers, limits and the audit trail through the real app."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from access.users import LOCK_AFTER, SignIn, UserError
from tests.support.platform import TOKEN

PASSWORD = "korrekt häst batteri"


@pytest.fixture
def app(platform: Any) -> Any:
    from gateway.app import create_app

    return create_app(platform)


@pytest.fixture
def admin(app: Any) -> Iterator[TestClient]:
    with TestClient(app, headers={"Authorization": f"Bearer {TOKEN}"}) as c:
        yield c


@pytest.fixture
def browser_like(app: Any) -> Iterator[TestClient]:
    with TestClient(app, follow_redirects=False) as c:
        yield c


def _token_for(admin: TestClient, username: str, role: str, **scope: Any) -> str:
    created = admin.post("/api/v1/users", json={"username": username, "role": role, **scope})
    assert created.status_code == 201, created.text
    resp = admin.post(f"/api/v1/users/{username}/tokens", json={"name": "test"})
    assert resp.status_code == 201, resp.text
    return str(resp.json()["token"])


def _audit(platform: Any, **filters: Any) -> list[Any]:
    return list(platform.audit.entries(**filters))


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF field in the form"
    return match.group(1)


def _sign_in(client: TestClient, username: str, password: str) -> Any:
    page = client.get("/login")
    return client.post(
        "/login",
        data={
            "username": username,
            "password": password,
            "next": "/alerts",
            "csrf_token": _csrf(page.text),
        },
    )


def test_bootstrap_token_is_a_token_of_the_builtin_admin(admin: TestClient) -> None:
    me = admin.get("/api/v1/me").json()
    assert me["name"] == "admin"
    assert me["role"] == "admin"
    assert me["via"] == "token"
    tokens = admin.get("/api/v1/tokens").json()
    assert [t["name"] for t in tokens] == ["bootstrap"]
    assert "token" not in tokens[0]
    assert TOKEN not in str(tokens)


def test_users_roles_and_their_audit_trail(admin: TestClient, platform: Any) -> None:
    tech = _token_for(admin, "tekniker-1", "technician", sites=["skola-1"])
    as_tech = {"Authorization": f"Bearer {tech}"}
    assert admin.get("/api/v1/me", headers=as_tech).json()["sites"] == ["skola-1"]
    # a technician may not manage users: 403, and the refusal is on record
    refused = admin.post("/api/v1/users", headers=as_tech, json={"username": "x1", "role": "admin"})
    assert refused.status_code == 403
    denied = _audit(platform, actor="tekniker-1", action="users.admin")
    assert [e.outcome for e in denied] == ["denied"]
    # role change: on record with from/to
    changed = admin.patch("/api/v1/users/tekniker-1", json={"role": "viewer"})
    assert changed.json()["role"] == "viewer"
    (change,) = _audit(platform, action="user.role_change")
    assert change.actor == "admin"
    assert change.target_id == "tekniker-1"
    assert orjson.loads(change.details) == {"from": "technician", "to": "viewer"}
    # the new role applies to the very next request of the same token
    assert admin.post("/api/v1/sites", headers=as_tech, json={}).status_code == 403
    # disabled: the token stops working at once
    admin.patch("/api/v1/users/tekniker-1", json={"disabled": True})
    assert admin.get("/api/v1/me", headers=as_tech).status_code == 401
    # the last admin cannot be disabled or demoted (no lock-out of the platform)
    assert admin.patch("/api/v1/users/admin", json={"role": "viewer"}).status_code == 409
    assert admin.get("/api/v1/me").status_code == 200


def test_tokens_shown_once_hashed_revocable_and_expiring(admin: TestClient, platform: Any) -> None:
    created = admin.post("/api/v1/me/tokens", json={"name": "grafana"})
    assert created.status_code == 201
    body = created.json()
    token, token_id = body["token"], body["id"]
    assert token.startswith("kv_")
    assert len(token) > 40
    listed = admin.get("/api/v1/me/tokens").json()
    assert token not in orjson.dumps(listed).decode()
    # stored as its sha256 only
    from sqlalchemy import text

    with platform.db.connect() as conn:
        stored = conn.execute(text("SELECT digest FROM access_tokens")).scalars().all()
    assert token not in stored
    assert all(len(d) == 64 for d in stored)
    with_token = {"Authorization": f"Bearer {token}"}
    assert admin.get("/api/v1/me", headers=with_token).status_code == 200
    # the admin API will not revoke the token a request is made with
    assert admin.delete(f"/api/v1/tokens/{token_id}", headers=with_token).status_code == 409
    assert admin.delete(f"/api/v1/tokens/{token_id}").status_code == 204
    assert admin.get("/api/v1/me", headers=with_token).status_code == 401
    assert _audit(platform, action="token.revoke")[0].target_id == str(token_id)
    # expiry, on the store's clock
    now = datetime.now(UTC)
    short, _ = platform.users.create_token(
        "admin", "short", now, expires_at=now + timedelta(hours=1)
    )
    assert platform.users.verify_token(short, now + timedelta(minutes=59)) is not None
    assert platform.users.verify_token(short, now + timedelta(hours=1)) is None
    with pytest.raises(UserError):
        platform.users.create_token("admin", "past", now, expires_at=now - timedelta(seconds=1))
    past = admin.post("/api/v1/me/tokens", json={"name": "p", "expires_at": "2020-01-01T00:00:00Z"})
    assert past.status_code == 422


def test_writes_with_a_token_and_acknowledgements_are_on_record(
    admin: TestClient, platform: Any
) -> None:
    resp = admin.post("/api/v1/sites", json={"id": "skola-7", "name": "Skola 7"})
    assert resp.status_code == 201, resp.text
    (entry,) = _audit(platform, action="sites.write")
    assert entry.actor == "admin"
    assert entry.outcome == "allowed"
    details = orjson.loads(entry.details)
    assert details["via"].startswith("token:")
    assert details["status"] == 201
    assert TOKEN not in (entry.details or "")
    # reads are not (they would bury the log) ...
    admin.get("/api/v1/sites")
    assert not _audit(platform, action="sites.read")
    # ... but an acknowledgement always is, even one that fails
    assert admin.post("/api/v1/alerts/4711/ack").status_code == 404
    (ack,) = _audit(platform, action="alerts.ack")
    assert (ack.target_id, ack.outcome) == ("4711", "failed")


def test_audit_export_for_admin_and_auditor_only(admin: TestClient, platform: Any) -> None:
    auditor = {"Authorization": f"Bearer {_token_for(admin, 'granskare', 'auditor')}"}
    viewer = {"Authorization": f"Bearer {_token_for(admin, 'tittare', 'viewer')}"}
    as_json = admin.get("/api/v1/audit", headers=auditor)
    assert as_json.status_code == 200
    actions = [e["action"] for e in as_json.json()]
    assert "user.create" in actions
    assert "token.create" in actions
    as_csv = admin.get("/api/v1/audit", params={"format": "csv"}, headers=auditor)
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert as_csv.text.splitlines()[0].startswith("id,at,actor,action")
    assert admin.get("/api/v1/audit", headers=viewer).status_code == 403
    assert admin.get("/api/v1/audit/verify").json() == {"intact": True}
    # no way to delete it through the platform: no route, and the database refuses
    before = len(_audit(platform))
    assert admin.delete("/api/v1/audit").status_code in (403, 405)
    from sqlalchemy import text
    from sqlalchemy.exc import DatabaseError

    with pytest.raises(DatabaseError, match="append-only"), platform.db.begin() as conn:
        conn.execute(text("DELETE FROM audit_log"))
    assert len(_audit(platform)) >= before


def test_web_sign_in_csrf_lockout_and_rate_limit(
    browser_like: TestClient, admin: TestClient, platform: Any
) -> None:
    admin.post(
        "/api/v1/users",
        json={"username": "fastighet", "role": "facility_staff", "password": PASSWORD},
    )
    client = browser_like
    # a form post without the CSRF token is refused before the password is even looked at
    no_csrf = client.post("/login", data={"username": "fastighet", "password": PASSWORD})
    assert no_csrf.status_code == 403
    ok = _sign_in(client, "fastighet", PASSWORD)
    assert ok.status_code == 303
    assert ok.headers["location"] == "/alerts"
    cookie = ok.headers.get_list("set-cookie")
    session_cookie = next(c for c in cookie if c.startswith("kv_session="))
    assert "HttpOnly" in session_cookie
    assert "SameSite=strict" in session_cookie
    assert "Secure" not in session_cookie  # plain http on loopback; Secure over https
    page = client.get("/alerts")
    assert page.status_code == 200
    # a signed-in form post without / with a wrong token: 403; with the page's token: through
    assert client.post("/alerts/1/ack").status_code == 403
    assert client.post("/alerts/1/ack", data={"csrf_token": "forged"}).status_code == 403
    csrf = _csrf(page.text)
    assert client.post("/alerts/1/ack", data={"csrf_token": csrf}).status_code == 404
    assert client.post("/logout", data={"csrf_token": csrf}).status_code == 303
    assert client.get("/alerts").status_code == 303  # signed out
    signed_in = [e for e in _audit(platform, action="auth.sign_in") if e.outcome == "allowed"]
    assert [e.actor for e in signed_in] == ["fastighet"]
    # lockout: LOCK_AFTER wrong passwords, then even the right one is refused for a while
    for _ in range(LOCK_AFTER):
        assert _sign_in(client, "fastighet", "fel lösenord!").status_code == 401
    assert _sign_in(client, "fastighet", PASSWORD).status_code == 401
    now = datetime.now(UTC)
    # locked for this source (TestClient's peer is "testclient"), not for another
    assert platform.users.sign_in("fastighet", PASSWORD, now, "testclient") is SignIn.LOCKED
    assert platform.users.sign_in("fastighet", PASSWORD, now, "10.1.2.3") is SignIn.OK
    later = now + timedelta(minutes=16)
    assert platform.users.sign_in("fastighet", PASSWORD, later, "testclient") is SignIn.OK
    reasons = [
        orjson.loads(e.details)["reason"]
        for e in _audit(platform, action="auth.sign_in")
        if e.outcome == "denied" and e.details and "reason" in e.details
    ]
    assert "locked" in reasons
    assert "bad" in reasons
    # an unknown user is recorded as such, never with what was typed
    _sign_in(client, "mitt-lösenord-123", "x" * 12)
    assert "mitt-lösenord-123" not in orjson.dumps([e.actor for e in _audit(platform)]).decode()
    # rate limit per source address
    codes = [_sign_in(client, "fastighet", "fel igen!!").status_code for _ in range(12)]
    assert 429 in codes


def test_security_headers_and_body_limit(browser_like: TestClient, admin: TestClient) -> None:
    page = browser_like.get("/login")
    h = page.headers
    assert "default-src 'self'" in h["content-security-policy"]
    assert "frame-ancestors 'none'" in h["content-security-policy"]
    assert h["x-frame-options"] == "DENY"
    assert h["x-content-type-options"] == "nosniff"
    assert h["referrer-policy"] == "same-origin"
    assert h["cache-control"] == "no-store"
    assert browser_like.get("/healthz").headers["x-content-type-options"] == "nosniff"
    big = b"{" + b" " * (3 * 1024 * 1024) + b"}"
    declared = admin.post(
        "/api/v1/sites", content=big, headers={"content-type": "application/json"}
    )
    assert declared.status_code == 413

    def chunks() -> Iterator[bytes]:
        for _ in range(40):
            yield b" " * 100_000

    streamed = admin.post(
        "/api/v1/sites", content=chunks(), headers={"content-type": "application/json"}
    )
    assert streamed.status_code == 413


@pytest.mark.parametrize(
    ("overrides", "refused"),
    [
        ({"mqtt_url": "mqtt://gateway:changeme@broker:1883"}, "mqtt_url"),
        ({"database_url": "postgresql://kv:password@db/kv"}, "database_url"),
        (
            {
                "oidc_issuer": "https://idp.example",
                "oidc_client_id": "kv",
                "oidc_client_secret": "secret",
            },
            "oidc_client_secret",
        ),
        ({"influx_token": "<your-token>"}, "influx_token"),
        ({"alerting": {"link_secret": "changeme"}}, "alerting.link_secret"),  # nested too
        ({"notify_urls": ["mailto://kv:password@smtp.kommun.se"]}, r"notify_urls\[0\]"),
        ({"oidc_issuer": "https://idp.example"}, "together"),
        (
            {
                "oidc_issuer": "http://idp.example",
                "oidc_client_id": "kv",
                "oidc_client_secret": "s3cr3t-long-random",
            },
            "https",
        ),
    ],
)
def test_placeholder_secrets_and_bad_oidc_are_refused(
    overrides: dict[str, str], refused: str, tmp_path: Any
) -> None:
    from gateway.settings import load_settings

    with pytest.raises(ValueError, match=refused):
        load_settings(data_dir=tmp_path, **overrides)
    if "oidc_issuer" not in overrides:  # demo mode allows placeholders
        assert load_settings(data_dir=tmp_path, demo=True, **overrides).demo


def test_site_scope_is_enforced_on_object_routes(admin: TestClient, platform: Any) -> None:
    for site in ("skola-1", "skola-2"):
        assert admin.post("/api/v1/sites", json={"id": site, "name": site}).status_code == 201
    for device, site in (("bod-1", "skola-1"), ("bod-2", "skola-2")):
        body = {"id": device, "type": "technical_shed_temperature", "site_id": site}
        assert admin.post("/api/v1/devices", json=body).status_code == 201
    token = _token_for(admin, "tekniker-s1", "technician", sites=["skola-1"])
    tech = {"Authorization": f"Bearer {token}"}
    assert admin.get("/api/v1/devices/bod-1", headers=tech).status_code == 200
    assert admin.get("/api/v1/devices/bod-2", headers=tech).status_code == 403
    assert admin.get("/api/v1/devices/bod-2/latest", headers=tech).status_code == 403
    assert admin.patch("/api/v1/devices/bod-2", headers=tech, json={"name": "x"}).status_code == 403
    assert admin.get("/api/v1/sites/skola-1", headers=tech).status_code == 200
    assert admin.get("/api/v1/sites/skola-2", headers=tech).status_code == 403
    assert admin.get("/api/v1/devices/okand", headers=tech).status_code == 404  # not a leak
    refused = [e for e in _audit(platform, actor="tekniker-s1") if e.outcome == "denied"]
    assert {e.target_id for e in refused} >= {"bod-2", "skola-2"}
