"""deploy/mosquitto/mosquitto.conf on a real Mosquitto (Debian's 2.0), set up the way the compose
service does it: dynamic security initialised with mosquitto_ctrl, anonymous clients refused,
the compose healthcheck passing, and a persistent session that keeps more than Mosquitto's
default 1,000 queued messages for a gateway that is away."""

from __future__ import annotations

import os
import re
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
import yaml
from paho.mqtt.enums import CallbackAPIVersion

from tests.support.mosquitto import mosquitto_binary
from tests.support.net import free_port, wait_for, wait_port

pytestmark = pytest.mark.mosquitto

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = "/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so"
ADMIN, PASSWORD = "kv-admin", "admin-password-0123456789"


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[int]:
    binary = mosquitto_binary()
    if binary is None or not Path(PLUGIN).exists():
        pytest.fail("mosquitto (with its dynamic-security plugin) is not installed")
    port = free_port()
    data = tmp_path / "data"
    data.mkdir()
    conf = (ROOT / "deploy" / "mosquitto" / "mosquitto.conf").read_text()
    # the container's paths and port, moved to this machine; everything else as shipped
    conf = conf.replace("/usr/lib/mosquitto_dynamic_security.so", PLUGIN)
    conf = conf.replace("/mosquitto/data/", f"{data}/").replace("/mosquitto/data", str(data))
    conf = re.sub(r"^listener 1883$", f"listener {port} 127.0.0.1", conf, flags=re.M)
    # as root here, Mosquitto would drop to the mosquitto user, who cannot enter pytest's
    # private tmp dir (the compose service chowns the file to that user instead)
    conf += "\nuser root\n"
    (tmp_path / "mosquitto.conf").write_text(conf)
    subprocess.run(
        ["mosquitto_ctrl", "dynsec", "init", str(data / "dynamic-security.json"), ADMIN, PASSWORD],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    log = (tmp_path / "mosquitto.log").open("wb")
    proc = subprocess.Popen(
        [binary, "-c", str(tmp_path / "mosquitto.conf")], stdout=log, stderr=log
    )
    try:
        wait_port(port)
        yield port
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()


def healthcheck(port: int, password: str) -> int:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    command = compose["services"]["mosquitto"]["healthcheck"]["test"][1].replace("$$", "$")
    command = command.replace("-p 1883", f"-p {port}")
    env = {**os.environ, "MQTT_ADMIN_USER": ADMIN, "MQTT_ADMIN_PASSWORD": password}
    done = subprocess.run(
        ["sh", "-c", command], env=env, capture_output=True, timeout=30, check=False
    )
    return done.returncode


def client(
    client_id: str, *, user: str | None = ADMIN, password: str = PASSWORD, clean: bool = True
) -> mqtt.Client:
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=clean)
    if user is not None:
        c.username_pw_set(user, password)
    return c


