"""``kommunvakt users …`` / ``kommunvakt tokens …`` as an operator runs them, then the API."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support.platform import KOMMUNVAKT, TOKEN


def kv(data: Path, *args: str, stdin: str | None = None, **env: str) -> Any:
    """One command through the real typer app, in this process (a process each costs ~2 s)."""
    from typer.testing import CliRunner

    from gateway.cli import app

    environ = {"KOMMUNVAKT_DATA_DIR": str(data), "KOMMUNVAKT_ADMIN_TOKEN": TOKEN, **env}
    return CliRunner().invoke(app, list(args), input=stdin, env=environ)


def kv_process(data: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The installed ``kommunvakt`` entry point, as an operator runs it."""
    return subprocess.run(
        [KOMMUNVAKT, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={
            **os.environ,
            "KOMMUNVAKT_DATA_DIR": str(data),
            "KOMMUNVAKT_ADMIN_TOKEN": TOKEN,
            **env,
        },
        check=False,
    )


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Any]:
    """The app on the same data directory the CLI writes to."""
    from gateway.app import create_app
    from gateway.platform import Platform
    from gateway.settings import load_settings

    def open_client() -> Any:
        platform = Platform(load_settings(data_dir=tmp_path / "data", admin_token=TOKEN))
        platform.start(mqtt=False)
        client = TestClient(create_app(platform))
        opened.append((platform, client))
        return client

    opened: list[tuple[Any, Any]] = []
    yield open_client
    for platform, client in opened:
        client.close()
        platform.stop()


def test_users_and_tokens_from_the_command_line(tmp_path: Path, api: Any) -> None:
    data = tmp_path / "data"
    added = kv(data, "users", "add", "anna", "--role", "night_staff", "--care-unit", "enhet-1",
               "--password-stdin", stdin="ett långt lösenord\n")  # fmt: skip
    assert added.exit_code == 0, added.output
    bad_role = kv(data, "users", "add", "bo", "--role", "boss", "--no-password")
    assert bad_role.exit_code == 2
    assert "roles:" in bad_role.stderr
    assert kv(data, "users", "add", "grafana", "--role", "viewer", "--no-password").exit_code == 0
    listed = kv_process(data, "users", "list").stdout  # once through the entry point
    assert "anna\tnight_staff\tsites=-\tcare_units=enhet-1\tactive" in listed
    created = kv(data, "tokens", "create", "grafana", "--name", "grafana", "--expires-days", "30")
    assert created.exit_code == 0, created.output
    token = created.stdout.strip().splitlines()[-1]
    assert token.startswith("kv_")
    assert token not in kv(data, "tokens", "list").stdout

    client = api()
    as_grafana = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/me", headers=as_grafana).json()["role"] == "viewer"
    assert client.get("/api/v1/alerts", headers=as_grafana).status_code == 200
    assert client.get("/api/v1/audit", headers=as_grafana).status_code == 403

    assert kv(data, "users", "set-role", "grafana", "auditor").exit_code == 0
    assert client.get("/api/v1/audit", headers=as_grafana).status_code == 200
    token_id = next(
        line.split("\t")[0]
        for line in kv(data, "tokens", "list").stdout.splitlines()
        if "\tgrafana\t" in line
    )
    assert kv(data, "tokens", "revoke", token_id).exit_code == 0
    assert client.get("/api/v1/me", headers=as_grafana).status_code == 401
    assert kv(data, "users", "disable", "anna").exit_code == 0
    assert "\tdisabled" in kv(data, "users", "list").stdout

    audit = client.get("/api/v1/audit", headers={"Authorization": f"Bearer {TOKEN}"}).json()
    by_cli = {(e["action"], e["target_id"]) for e in audit if e["actor"].startswith("cli:")}
    assert {("user.create", "anna"), ("user.role_change", "grafana"), ("token.revoke", token_id),
            ("user.disable", "anna")} <= by_cli  # fmt: skip


def test_placeholder_secret_stops_the_start_without_echoing_it(tmp_path: Path) -> None:
    result = kv_process(
        tmp_path / "data", "run", KOMMUNVAKT_MQTT_URL="mqtt://gateway:changeme@127.0.0.1:1"
    )
    assert result.returncode == 1
    assert "mqtt_url carries an empty or placeholder password" in result.stderr
    assert "changeme" not in result.stderr + result.stdout
