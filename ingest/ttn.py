"""The Things Stack v3 MQTT server (TTN cloud, TTI, open source).

Topics (thethingsindustries.com/docs/integrations/mqtt): ``v3/{app}@{tenant}/devices/{device}/up``
on multi-tenant deployments and ``v3/{app}/devices/{device}/up`` on single-tenant ones; also
``join``, ``down/{queued,sent,ack,nack,failed,push,replace}``, ``service/data`` and
``location/solved``, which carry no reading and are accepted.

An ``up`` message yields the metrics of ``uplink_message.decoded_payload`` (vendor keys mapped by
``ingest.codec_objects``) and ``rssi``/``snr`` of the best-heard gateway, at
``uplink_message.received_at`` (the network's receive time). Without ``decoded_payload`` (no
payload formatter) it yields nothing. ``f_cnt`` 0 is left out of the JSON, so missing means 0.

``device_ref`` is the TTS device id (``end_device_ids.device_id``, also in the topic). Device ids
are unique per application only: register ids that are unique across the applications you
bridge. ``dedup_key`` is ``ttn:{app}:{device}:{dev_addr}:{f_cnt}`` (DevAddr names the session,
as the frame counter restarts at each join).
"""

from __future__ import annotations

from datetime import datetime

from devices.reading import Decoded, Reading
from ingest.codec_objects import readings_from_object
from ingest.errors import DecodeError
from ingest.values import as_number, load_json_object, parse_time

__all__ = ["FAMILY", "TOPICS", "decode"]

FAMILY = "ttn"
TOPICS = ("v3/+/devices/+/#",)

_NO_READING = frozenset(
    {
        "join",
        "down/queued",
        "down/sent",
        "down/ack",
        "down/nack",
        "down/failed",
        "down/push",
        "down/replace",
        "service/data",
        "location/solved",
    }
)


def _best_rx(rx_metadata: object) -> tuple[float | None, float | None]:
    if not isinstance(rx_metadata, list):
        return None, None
    best: tuple[float, float | None] | None = None
    for i, rx in enumerate(rx_metadata):
        if not isinstance(rx, dict):
            continue
        raw = rx.get("rssi", rx.get("channel_rssi"))
        if raw is None:
            continue
        rssi = as_number(raw, field=f"rx_metadata[{i}].rssi")
        snr = None if rx.get("snr") is None else as_number(rx["snr"], field=f"rx_metadata[{i}].snr")
        if best is None or rssi > best[0]:
            best = (rssi, snr)
    return (None, None) if best is None else best


def decode(topic: str, payload: bytes, received_at: datetime) -> Decoded:
    parts = topic.split("/")
    if len(parts) < 5 or parts[0] != "v3" or parts[2] != "devices" or not parts[1] or not parts[3]:
        raise DecodeError(f"topic {topic[:80]!r} is not v3/<app>[@<tenant>]/devices/<device>/...")
    app, device = parts[1], parts[3]
    kind = "/".join(parts[4:])
    if kind in _NO_READING:
        return Decoded((), device_ref=device, family=FAMILY)
    if kind != "up":
        raise DecodeError(f"unknown The Things Stack message type {kind[:40]!r}")
    data = load_json_object(payload)
    ids = data.get("end_device_ids")
    dev_addr = ""
    if isinstance(ids, dict):
        named = ids.get("device_id")
        if named is not None and named != device:
            raise DecodeError(
                f"topic names device {device!r} but the payload names {str(named)[:40]!r}"
            )
        dev_addr = str(ids.get("dev_addr") or "").lower()
    up = data.get("uplink_message")
    if not isinstance(up, dict):
        raise DecodeError("up message has no uplink_message object")
    f_cnt = int(as_number(up.get("f_cnt", 0), field="uplink_message.f_cnt"))
    if f_cnt < 0:
        raise DecodeError(f"uplink_message.f_cnt {f_cnt} is negative")
    key = f"{FAMILY}:{app}:{device}:{dev_addr}:{f_cnt}"
    if up.get("received_at") is not None:
        when = parse_time(up["received_at"], field="uplink_message.received_at")
    elif data.get("received_at") is not None:
        when = parse_time(data["received_at"], field="received_at")
    else:
        when = received_at
    decoded = up.get("decoded_payload")
    if decoded is None:
        return Decoded((), device_ref=device, dedup_key=key, family=FAMILY)
    if not isinstance(decoded, dict):
        raise DecodeError(
            f"uplink_message.decoded_payload is JSON {type(decoded).__name__}, expected an object"
        )
    readings = readings_from_object(decoded, device, when)
    rssi, snr = _best_rx(up.get("rx_metadata"))
    if rssi is not None:
        readings.append(Reading(device, when, "rssi", rssi, "dBm"))
    if snr is not None:
        readings.append(Reading(device, when, "snr", snr, "dB"))
    return Decoded(tuple(readings), device_ref=device, dedup_key=key, family=FAMILY)
