"""The gateway's own MQTT credentials over TLS, against a real Mosquitto with a test CA.

The broker requires TLS, a client certificate signed by our CA and a username/password
(no anonymous clients). The platform runs as a real process with ``mqtts://`` and the CA,
certificate and key settings; a reading published over TLS arrives. A wrong password, a
missing client certificate or a CA that did not sign the broker's certificate get nowhere.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from core.mqtt_target import MqttTarget
from gateway.mqtt import MqttSource
from tests.support.mosquitto import Mosquitto, mosquitto_binary
from tests.support.net import wait_for, wait_port

pytestmark = pytest.mark.mosquitto

GATEWAY_PASSWORD = "gw-" + "k3y-" * 6


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _write(path: Path, key: ec.EllipticCurvePrivateKey, cert: x509.Certificate) -> None:
    path.with_suffix(".key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.with_suffix(".crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def make_ca(dir: Path, name: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(name))
        .issuer_name(_name(name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    _write(dir / name, key, cert)
    return key, cert


def issue(
    dir: Path, name: str, ca: tuple[ec.EllipticCurvePrivateKey, x509.Certificate], server: bool
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(name))
        .issuer_name(ca[1].subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
    )
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
    _write(dir / name, key, builder.sign(ca[0], hashes.SHA256()))


@pytest.fixture
def pki(tmp_path: Path) -> Path:
    pki = tmp_path / "pki"
    pki.mkdir()
    ca = make_ca(pki, "ca")
    make_ca(pki, "other-ca")
    issue(pki, "broker", ca, server=True)
    issue(pki, "gateway", ca, server=False)
    issue(pki, "device", ca, server=False)
    return pki


@pytest.fixture
def tls_broker(pki: Path, tmp_path: Path) -> Any:
    passwords = tmp_path / "passwd"
    subprocess.run(
        ["mosquitto_passwd", "-c", "-b", str(passwords), "gateway", GATEWAY_PASSWORD], check=True
    )
    subprocess.run(
        ["mosquitto_passwd", "-b", str(passwords), "device", "device-pass-123"], check=True
    )
    passwords.chmod(0o600)
    broker = TlsMosquitto(tmp_path / "mosquitto")
    broker.conf.write_text(
        f"listener {broker.port} 127.0.0.1\n"
        "allow_anonymous false\n"
        f"password_file {passwords}\n"
        f"cafile {pki / 'ca.crt'}\ncertfile {pki / 'broker.crt'}\nkeyfile {pki / 'broker.key'}\n"
        "require_certificate true\n"
        "persistence false\n"
        # as root Mosquitto drops to its own user, which cannot read the test's 0600 files
        "user root\n"
    )
    broker.start()
    yield broker
    broker.stop()


class TlsMosquitto(Mosquitto):
    """Mosquitto with a configuration of our own (the shared one allows anonymous clients)."""

    def start(self) -> Mosquitto:
        binary = mosquitto_binary()
        assert binary, "mosquitto is not installed (make test installs it)"
        self.proc = subprocess.Popen(
            [binary, "-c", str(self.conf)], stdout=self.log.open("ab"), stderr=subprocess.STDOUT
        )
        wait_port(self.port)
        return self


def _source(
    broker: Mosquitto,
    pki: Path,
    got: list[Any],
    *,
    password: str,
    ca: str = "ca",
    cert: bool = True,
) -> MqttSource:
    return MqttSource(
        MqttTarget("127.0.0.1", broker.port, "gateway", password, tls=True),
        f"kv-tls-{broker.port}-{len(got)}",
        ["kv/+/up"],
        lambda topic, payload, mid, qos, retain: got.append((topic, payload)),
        ca_file=pki / f"{ca}.crt",
        cert_file=pki / "gateway.crt" if cert else None,
        key_file=pki / "gateway.key" if cert else None,
    )


def _publish_tls(broker: Mosquitto, pki: Path, topic: str, body: dict[str, Any]) -> None:
    subprocess.run(
        ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(broker.port), "-q", "1",
         "--cafile", str(pki / "ca.crt"), "--cert", str(pki / "device.crt"),
         "--key", str(pki / "device.key"), "-u", "device", "-P", "device-pass-123",
         "-t", topic, "-m", json.dumps(body)],
        check=True, timeout=15,
    )  # fmt: skip


def test_gateway_connects_over_tls_with_its_own_credentials(
    tls_broker: Mosquitto, pki: Path, platform_factory: Any, tmp_path: Path
) -> None:
    proc = platform_factory(
        tmp_path / "kv",
        mqtt_url=f"mqtts://gateway:{GATEWAY_PASSWORD}@127.0.0.1:{tls_broker.port}",
        env={
            "KOMMUNVAKT_MQTT_CA_FILE": str(pki / "ca.crt"),
            "KOMMUNVAKT_MQTT_CERT_FILE": str(pki / "gateway.crt"),
            "KOMMUNVAKT_MQTT_KEY_FILE": str(pki / "gateway.key"),
        },
    ).start()  # healthy only once connected and subscribed
    assert proc.get("/healthz")["mqtt_connected"] is True
    proc.post("/api/v1/devices", {"id": "bod-tls", "type": "technical_shed_temperature"})
    _publish_tls(tls_broker, pki, "kv/bod-tls/up", {"values": {"temperature": 21.5}})
    latest = wait_for(lambda: proc.get("/api/v1/devices/bod-tls/latest"), what="reading over TLS")
    assert latest[0]["value"] == 21.5  # type: ignore[index]
    assert GATEWAY_PASSWORD not in proc.output()  # the password never reaches the log


@pytest.mark.parametrize(
    ("password", "ca", "cert"),
    [
        ("wrong-password-123", "ca", True),  # the broker refuses the credentials
        (GATEWAY_PASSWORD, "ca", False),  # no client certificate: the handshake fails
        (GATEWAY_PASSWORD, "other-ca", True),  # the broker's certificate is not trusted
    ],
)
def test_gateway_gets_nowhere_without_the_right_credentials(
    tls_broker: Mosquitto, pki: Path, password: str, ca: str, cert: bool
) -> None:
    got: list[Any] = []
    bad = _source(tls_broker, pki, got, password=password, ca=ca, cert=cert)
    bad.start()
    try:
        # it tried (and will keep trying with backoff) but is not connected
        wait_for(lambda: bad.backoff.attempt >= 1, timeout=20, what="a failed attempt")
        assert not bad.connected.is_set()
    finally:
        bad.stop()
    good = _source(tls_broker, pki, got, password=GATEWAY_PASSWORD)
    good.start()
    try:
        assert good.connected.wait(15)  # the same broker lets the right credentials in
    finally:
        good.stop()
