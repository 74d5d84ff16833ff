"""A real three-node NATS cluster (Debian's nats-server) with JetStream and MQTT, on loopback.

MQTT in nats-server needs JetStream (sessions and QoS 1 messages are JetStream streams) and,
clustered, a ``server_name`` per node. The MQTT streams (sessions, QoS 1 messages) and their
consumers are replicated on every node (``stream_replicas``/``consumer_replicas``), so a
session outlives a node.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from tests.support.net import free_port, wait_for, wait_port

__all__ = ["NatsCluster", "nats_binary"]


def nats_binary() -> str | None:
    for candidate in (shutil.which("nats-server"), "/usr/sbin/nats-server"):
        if candidate and Path(candidate).exists():
            return candidate
    return None


class _Node:
    def __init__(self, workdir: Path, name: str) -> None:
        self.name = name
        self.workdir = workdir / name
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.host = "127.0.0.1"
        self.client_port, self.route_port, self.port = free_port(), free_port(), free_port()
        self.conf = self.workdir / "nats.conf"
        self.log = self.workdir / "nats.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"


class NatsCluster:
    def __init__(self, workdir: Path, size: int = 3) -> None:
        self.nodes = [_Node(workdir, f"n{i + 1}") for i in range(size)]

    @property
    def url(self) -> str:
        """Every node's MQTT address, comma-separated (what the gateway is given)."""
        return ",".join(node.url for node in self.nodes)

    def start(self) -> NatsCluster:
        binary = nats_binary()
        assert binary, "nats-server is not installed (scripts/system-deps.sh installs it)"
        for node in self.nodes:
            routes = ", ".join(
                f"nats-route://127.0.0.1:{other.route_port}"
                for other in self.nodes
                if other is not node
            )
            node.conf.write_text(
                f"server_name: {node.name}\n"
                f"listen: 127.0.0.1:{node.client_port}\n"
                f'jetstream {{ store_dir: "{node.workdir / "js"}" }}\n'
                f"cluster {{ name: kv, listen: 127.0.0.1:{node.route_port}, routes: [{routes}] }}\n"
                # explicit: left to itself, the first node asked sizes the MQTT streams by the
                # peers it knows then, and an early connect made them R1 (lost with that node)
                f"mqtt {{ listen: 127.0.0.1:{node.port}, stream_replicas: {len(self.nodes)},"
                f" consumer_replicas: {len(self.nodes)} }}\n"
            )
            node.proc = subprocess.Popen(
                [binary, "-c", str(node.conf)],
                stdout=node.log.open("ab"),
                stderr=subprocess.STDOUT,
            )
        for node in self.nodes:
            wait_port(node.port)
            # MQTT answers only once JetStream has a leader and the MQTT streams exist
            wait_for(lambda n=node: _mqtt_accepts(n), 60, 0.5, what=f"MQTT on {node.name}")
        return self

    def kill(self, index: int) -> None:
        """kill -9 one node."""
        proc = self.nodes[index].proc
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(5)
        self.nodes[index].proc = None

    def stop(self) -> None:
        for i in range(len(self.nodes)):
            proc = self.nodes[i].proc
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    self.kill(i)


def _mqtt_accepts(node: _Node) -> bool:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"probe-{node.name}")
    try:
        client.connect(node.host, node.port, 5)
        rc = client.loop(timeout=5)
        ok = rc == mqtt.MQTT_ERR_SUCCESS and client.is_connected()
        client.disconnect()
        return ok
    except OSError:
        return False
