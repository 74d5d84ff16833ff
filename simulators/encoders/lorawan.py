"""LoRaWAN through a network server: ChirpStack v4 and v3, and The Things Stack v3.

The device speaks radio; the network server decodes its bytes with the vendor's codec and
publishes one event per uplink for the whole application. So there is one connection (the
network server's), no will per device, and a device that dies is only noticed by its silence.
A device that comes back joins again (``join`` event). The codec objects use the keys of the
Milesight decoders (``temperature``, ``humidity``, ``battery``, ``co2``, ``leakage_status``
"leak"/"normal", ``magnet_status`` "open"/"close", ``pir`` "trigger"/"idle", ``pressure`` hPa)
and Elsys for what Milesight lacks (``light`` lx, ``occupancy`` 0/2, ``vdd`` mV).

Formats: ChirpStack v4 event ``up`` (chirpstack.io/docs/chirpstack/integrations/events.html,
``deviceInfo.devEui``, ``fCnt``, ``object``, ``rxInfo[].rssi/snr``); ChirpStack v3 "JSON v3"
marshaler (``devEUI``, ``fCnt``, ``object``, ``rxInfo[].loRaSNR``); The Things Stack
(thethingsindustries.com/docs/integrations/data-formats: ``end_device_ids``,
``uplink_message.f_cnt``, ``decoded_payload``, ``rx_metadata[]``, ``received_at``).
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from datetime import datetime
from typing import ClassVar

import orjson

from simulators.encoders.base import iso_utc
from simulators.model import Observation, SimDevice, SimMessage, Value, dev_eui

__all__ = ["ChirpstackEncoder", "ChirpstackV3Encoder", "TtnEncoder"]

_METRICS = frozenset(
    {"temperature", "humidity", "battery", "co2", "water_leak", "door_open", "motion",
     "illuminance", "pressure", "occupancy", "voltage", "rssi", "snr"}
)  # fmt: skip

APPLICATION_ID = "3e5c1a2b-6f7d-4c1e-9a8b-0d2e4f6a8c10"
APPLICATION_NAME = "kommunvakt-sim"


def codec_object(values: dict[str, Value]) -> dict[str, object]:
    """The vendor codec's JSON object for these canonical values."""
    out: dict[str, object] = {}
    for metric, value in values.items():
        if metric in ("temperature", "humidity", "battery", "co2"):
            out[metric] = value
        elif metric == "water_leak":
            out["leakage_status"] = "leak" if value else "normal"
        elif metric == "door_open":
            out["magnet_status"] = "open" if value else "close"
        elif metric == "motion":
            out["pir"] = "trigger" if value else "idle"
        elif metric == "illuminance":
            out["light"] = value
        elif metric == "pressure":
            out["pressure"] = float(value) / 100
        elif metric == "occupancy":
            out["occupancy"] = 2 if value else 0
        elif metric == "voltage":
            out["vdd"] = round(float(value) * 1000)
    return out


def dev_addr(device: SimDevice, session: int = 0) -> str:
    return hashlib.sha256(f"{device.id}/{session}".encode()).hexdigest()[:8]


def _frm_payload(seq: int, values: dict[str, Value]) -> str:
    # Not a real vendor encoding (decoders read the codec object); a few stable bytes so the
    # field is present and well-formed base64, as on the wire.
    raw = orjson.dumps([seq, sorted(values)])
    return base64.b64encode(hashlib.sha256(raw).digest()[:11]).decode()


def _split(obs: Observation) -> tuple[dict[str, Value], float | None, float | None]:
    values = {k: v for k, v in obs.values.items() if k in _METRICS}
    rssi = values.pop("rssi", None)
    snr = values.pop("snr", None)
    return values, (None if rssi is None else float(rssi)), (None if snr is None else float(snr))


class ChirpstackEncoder:
    family: ClassVar[str] = "chirpstack"
    source: ClassVar[str] = "chirpstack"
    per_device_connection: ClassVar[bool] = False
    metrics: ClassVar[frozenset[str]] = _METRICS

    def ref(self, device: SimDevice) -> str:
        return dev_eui(device.id)

    def client_id(self, device: SimDevice) -> str:
        return "chirpstack-mqtt-integration"

    def _topic(self, device: SimDevice, event: str) -> str:
        return f"application/{APPLICATION_ID}/device/{dev_eui(device.id)}/event/{event}"

    def _device_info(self, device: SimDevice) -> dict[str, object]:
        return {
            "tenantName": "ChirpStack",
            "applicationId": APPLICATION_ID,
            "applicationName": APPLICATION_NAME,
            "deviceProfileName": device.type,
            "deviceName": device.id,
            "devEui": dev_eui(device.id),
        }

    def uplink(self, obs: Observation, seq: int) -> list[SimMessage]:
        values, rssi, snr = _split(obs)
        if not values and rssi is None:
            return []
        rx: dict[str, object] = {"gatewayId": "0016c001f153a14c", "uplinkId": 1000 + seq}
        if rssi is not None:
            rx["rssi"] = rssi
        if snr is not None:
            rx["snr"] = snr
        body = {
            "deduplicationId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{obs.device.id}/{seq}")),
            "time": iso_utc(obs.at),
            "deviceInfo": self._device_info(obs.device),
            "devAddr": dev_addr(obs.device),
            "adr": True,
            "dr": 5,
            "fCnt": seq,
            "fPort": 85,
            "confirmed": False,
            "data": _frm_payload(seq, values),
            "object": codec_object(values),
            "rxInfo": [rx],
            "txInfo": {"frequency": 868100000, "modulation": {"lora": {
                "bandwidth": 125000, "spreadingFactor": 7, "codeRate": "CR_4_5"}}},
        }  # fmt: skip
        topic = self._topic(obs.device, "up")
        return [SimMessage(obs.at, topic, orjson.dumps(body), obs.device.id)]

    def online(self, device: SimDevice, at: datetime) -> SimMessage | None:
        body = {
            "deduplicationId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{device.id}/join/{at}")),
            "time": iso_utc(at),
            "deviceInfo": self._device_info(device),
            "devAddr": dev_addr(device),
        }
        topic = self._topic(device, "join")
        return SimMessage(at, topic, orjson.dumps(body), device.id, kind="availability")

    def offline(self, device: SimDevice, at: datetime) -> SimMessage | None:
        return None


