"""docker-compose.yml: validated by Debian's docker-compose where installed, and checked for
pinned images, healthchecks, healthy dependencies, required secrets and real settings."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from dashboards.grafana.provisioning import provider_yaml
from gateway.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return data


def filled_env(tmp_path: Path) -> Path:
    """.env.example with every empty value filled, as an operator would."""
    lines = []
    for line in ENV_EXAMPLE.read_text().splitlines():
        if re.fullmatch(r"[A-Z_]+=", line):
            line += "secret-value-0123456789abcdef"
        lines.append(line)
    env = tmp_path / "test.env"
    env.write_text("\n".join(lines) + "\n")
    return env


def test_every_image_is_pinned_to_a_version() -> None:
    for name, service in compose()["services"].items():
        image = service["image"]
        repo, _, tag = image.rpartition(":")
        assert repo, f"{name}: {image} has no tag"
        assert tag != "latest"
        assert re.match(r"\d+\.\d+\.\d+", tag), f"{name}: {image} is not pinned to x.y.z"


def test_healthchecks_and_healthy_dependencies() -> None:
    services = compose()["services"]
    one_shot = {"mqtt-setup"}  # runs and exits: depended on by its success, not its health
    for name, service in services.items():
        check = service.get("healthcheck", {})
        if name not in {"simulators", *one_shot}:  # a publisher only; nothing depends on it
            assert check.get("test"), f"{name} has no healthcheck"
        for dep, how in service.get("depends_on", {}).items():
            if dep in one_shot:
                assert how == {"condition": "service_completed_successfully"}, f"{name} -> {dep}"
                continue
            assert how == {"condition": "service_healthy"}, f"{name} -> {dep}"
            assert services[dep]["healthcheck"]["test"], f"{dep} is depended on but unchecked"
    assert set(services["platform"]["depends_on"]) == {"mosquitto", "mqtt-setup", "influxdb"}
    assert set(services["grafana"]["depends_on"]) == {"influxdb", "platform"}
    assert services["simulators"]["profiles"] == ["simulators"]


def test_secrets_are_required_from_env_and_documented() -> None:
    text = "\n".join(
        line for line in COMPOSE.read_text().splitlines() if not line.lstrip().startswith("#")
    )
    references = re.findall(r"\$\{([A-Z_]+)(:\?|:-|\})", text)
    documented = set(re.findall(r"^([A-Z_]+)=", ENV_EXAMPLE.read_text(), re.M))
    for var, how in references:
        assert var in documented, f"{var} is not in .env.example"
        if re.search(r"PASSWORD|TOKEN|SECRET", var):
            assert how == ":?", f"secret {var} must be required (${{{var}:?...}}), not {how}"
    # no literal secret in the file itself
    assert not re.search(r"(PASSWORD|TOKEN):\s+(?!\$\{)\S", text)


def test_every_platform_setting_in_compose_exists_in_settings() -> None:
    services = compose()["services"]
    fields = set(Settings.model_fields)
    for name in ("platform", "simulators"):
        for key in services[name]["environment"]:
            if key.startswith("KOMMUNVAKT_"):
                assert key.removeprefix("KOMMUNVAKT_").lower() in fields, key
    env = services["platform"]["environment"]
    assert env["KOMMUNVAKT_STORE"] == "influxdb"
    assert "${INFLUX_TOKEN:?" in env["KOMMUNVAKT_INFLUX_TOKEN"]


def test_grafana_reads_the_dashboards_the_platform_writes() -> None:
    services = compose()["services"]
    mounts = {
        name: dict(v.split(":")[:2] for v in services[name]["volumes"])
        for name in ("platform", "grafana")
    }
    platform_dir = services["platform"]["environment"]["KOMMUNVAKT_GRAFANA_DASHBOARDS_DIR"]
    assert mounts["platform"]["grafana-dashboards"] == platform_dir
    provider_path = provider_yaml()["providers"][0]["options"]["path"]
    assert mounts["grafana"]["grafana-dashboards"] == provider_path
    assert mounts["grafana"]["./deploy/grafana/provisioning"] == "/etc/grafana/provisioning"


def test_mosquitto_config_keeps_what_a_down_gateway_has_not_taken() -> None:
    conf = (ROOT / "deploy" / "mosquitto" / "mosquitto.conf").read_text()
    settings = dict(
        line.split(None, 1) for line in conf.splitlines() if line and not line.startswith("#")
    )
    assert settings["allow_anonymous"] == "false"
    assert settings["plugin"].endswith("mosquitto_dynamic_security.so")
    assert settings["persistence"] == "true"
    assert int(settings["max_queued_messages"]) >= 1_000_000  # the default 1000 drops
    assert settings["max_queued_bytes"] == "0"


def test_docker_compose_config_validates(tmp_path: Path) -> None:
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.skip("Debian's docker-compose is not installed (apt-get install docker-compose)")
    base = [binary, "-f", str(COMPOSE), "--project-directory", str(ROOT)]
    ok = subprocess.run(
        [*base, "--env-file", str(filled_env(tmp_path)), "--profile", "simulators", "config"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    resolved = yaml.safe_load(ok.stdout)
    assert set(resolved["services"]) == {
        "mosquitto",
        "mqtt-setup",
        "influxdb",
        "platform",
        "grafana",
        "simulators",
    }
    empty = tmp_path / "empty.env"
    empty.write_text("")
    missing = subprocess.run(
        [*base, "--env-file", str(empty), "config"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert missing.returncode != 0
    assert "in .env" in missing.stderr  # the operator is told which variable to set


def test_the_gateway_connects_with_its_own_least_privilege_account() -> None:
    services = compose()["services"]
    env = services["platform"]["environment"]
    assert "${MQTT_GATEWAY_USER:?" in env["KOMMUNVAKT_MQTT_URL"]
    assert "${MQTT_GATEWAY_PASSWORD:?" in env["KOMMUNVAKT_MQTT_URL"]
    assert "${MQTT_CREDENTIALS_USER:?" in env["KOMMUNVAKT_DYNSEC_URL"]
    # the dynamic-security admin is the broker's and the account setup's, nobody else's
    for name, service in services.items():
        if name in ("mosquitto", "mqtt-setup"):
            continue
        assert "MQTT_ADMIN" not in yaml.safe_dump(service), name
    setup = services["mqtt-setup"]
    assert setup["command"] == ["python", "/src/deploy/mqtt_setup.py"]
    assert services["platform"]["depends_on"]["mqtt-setup"] == {
        "condition": "service_completed_successfully"
    }


COMPOSE_HA = ROOT / "docker-compose.ha.yml"


def test_ha_override_runs_two_instances_on_one_postgresql(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """docker-compose.ha.yml on top: PostgreSQL, and a second instance whose settings are the
    first one's but for its own data volume and host port (so the two share one lease, one
    MQTT session and one link secret)."""
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.skip("Debian's docker-compose is not installed (apt-get install docker-compose)")
    base = [binary, "-f", str(COMPOSE), "-f", str(COMPOSE_HA), "--project-directory", str(ROOT)]
    ok = subprocess.run(
        [*base, "--env-file", str(filled_env(tmp_path)), "config"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    services = yaml.safe_load(ok.stdout)["services"]
    a, b = services["platform"], services["platform-b"]
    assert a["environment"] == b["environment"]
    env = a["environment"]
    assert env["KOMMUNVAKT_DATABASE_URL"].startswith("postgresql+psycopg://kommunvakt:")
    assert env["KOMMUNVAKT_DATABASE_URL"].endswith("@postgres:5432/kommunvakt")
    assert "KOMMUNVAKT_MQTT_CLIENT_ID" not in env  # the default, the same for both: one session
    # the settings both start with are valid, and make them take turns (the lease)
    for key, value in env.items():
        monkeypatch.setenv(key, str(value))
    settings = Settings()
    assert settings.uses_lease
    assert settings.alerting.link_secret

    # own data dirs (a second process on one data dir is refused), own host ports
    def data_volume(service: dict[str, Any]) -> str:
        mounts = dict(str(v).split(":")[:2] for v in service["volumes"])
        return next(src for src, dst in mounts.items() if dst == "/var/lib/kommunvakt")

    assert data_volume(a) != data_volume(b)
    assert {p["published"] for p in a["ports"]} != {p["published"] for p in b["ports"]}
    for service in (a, b):
        assert service["depends_on"]["postgres"] == {"condition": "service_healthy"}
        assert "/livez" in service["healthcheck"]["test"][-1]  # a standby is not "ready"
    assert services["postgres"]["healthcheck"]["test"][1] == "pg_isready"
    # every variable the override needs is documented, and its secrets are required
    text = COMPOSE_HA.read_text()
    documented = set(re.findall(r"^([A-Z_]+)=", ENV_EXAMPLE.read_text(), re.M))
    for var, how in re.findall(r"\$\{([A-Z_]+)(:\?|:-|\})", text):
        assert var in documented, f"{var} is not in .env.example"
        if re.search(r"PASSWORD|TOKEN|SECRET", var):
            assert how == ":?", var
    empty = tmp_path / "empty.env"
    empty.write_text("")
    missing = subprocess.run(
        [*base, "--env-file", str(empty), "config"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert missing.returncode != 0
