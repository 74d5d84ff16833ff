"""ChirpStack MQTT integration events: v4, and the v3 JSON and Protobuf-JSON marshalers.

Topic (both versions): ``application/{application}/device/{devEui}/event/{type}``.

* v4 (chirpstack.io/docs/chirpstack/integrations/events.html): ``deviceInfo.devEui`` (hex),
  ``time``, ``devAddr``, ``fCnt``, ``object`` (the codec's output), ``rxInfo[].rssi/.snr``.
  Protobuf-JSON leaves zero values out, so a missing ``fCnt`` is frame 0.
* v3 "JSON v3" marshaler: ``devEUI`` in hex, ``object`` decoded, ``rxInfo[].loRaSNR``.
* v3 Protobuf-JSON marshaler: ``devEUI``/``devAddr`` base64, ``objectJSON`` as a *string*.

``up`` yields the codec object's metrics (see ``ingest.codec_objects``) plus ``rssi``/``snr`` of
the best-heard gateway (highest RSSI); an uplink without a decoded object yields no reading (no
codec configured: nothing we could claim). ``status`` yields ``battery`` (%EL) and ``margin``
(dB). ``join``, ``ack``, ``txack``, ``log``, ``error``, ``location`` and ``integration`` carry no
reading and are accepted. ``device_ref`` is the DevEUI as 16 lowercase hex digits.

Duplicates: ``dedup_key`` is ``chirpstack:{devEui}:{devAddr}:{fCnt}``. The frame counter
restarts at 0 on every OTAA join, so the key also names the session's DevAddr; without it the
first uplinks after a rejoin would be dropped as "duplicates" of the previous session.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime

import orjson

from devices.reading import Decoded, Reading
from ingest.codec_objects import readings_from_object
from ingest.errors import DecodeError
from ingest.values import as_number, load_json_object, parse_time

__all__ = ["FAMILY", "TOPICS", "decode", "normalise_eui"]

FAMILY = "chirpstack"
TOPICS = ("application/+/device/+/event/+",)

_NO_READING = frozenset({"join", "ack", "txack", "log", "error", "location", "integration"})
_HEX = frozenset("0123456789abcdef")


def _hex_or_base64(value: object, nbytes: int, what: str) -> str:
    """Lowercase hex from hex text or from base64 (the Protobuf-JSON mapping of bytes)."""
    if not isinstance(value, str) or not value:
        raise DecodeError(f"{what} is missing or not a string")
    text = value.strip().lower()
    if len(text) == 2 * nbytes and set(text) <= _HEX:
        return text
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != nbytes:
        raise DecodeError(
            f"{what} {value[:40]!r} is neither {2 * nbytes} hex digits nor base64 of {nbytes} bytes"
        )
    return raw.hex()


def normalise_eui(value: object, what: str = "devEUI") -> str:
    return _hex_or_base64(value, 8, what)


def _best_rx(rx_info: object, snr_key: str) -> tuple[float | None, float | None]:
    if not isinstance(rx_info, list):
        return None, None
    best: tuple[float, float | None] | None = None
    for i, rx in enumerate(rx_info):
        if not isinstance(rx, dict) or rx.get("rssi") is None:
            continue
        rssi = as_number(rx["rssi"], field=f"rxInfo[{i}].rssi")
        snr_raw = rx.get(snr_key)
        snr = None if snr_raw is None else as_number(snr_raw, field=f"rxInfo[{i}].{snr_key}")
        if best is None or rssi > best[0]:
            best = (rssi, snr)
    return (None, None) if best is None else best


def _object(data: dict[str, object]) -> dict[str, object] | None:
    obj = data.get("object")
    if obj is None and "objectJSON" in data:
        text = data["objectJSON"]
        if text in (None, ""):
            return None
        if not isinstance(text, str):
            raise DecodeError("objectJSON is not a string")
        try:
            obj = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise DecodeError(f"objectJSON is not JSON: {exc}") from exc
    if obj is None:
        return None
    if not isinstance(obj, dict):
        raise DecodeError(f"decoded object is JSON {type(obj).__name__}, expected an object")
    return obj


def _event_time(data: dict[str, object], received_at: datetime) -> datetime:
    # v4 "time" is set by ChirpStack; v3 has "publishedAt" in later releases. Gateway clocks
    # (rxInfo[].time) are not trusted: a gateway without GPS has none or a wrong one.
    for key in ("time", "publishedAt"):
        value = data.get(key)
        if value is not None:
            return parse_time(value, field=key)
    return received_at


def decode(topic: str, payload: bytes, received_at: datetime) -> Decoded:
    parts = topic.split("/")
    if len(parts) != 6 or parts[0] != "application" or parts[2] != "device" or parts[4] != "event":
        raise DecodeError(
            f"topic {topic[:80]!r} is not application/<app>/device/<devEui>/event/<type>"
        )
    event = parts[5]
    topic_eui = normalise_eui(parts[3], "devEui in the topic")
    try:
        data = load_json_object(payload)
    except DecodeError as exc:
        if not str(exc).startswith("payload is not JSON"):
            raise
        # Binary Protobuf is ChirpStack's other encoding; say which setting picks JSON.
        raise DecodeError(
            f"{exc} (Protobuf?): set json=true under [integration.mqtt] in chirpstack.toml "
            '(v4) or marshaler="json" (v3)'
        ) from exc
    info = data.get("deviceInfo")
    if isinstance(info, dict) and info.get("devEui") is not None:
        body_eui = normalise_eui(info["devEui"], "deviceInfo.devEui")
    elif data.get("devEUI") is not None:
        body_eui = normalise_eui(data["devEUI"], "devEUI")
    else:
        body_eui = topic_eui
    if body_eui != topic_eui:
        raise DecodeError(f"topic names device {topic_eui} but the payload names {body_eui}")
    ref = topic_eui

    if event in _NO_READING:
        return Decoded((), device_ref=ref, family=FAMILY)
    if event == "status":
        return _status(data, ref, received_at)
    if event != "up":
        known = ", ".join(sorted(_NO_READING | {"up", "status"}))
        raise DecodeError(f"unknown ChirpStack event type {event[:40]!r} (known: {known})")

    when = _event_time(data, received_at)
    f_cnt_raw = data.get("fCnt", 0)
    f_cnt = int(as_number(f_cnt_raw, field="fCnt"))
    if f_cnt < 0:
        raise DecodeError(f"fCnt {f_cnt} is negative")
    dev_addr = data.get("devAddr")
    session = "" if dev_addr in (None, "") else _hex_or_base64(dev_addr, 4, "devAddr") + ":"
    key = f"{FAMILY}:{ref}:{session}{f_cnt}"
    obj = _object(data)
    if obj is None:
        return Decoded((), device_ref=ref, dedup_key=key, family=FAMILY)
    readings = readings_from_object(obj, ref, when)
    snr_key = "snr" if isinstance(info, dict) else "loRaSNR"
    rssi, snr = _best_rx(data.get("rxInfo"), snr_key)
    if rssi is not None:
        readings.append(Reading(ref, when, "rssi", rssi, "dBm"))
    if snr is not None:
        readings.append(Reading(ref, when, "snr", snr, "dB"))
    return Decoded(tuple(readings), device_ref=ref, dedup_key=key, family=FAMILY)


def _status(data: dict[str, object], ref: str, received_at: datetime) -> Decoded:
    when = _event_time(data, received_at)
    readings = []
    unavailable = data.get("batteryLevelUnavailable") is True
    external = data.get("externalPowerSource") is True
    level = data.get("batteryLevel")
    if level is not None and not unavailable and not external:
        battery = as_number(level, field="batteryLevel")
        if not 0 <= battery <= 100:
            raise DecodeError(f"batteryLevel {battery:g} is outside 0..100 %")
        readings.append(Reading(ref, when, "battery", battery, "%EL"))
    if data.get("margin") is not None:
        readings.append(
            Reading(ref, when, "margin", as_number(data["margin"], field="margin"), "dB")
        )
    return Decoded(tuple(readings), device_ref=ref, family=FAMILY)
