"""Home Assistant MQTT discovery messages: recognised, and they yield no reading.

zigbee2mqtt, Tasmota and ESPHome announce their entities on
``homeassistant/<component>/[<node_id>/]<object_id>/config`` (home-assistant.io/integrations/
mqtt, "Discovery messages"). They describe devices, not measurements, so they are accepted
and counted, never stored as readings and never dead letters. An empty payload removes an
entity and is accepted too. ``homeassistant/status`` (Home Assistant's birth message) likewise.
"""

from __future__ import annotations

from datetime import datetime

import orjson

from devices.reading import Decoded
from ingest.errors import DecodeError
from ingest.values import MAX_PAYLOAD_BYTES

__all__ = ["FAMILY", "TOPICS", "decode"]

FAMILY = "homeassistant"
TOPICS = ("homeassistant/+/+/config", "homeassistant/+/+/+/config", "homeassistant/status")


def decode(topic: str, payload: bytes, received_at: datetime) -> Decoded:
    parts = topic.split("/")
    if parts == ["homeassistant", "status"]:
        return Decoded((), family=FAMILY)
    if parts[0] != "homeassistant" or parts[-1] != "config" or len(parts) not in (4, 5):
        raise DecodeError(
            f"topic {topic[:80]!r} is not homeassistant/<component>/[<node_id>/]<object_id>/config"
        )
    if any(not p for p in parts):
        raise DecodeError(f"topic {topic[:80]!r} has an empty level")
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise DecodeError(f"payload is {len(payload)} bytes, over the {MAX_PAYLOAD_BYTES} limit")
    if payload.strip():
        try:
            config = orjson.loads(payload)
        except orjson.JSONDecodeError as exc:
            raise DecodeError(f"discovery config is not JSON: {exc}") from exc
        if not isinstance(config, dict):
            raise DecodeError(
                f"discovery config is JSON {type(config).__name__}, expected an object"
            )
    return Decoded((), family=FAMILY, extra={"component": parts[1], "object_id": parts[-2]})
