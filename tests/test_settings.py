"""Settings from env and TOML; secrets masked; placeholders refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from core.mqtt_target import MqttTarget
from gateway.settings import load_settings


def test_env_wins_over_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "kommunvakt.toml"
    config.write_text('api_port = 9001\nmqtt_port = 1999\nnotify_urls = ["mailto://u:p@x"]\n')
    monkeypatch.setenv("KOMMUNVAKT_API_PORT", "9100")
    monkeypatch.setenv("KOMMUNVAKT_DATA_DIR", str(tmp_path / "d"))
    s = load_settings(config)
    assert s.api_port == 9100
    assert s.mqtt_port == 1999
    assert s.data_dir == tmp_path / "d"
    assert s.embedded_broker


def test_secrets_are_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KOMMUNVAKT_MQTT_URL", "mqtts://gw:hemligt-losen@broker.kommun.se")
    monkeypatch.setenv("KOMMUNVAKT_ADMIN_TOKEN", "a-very-long-admin-token-1234")
    monkeypatch.setenv("KOMMUNVAKT_NOTIFY_URLS", '["mailto://u:mailpass@smtp.kommun.se"]')
    s = load_settings()
    shown = repr(s.masked())
    for secret in ("hemligt-losen", "a-very-long-admin-token-1234", "mailpass"):
        assert secret not in shown
    target = s.mqtt_target
    assert (target.host, target.port, target.username, target.tls) == (
        "broker.kommun.se",
        8883,
        "gw",
        True,
    )
    assert not s.embedded_broker


@pytest.mark.parametrize("token", ["changeme", "short"])
def test_placeholder_admin_token_refused(token: str) -> None:
    with pytest.raises(ValidationError, match="admin token"):
        load_settings(admin_token=token)


def test_bad_mqtt_url() -> None:
    with pytest.raises(ValueError, match="scheme"):
        MqttTarget.parse("http://broker")


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_settings(tmp_path / "nope.toml")
