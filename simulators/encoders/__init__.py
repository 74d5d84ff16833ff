"""Encoders per payload family: how each product puts a reading on the wire."""

from simulators.encoders.base import Encoder
from simulators.encoders.lorawan import ChirpstackEncoder, ChirpstackV3Encoder, TtnEncoder
from simulators.encoders.native import NativeEncoder
from simulators.encoders.senml import SenmlEncoder
from simulators.encoders.tasmota import TasmotaEncoder
from simulators.encoders.zigbee2mqtt import Zigbee2mqttEncoder

__all__ = ["ENCODERS", "Encoder", "get_encoder"]

#: CLI name → encoder
ENCODERS: dict[str, Encoder] = {
    "native": NativeEncoder(),
    "senml": SenmlEncoder(),
    "chirpstack": ChirpstackEncoder(),
    "chirpstack-v3": ChirpstackV3Encoder(),
    "ttn": TtnEncoder(),
    "zigbee2mqtt": Zigbee2mqttEncoder(),
    "tasmota": TasmotaEncoder(),
}


def get_encoder(name: str) -> Encoder:
    try:
        return ENCODERS[name]
    except KeyError:
        known = ", ".join(sorted(ENCODERS))
        raise ValueError(f"unknown payload format {name!r}; known: {known}") from None
