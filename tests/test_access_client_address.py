"""Which address a request comes from, as ``kommunvakt run`` serves it: ``X-Forwarded-For`` only
from the configured proxies (none by default), and a lockout per (user, source address) so
that nobody can lock the admin out by typing wrong passwords."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx

from access.users import LOCK_AFTER
from tests.support.platform import PlatformProcess

PASSWORD = "ett långt lösenord för admin"


def _attempt(base: str, username: str, password: str, forwarded_for: str | None) -> int:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    with httpx.Client(base_url=base, headers=headers, timeout=10) as client:
        form = client.get("/login")
        match = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert match
        done = client.post(
            "/login", data={"username": username, "password": password, "csrf_token": match[1]}
        )
        return done.status_code


def _sign_in_sources(platform: PlatformProcess) -> list[str]:
    with platform.api() as api:
        rows = api.get("/api/v1/audit", params={"action": "auth.sign_in"}).json()
    return [row["source_ip"] for row in rows]


def _with_admin_password(platform: PlatformProcess) -> None:
    with platform.api() as api:
        body = {"username": "kerstin", "role": "admin", "password": PASSWORD}
        assert api.post("/api/v1/users", json=body).status_code == 201


def test_forwarded_for_is_ignored_without_configured_proxies(
    platform_factory: Any, tmp_path: Path
) -> None:
    platform = platform_factory(tmp_path / "data").start()
    _with_admin_password(platform)
    # a client on the host itself cannot pick a new address per attempt to dodge the limit
    codes = [_attempt(platform.base_url, "kerstin", "fel", f"203.0.113.{n}") for n in range(12)]
    assert 429 in codes
    sources = set(_sign_in_sources(platform))
    assert sources == {"127.0.0.1"}, sources


def test_forwarded_for_from_a_configured_proxy_and_lockout_per_source(
    platform_factory: Any, tmp_path: Path
) -> None:
    platform = platform_factory(
        tmp_path / "data", env={"KOMMUNVAKT_TRUSTED_PROXIES": '["127.0.0.0/8"]'}
    ).start()
    _with_admin_password(platform)
    attacker, staff = "203.0.113.9", "198.51.100.7"
    for _ in range(LOCK_AFTER):
        assert _attempt(platform.base_url, "kerstin", "gissning", attacker) == 401
    # the attacker's source is locked out, even with the right password ...
    assert _attempt(platform.base_url, "kerstin", PASSWORD, attacker) == 401
    # ... but the admin at her own desk is not
    assert _attempt(platform.base_url, "kerstin", PASSWORD, staff) == 303
    sources = _sign_in_sources(platform)
    assert attacker in sources
    assert staff in sources
    assert "127.0.0.1" not in sources


def test_trusted_proxies_must_be_addresses(tmp_path: Path) -> None:
    import pytest

    from gateway.settings import load_settings

    ok = load_settings(data_dir=tmp_path, trusted_proxies=["10.0.0.5", "10.1.0.0/16", "::1"])
    assert ok.trusted_proxies == ["10.0.0.5/32", "10.1.0.0/16", "::1/128"]
    assert load_settings(data_dir=tmp_path).trusted_proxies == []
    with pytest.raises(ValueError, match="not an IP address or CIDR"):
        load_settings(data_dir=tmp_path, trusted_proxies=["proxy.example"])


def test_sign_in_limits_count_an_ipv6_host_by_its_64() -> None:
    from access.sessions import source_key

    assert source_key("2001:db8:1:2:aaaa::1") == source_key("2001:db8:1:2:bbbb::2")
    assert source_key("2001:db8:1:2::1") == "2001:db8:1:2::/64"
    assert source_key("2001:db8:1:3::1") != source_key("2001:db8:1:2::1")
    assert source_key("::ffff:192.0.2.7") == "192.0.2.7"
    assert source_key("192.0.2.7") == "192.0.2.7"
    assert source_key("testclient") == "testclient"


def test_lock_is_per_source_and_old_failures_are_forgotten(platform: Any) -> None:
    from datetime import UTC, datetime, timedelta

    from access.users import LOCK_FOR, SignIn, UserStore

    users = UserStore(platform.sessions)
    t0 = datetime(2026, 12, 4, 20, 0, tzinfo=UTC)
    users.add("kerstin", "admin", t0, password=PASSWORD)
    # wrong guesses from many places lock none of them out, nor the admin's own desk
    for n in range(LOCK_AFTER):
        assert users.sign_in("kerstin", "fel", t0, f"192.0.2.{n}") is SignIn.BAD
    assert users.sign_in("kerstin", PASSWORD, t0, "198.51.100.7") is SignIn.OK
    # a slow trickle from one place (each failure after the last one has run out) never locks
    for n in range(LOCK_AFTER + 2):
        at = t0 + (LOCK_FOR + timedelta(seconds=1)) * n
        assert users.sign_in("kerstin", "fel", at, "203.0.113.9") is SignIn.BAD
    # a burst does, for that place only
    burst = t0 + timedelta(days=1)
    results = [users.sign_in("kerstin", "fel", burst, "203.0.113.9") for _ in range(LOCK_AFTER)]
    assert results[-1] is SignIn.LOCKED
    assert users.sign_in("kerstin", PASSWORD, burst, "203.0.113.9") is SignIn.LOCKED
    assert users.sign_in("kerstin", PASSWORD, burst, "198.51.100.7") is SignIn.OK
