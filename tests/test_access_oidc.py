"""OpenID Connect sign-in: configuration checks, the redirect, and a whole code flow against a
small identity provider on loopback (discovery, PKCE-checked token endpoint, RS256 ID tokens
from a JWKS) — Authlib and joserfc do the real work on our side."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import RSAKey

from access.oidc import OidcConfig, OidcError
from tests.support.platform import TOKEN

CLIENT_ID = "kommunvakt-test"
CLIENT_SECRET = "a-long-random-client-secret-1234"


class Idp:
    """Discovery, JWKS and a token endpoint that checks client secret, code and PKCE."""

    def __init__(self) -> None:
        self.key = RSAKey.generate_key(2048, parameters={"kid": "k1", "use": "sig"})
        self.codes: dict[str, dict[str, str]] = {}
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.issuer = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.token_requests = 0

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        idp = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: Any) -> None:
                pass

            def _json(self, code: int, body: dict[str, Any]) -> None:
                raw = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_GET(self) -> None:
                if self.path == "/.well-known/openid-configuration":
                    self._json(200, {
                        "issuer": idp.issuer,
                        "authorization_endpoint": f"{idp.issuer}/authorize",
                        "token_endpoint": f"{idp.issuer}/token",
                        "jwks_uri": f"{idp.issuer}/jwks",
                    })  # fmt: skip
                elif self.path == "/jwks":
                    self._json(200, {"keys": [idp.key.as_dict(private=False)]})
                else:
                    self._json(404, {})

            def do_POST(self) -> None:
                idp.token_requests += 1
                form = parse_qs(self.rfile.read(int(self.headers["content-length"])).decode())
                expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
                if self.headers.get("authorization") != f"Basic {expected}":
                    return self._json(401, {"error": "invalid_client"})
                grant = idp.codes.pop(form.get("code", [""])[0], None)
                verifier = form.get("code_verifier", [""])[0]
                challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
                if grant is None or challenge.decode().rstrip("=") != grant["challenge"]:
                    return self._json(400, {"error": "invalid_grant"})
                now = int(time.time())
                claims = {
                    "iss": grant.get("iss", idp.issuer),
                    "aud": CLIENT_ID,
                    "sub": grant.get("sub", "1234"),
                    "iat": now,
                    "exp": now + 300,
                    "nonce": grant["nonce"],
                    "preferred_username": grant["username"],
                }
                id_token = jwt.encode({"alg": "RS256", "kid": "k1"}, claims, idp.key)
                return self._json(
                    200, {"access_token": "at", "token_type": "Bearer", "id_token": id_token}
                )

        return Handler

    def grant(self, authorize_url: str, username: str, **extra: str) -> tuple[str, str]:
        """What the provider does when the user signs in there: a code for our callback."""
        q = {k: v[0] for k, v in parse_qs(urlsplit(authorize_url).query).items()}
        code = f"code-{len(self.codes)}-{username}"
        self.codes[code] = {
            "challenge": q["code_challenge"],
            "nonce": q["nonce"],
            "username": username,
            **extra,
        }
        return code, q["state"]


@pytest.fixture
def idp() -> Iterator[Idp]:
    provider = Idp()
    thread = threading.Thread(target=provider.server.serve_forever, daemon=True)
    thread.start()
    yield provider
    provider.server.shutdown()
    provider.server.server_close()


@pytest.fixture
def client(idp: Idp, tmp_path: Path) -> Iterator[tuple[TestClient, Any]]:
    from gateway.app import create_app
    from gateway.platform import Platform
    from gateway.settings import load_settings

    platform = Platform(
        load_settings(
            data_dir=tmp_path / "data",
            admin_token=TOKEN,
            oidc_issuer=idp.issuer,
            oidc_client_id=CLIENT_ID,
            oidc_client_secret=CLIENT_SECRET,
        )
    )
    platform.start(mqtt=False)
    with TestClient(create_app(platform), follow_redirects=False) as c:
        yield c, platform
    platform.stop()


class _S:
    def __init__(self, **kw: Any) -> None:
        self.__dict__.update(kw)


@pytest.mark.parametrize(
    ("given", "problem"),
    [
        ({"oidc_issuer": "https://idp.example"}, "together"),
        ({"oidc_client_id": "x", "oidc_client_secret": "y"}, "together"),
        (
            {"oidc_issuer": "http://idp.example", "oidc_client_id": "x", "oidc_client_secret": "y"},
            "https",
        ),
        (
            {
                "oidc_issuer": "https://idp.example?x=1",
                "oidc_client_id": "x",
                "oidc_client_secret": "y",
            },
            "query",
        ),
    ],
)
def test_configuration_is_checked(given: dict[str, Any], problem: str) -> None:
    from pydantic import SecretStr

    secret = given.pop("oidc_client_secret", None)
    settings = _S(**given, oidc_client_secret=SecretStr(secret) if secret else None)
    with pytest.raises(OidcError, match=problem):
        OidcConfig.from_settings(settings)


def test_not_configured_means_no_oidc() -> None:
    assert OidcConfig.from_settings(_S()) is None


def test_code_flow_signs_in_an_existing_user_only(client: tuple[TestClient, Any], idp: Idp) -> None:
    c, platform = client
    from datetime import UTC, datetime

    platform.users.add("anna", "facility_staff", datetime.now(UTC), sites=["*"])
    platform.users.link_oidc("anna", idp.issuer, "sub-anna", datetime.now(UTC))
    assert 'id="oidc-login"' in c.get("/login").text
    begin = c.get("/login/oidc", params={"next": "/alerts"})
    assert begin.status_code == 302
    url = begin.headers["location"]
    q = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert url.startswith(f"{idp.issuer}/authorize?")
    assert q["client_id"] == CLIENT_ID
    assert q["response_type"] == "code"
    assert "openid" in q["scope"].split()
    assert q["code_challenge_method"] == "S256"
    assert q["redirect_uri"].endswith("/login/oidc/callback")
    assert "samesite=lax" in begin.headers["set-cookie"].lower()

    # state from another browser (no matching cookie) is refused before any token request
    code, state = idp.grant(url, "anna", sub="sub-anna")
    with TestClient(c.app, follow_redirects=False) as stranger:
        assert (
            stranger.get("/login/oidc/callback", params={"state": state, "code": code}).status_code
            == 401
        )
    assert idp.token_requests == 0

    # the real thing: our browser comes back with the code
    begin = c.get("/login/oidc", params={"next": "/alerts"})
    code, state = idp.grant(begin.headers["location"], "Anna", sub="sub-anna")
    done = c.get("/login/oidc/callback", params={"state": state, "code": code})
    assert done.status_code == 200, done.text
    assert "url=/alerts" in done.text
    assert c.get("/alerts").status_code == 200
    # a replayed callback (state used up) does nothing
    assert c.get("/login/oidc/callback", params={"state": state, "code": code}).status_code == 401

    # a person the provider knows but we do not: refused, on record
    with TestClient(c.app, follow_redirects=False) as other:
        begin = other.get("/login/oidc")
        code, state = idp.grant(begin.headers["location"], "mallory")
        assert (
            other.get("/login/oidc/callback", params={"state": state, "code": code}).status_code
            == 401
        )
        # an ID token from another issuer does not verify
        begin = other.get("/login/oidc")
        code, state = idp.grant(
            begin.headers["location"], "anna", sub="sub-anna", iss="https://evil.example"
        )
        assert (
            other.get("/login/oidc/callback", params={"state": state, "code": code}).status_code
            == 401
        )
        assert other.get("/alerts").status_code == 303

    entries = platform.audit.entries(action="auth.sign_in")
    outcomes = [(e.actor, e.outcome, json.loads(e.details)["method"]) for e in entries]
    assert ("anna", "allowed", "oidc") in outcomes
    # what the provider calls the person is theirs to choose: it is not put on record
    assert ("unknown", "denied", "oidc") in outcomes
    assert not any(e.actor == "mallory" for e in entries)
    assert sum(1 for e in entries if e.outcome == "denied") >= 4


def _sign_in(c: TestClient, idp: Idp, username: str, sub: str) -> int:
    begin = c.get("/login/oidc")
    code, state = idp.grant(begin.headers["location"], username, sub=sub)
    return c.get("/login/oidc/callback", params={"state": state, "code": code}).status_code


def test_provider_names_never_sign_anyone_in(client: tuple[TestClient, Any], idp: Idp) -> None:
    """A provider that says preferred_username=ADMIN (or the name of any local user) gets
    nobody: only a subject an admin linked here maps to a user."""
    c, platform = client
    from datetime import UTC, datetime

    platform.users.add("anna", "facility_staff", datetime.now(UTC), sites=["*"])
    for name in ("ADMIN", "admin", "anna"):
        with TestClient(c.app, follow_redirects=False) as browser:
            assert _sign_in(browser, idp, name, sub=f"attacker-{name}") == 401
            assert browser.get("/api/v1/me").status_code == 401


def test_subject_links_are_made_by_an_admin_and_never_reach_an_admin(
    client: tuple[TestClient, Any], idp: Idp, tmp_path: Path
) -> None:
    c, platform = client
    from datetime import UTC, datetime

    from tests.test_access_cli import kv

    admin = {"Authorization": f"Bearer {TOKEN}"}
    platform.users.add("anna", "facility_staff", datetime.now(UTC), sites=["*"])
    platform.users.add("boss", "admin", datetime.now(UTC))
    link = {"subject": "sub-anna"}
    linked = c.put("/api/v1/users/anna/oidc", json=link, headers=admin)
    assert linked.status_code == 200
    assert linked.json()["oidc_linked"] is True
    listed = {u["username"]: u["oidc_linked"] for u in c.get("/api/v1/users", headers=admin).json()}
    assert listed == {"admin": False, "anna": True, "boss": False}
    # one subject, one user; and a local admin account is never linked
    assert c.put("/api/v1/users/boss/oidc", json=link, headers=admin).status_code == 409
    refused = c.put("/api/v1/users/admin/oidc", json={"subject": "x"}, headers=admin)
    assert refused.status_code == 409
    assert "admin" in refused.json()["detail"]
    with TestClient(c.app, follow_redirects=False) as browser:
        assert _sign_in(browser, idp, "ADMIN", sub="sub-anna") == 200
        assert browser.get("/api/v1/me").json()["name"] == "anna"
    # same subject from another issuer: another person
    assert platform.users.oidc_user("https://other.example", "sub-anna") is None

    # a linked user later made admin no longer signs in through the provider
    assert c.patch("/api/v1/users/anna", json={"role": "admin"}, headers=admin).status_code == 200
    with TestClient(c.app, follow_redirects=False) as browser:
        assert _sign_in(browser, idp, "anna", sub="sub-anna") == 401
    assert c.patch("/api/v1/users/anna", json={"role": "viewer"}, headers=admin).status_code == 200

    # unlinking ends it
    assert c.delete("/api/v1/users/anna/oidc", headers=admin).status_code == 204
    with TestClient(c.app, follow_redirects=False) as browser:
        assert _sign_in(browser, idp, "anna", sub="sub-anna") == 401

    # the operator's CLI links too (issuer from the settings), and it is on record
    data = tmp_path / "data"
    env = {"KOMMUNVAKT_OIDC_ISSUER": idp.issuer, "KOMMUNVAKT_OIDC_CLIENT_ID": CLIENT_ID,
           "KOMMUNVAKT_OIDC_CLIENT_SECRET": CLIENT_SECRET}  # fmt: skip
    done = kv(data, "users", "link-oidc", "anna", "--subject", "sub-anna-2", **env)
    assert done.exit_code == 0, done.output
    refused_cli = kv(data, "users", "link-oidc", "admin", "--subject", "sub-x", **env)
    assert refused_cli.exit_code != 0
    with TestClient(c.app, follow_redirects=False) as browser:
        assert _sign_in(browser, idp, "anna", sub="sub-anna-2") == 200
    actions = [e.action for e in platform.audit.entries(target_id="anna")]
    assert actions.count("user.oidc_link") == 2
    assert "user.oidc_unlink" in actions
    # the subject (at Swedish e-ID providers maybe a personnummer) is kept only as a digest
    import sqlite3

    conn = sqlite3.connect(data / "kommunvakt.db")
    try:
        links = conn.execute("SELECT * FROM access_oidc_links").fetchall()
        audit = conn.execute("SELECT * FROM audit_log").fetchall()
    finally:
        conn.close()
    assert len(links) == 1
    assert "sub-anna" not in repr(links) + repr(audit)