class ChirpstackV3Encoder(ChirpstackEncoder):
    """ChirpStack v3 with the "JSON v3" marshaler: hex ``devEUI``, ``rxInfo[].loRaSNR``."""

    def uplink(self, obs: Observation, seq: int) -> list[SimMessage]:
        values, rssi, snr = _split(obs)
        if not values and rssi is None:
            return []
        rx: dict[str, object] = {"gatewayID": "0016c001f153a14c", "name": "gw-1"}
        if rssi is not None:
            rx["rssi"] = rssi
        if snr is not None:
            rx["loRaSNR"] = snr
        body = {
            "applicationID": "1",
            "applicationName": APPLICATION_NAME,
            "deviceName": obs.device.id,
            "devEUI": dev_eui(obs.device.id),
            "rxInfo": [rx],
            "txInfo": {"frequency": 868100000, "dr": 5},
            "adr": True,
            "fCnt": seq,
            "fPort": 85,
            "data": _frm_payload(seq, values),
            "object": codec_object(values),
            "publishedAt": iso_utc(obs.at),
        }
        topic = self._topic(obs.device, "up").replace(APPLICATION_ID, "1")
        return [SimMessage(obs.at, topic, orjson.dumps(body), obs.device.id)]

    def online(self, device: SimDevice, at: datetime) -> SimMessage | None:
        return None


class TtnEncoder:
    family: ClassVar[str] = "ttn"
    source: ClassVar[str] = "ttn"
    per_device_connection: ClassVar[bool] = False
    metrics: ClassVar[frozenset[str]] = _METRICS
    application: ClassVar[str] = "kommunvakt-sim"
    tenant: ClassVar[str] = "ttn"

    def ref(self, device: SimDevice) -> str:
        return device.id

    def client_id(self, device: SimDevice) -> str:
        return f"{self.application}@{self.tenant}"

    def _ids(self, device: SimDevice) -> dict[str, object]:
        return {
            "device_id": device.id,
            "application_ids": {"application_id": self.application},
            "dev_eui": dev_eui(device.id).upper(),
            "join_eui": "70B3D57ED0000000",
            "dev_addr": dev_addr(device).upper(),
        }

    def _topic(self, device: SimDevice, kind: str) -> str:
        return f"v3/{self.application}@{self.tenant}/devices/{device.id}/{kind}"

    def uplink(self, obs: Observation, seq: int) -> list[SimMessage]:
        values, rssi, snr = _split(obs)
        if not values and rssi is None:
            return []
        rx: dict[str, object] = {
            "gateway_ids": {"gateway_id": "kommun-gw-1", "eui": "0016C001F153A14C"},
            "time": iso_utc(obs.at),
        }
        if rssi is not None:
            rx["rssi"] = rssi
            rx["channel_rssi"] = rssi
        if snr is not None:
            rx["snr"] = snr
        up: dict[str, object] = {
            "f_port": 85,
            "frm_payload": _frm_payload(seq, values),
            "decoded_payload": codec_object(values),
            "rx_metadata": [rx],
            "settings": {
                "data_rate": {"lora": {"bandwidth": 125000, "spreading_factor": 7}},
                "frequency": "868100000",
            },
            "received_at": iso_utc(obs.at),
            "consumed_airtime": "0.061696s",
        }
        if seq:  # The Things Stack leaves zero values out of its JSON
            up["f_cnt"] = seq
        body = {
            "end_device_ids": self._ids(obs.device),
            "correlation_ids": [
                f"as:up:{uuid.uuid5(uuid.NAMESPACE_URL, f'{obs.device.id}/{seq}')}"
            ],
            "received_at": iso_utc(obs.at),
            "uplink_message": up,
        }
        return [
            SimMessage(obs.at, self._topic(obs.device, "up"), orjson.dumps(body), obs.device.id)
        ]

    def online(self, device: SimDevice, at: datetime) -> SimMessage | None:
        body = {
            "end_device_ids": self._ids(device),
            "received_at": iso_utc(at),
            "join_accept": {"received_at": iso_utc(at)},
        }
        topic = self._topic(device, "join")
        return SimMessage(at, topic, orjson.dumps(body), device.id, kind="availability")

    def offline(self, device: SimDevice, at: datetime) -> SimMessage | None:
        return None