def dynsec(port: int, *args: str) -> None:
    """What a technician (or the platform) does per device, as the dynamic-security admin."""
    subprocess.run(
        ["mosquitto_ctrl", "-h", "127.0.0.1", "-p", str(port), "-u", ADMIN, "-P", PASSWORD,
         "dynsec", *args],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip


def test_healthcheck_passes_with_the_admin_and_fails_without(broker: int) -> None:
    assert healthcheck(broker, PASSWORD) == 0
    assert healthcheck(broker, "wrong-password") != 0


def test_anonymous_clients_are_refused(broker: int) -> None:
    refused: list[object] = []
    c = client("anon", user=None)
    c.on_connect = lambda _c, _u, _f, reason, _p: refused.append(reason)
    c.connect("127.0.0.1", broker)
    c.loop_start()
    wait_for(lambda: refused, what="a CONNACK")
    c.loop_stop()
    assert refused[0].is_failure


def test_a_gateway_away_gets_more_than_a_thousand_queued_messages(broker: int) -> None:
    total = 1500  # Mosquitto's default max_queued_messages (1000) would drop 500 of these
    gateway = client("kv-gateway", clean=False)
    gateway.connect("127.0.0.1", broker)
    gateway.loop_start()
    subscribed = threading.Event()
    gateway.on_subscribe = lambda *_a: subscribed.set()
    gateway.subscribe("kv/#", qos=1)
    assert subscribed.wait(10)
    gateway.disconnect()
    gateway.loop_stop()

    # a device with its own credentials, allowed to publish its uplinks only
    dynsec(broker, "createClient", "shed-sensors", "-p", "sensor-password-0123")
    dynsec(broker, "createRole", "sensor")
    dynsec(broker, "addRoleACL", "sensor", "publishClientSend", "kv/+/up", "allow")
    dynsec(broker, "addClientRole", "shed-sensors", "sensor")
    publisher = client("kv-sensor", user="shed-sensors", password="sensor-password-0123")
    publisher.max_inflight_messages_set(100)
    publisher.connect("127.0.0.1", broker)
    publisher.loop_start()
    infos = [publisher.publish(f"kv/shed-{i % 10}/up", b"{}", qos=1) for i in range(total)]
    for info in infos:
        info.wait_for_publish(10)
    publisher.disconnect()
    publisher.loop_stop()

    received: list[str] = []
    back = client("kv-gateway", clean=False)
    back.on_message = lambda _c, _u, msg: received.append(msg.topic)
    back.connect("127.0.0.1", broker)
    back.loop_start()
    try:
        wait_for(lambda: len(received) >= total, 30, what=f"{total} queued messages")
    finally:
        back.disconnect()
        back.loop_stop()
    assert len(received) == total


def test_simulators_profile_publishes_with_its_own_dynsec_client(broker: int) -> None:
    import importlib.util

    from simulators import DemoSimulator

    spec = importlib.util.spec_from_file_location(
        "run_simulators", ROOT / "deploy" / "run_simulators.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    received: list[str] = []
    gateway = client("kv-gateway-sim")
    gateway.on_message = lambda _c, _u, msg: received.append(msg.topic)
    subscribed = threading.Event()
    gateway.on_subscribe = lambda *_a: subscribed.set()
    gateway.connect("127.0.0.1", broker)
    gateway.loop_start()
    gateway.subscribe("#", qos=1)  # every payload family the demo speaks
    assert subscribed.wait(10)

    # as in compose: with the credentials login that mqtt-setup made, not the admin
    from devices.dynsec import DynsecAdmin

    creds = ("kv-creds", "creds-pw-012345")
    _load("mqtt_setup").setup(
        DynsecAdmin("127.0.0.1", broker, ADMIN, PASSWORD), ("kv-gw", "gw-pw-0123456789"), creds
    )
    url = f"mqtt://{creds[0]}:{creds[1]}@127.0.0.1:{broker}"
    module.simulator_credentials(url)  # a second start replaces the client and its password
    user, password = module.simulator_credentials(url)
    sim = DemoSimulator("127.0.0.1", broker)
    sim.url = f"mqtt://{user}:{password}@127.0.0.1:{broker}"
    sim.start()
    try:
        wait_for(lambda: sim.published >= 3 and len(received) >= 3, 20, what="simulated uplinks")
        sim.stop()
        # the simulators speak for every demo device, but never as the camera system
        forger = client("kv-sim-forger", user=user, password=password)
        forger.connect("127.0.0.1", broker)
        forger.loop_start()
        forger.publish("kv/supervision/r-1/check", b"{}", qos=1).wait_for_publish(10)
        forger.publish("kv/sim-marker/up", b"{}", qos=1).wait_for_publish(10)
        wait_for(lambda: "kv/sim-marker/up" in received, 10, what="the marker")
        forger.disconnect()
        forger.loop_stop()
    finally:
        sim.stop()
        gateway.disconnect()
        gateway.loop_stop()
    assert not any(t.startswith("$") for t in received)
    assert "kv/supervision/r-1/check" not in received


def _load(name: str) -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, ROOT / "deploy" / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Login:
    """A paho client that remembers the broker's answers to its subscriptions and messages."""

    def __init__(self, port: int, client_id: str, user: str, password: str) -> None:
        self.c = client(client_id, user=user, password=password)
        self.granted: dict[int, bool] = {}
        self.received: list[str] = []
        self.c.on_subscribe = lambda _c, _u, mid, codes, _p: self.granted.update(
            {mid: not codes[0].is_failure}
        )
        self.c.on_message = lambda _c, _u, msg: self.received.append(msg.topic)
        self.c.connect("127.0.0.1", port)
        self.c.loop_start()

    def subscribe(self, topic: str) -> bool:
        _rc, mid = self.c.subscribe(topic, qos=1)
        wait_for(lambda: mid in self.granted, 10, what="SUBACK")
        return self.granted[mid]

    def close(self) -> None:
        self.c.disconnect()
        self.c.loop_stop()


def test_gateway_and_credentials_accounts_have_only_their_own_rights(broker: int) -> None:
    from devices.dynsec import DynsecAdmin, DynsecError

    setup = _load("mqtt_setup")
    gateway, creds = ("kv-gateway", "gateway-password-0123456789"), ("kv-creds", "creds-pw-012345")
    admin = DynsecAdmin("127.0.0.1", broker, ADMIN, PASSWORD)
    setup.setup(admin, gateway, creds)
    setup.setup(admin, gateway, creds)  # every `docker compose up` runs it again

    # the credentials account issues a device's login, as the platform does
    device_login = DynsecAdmin("127.0.0.1", broker, *creds).issue("bod-1")
    # the gateway's login can administer nothing
    with pytest.raises(DynsecError):
        DynsecAdmin("127.0.0.1", broker, *gateway).issue("bod-2")

    gw = Login(broker, "kv-gw-test", *gateway)
    reader = Login(broker, "kv-creds-test", *creds)
    device = Login(broker, "kv-bod-1", device_login.username, device_login.password)
    try:
        assert not gw.subscribe("#")
        assert not gw.subscribe("$CONTROL/dynamic-security/v1/response")
        assert gw.subscribe("kv/+/up")
        assert gw.subscribe("kv/supervision/+/check")
        assert not reader.subscribe("#")
        assert not reader.subscribe("kv/+/up")
        # the gateway publishes nothing: a reading it sends is dropped by the broker
        gw.c.publish("kv/bod-9/up", b"{}", qos=1).wait_for_publish(10)
        device.c.publish("kv/bod-1/up", b"{}", qos=1).wait_for_publish(10)  # a marker after it
        wait_for(lambda: "kv/bod-1/up" in gw.received, 10, what="the device's reading")
        assert gw.received == ["kv/bod-1/up"]
    finally:
        for login in (gw, reader, device):
            login.close()
