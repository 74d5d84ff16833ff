"""Decode throughput per payload family on one core: ``python -m benchmarks.decode``.

Each family decodes a rotating set of realistic messages (several devices, varying values and
times, the documented envelopes) for a fixed time, best of three rounds. Two figures:

* ``decoder``: the family's ``decode(topic, payload, received_at)`` alone;
* ``routed``: ``FormatRouter.decode`` with the default topic filters, as the pipeline calls it
  (topic matching included; zigbee2mqtt's filter is the last one tried).

Rates are per second of this process's CPU time (``time.process_time``), i.e. on one core:
on a shared machine wall-clock rates measure the neighbours as much as the decoder.

Target (issue 3): ≥ 50,000 messages/s for native and zigbee2mqtt.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson

from ingest.formats import DECODERS, FormatRouter

__all__ = ["FamilyResult", "main", "messages", "run"]

TARGET = 50_000
TARGET_FAMILIES = ("native", "zigbee2mqtt")


def messages() -> dict[str, list[tuple[str, bytes]]]:
    """Per family: (topic, payload) pairs shaped like what the real sources publish."""
    out: dict[str, list[tuple[str, bytes]]] = {f: [] for f in DECODERS}
    for i in range(64):
        t = 18.0 + (i % 17) / 10
        out["native"].append(
            (
                f"kv/shed-{i}/up",
                orjson.dumps(
                    {"time": f"2026-01-15T12:{i % 60:02d}:00Z", "values": {"temperature": t}}
                ),
            )
        )
        out["zigbee2mqtt"].append(
            (
                f"zigbee2mqtt/Hus {i % 4}/frys: dörr {i}",
                orjson.dumps(
                    {
                        "battery": 90 - i % 10,
                        "contact": i % 3 == 0,
                        "linkquality": 80 + i,
                        "temperature": t,
                        "voltage": 3000 - i,
                        "last_seen": f"2026-01-15T12:{i % 60:02d}:00.000Z",
                    }
                ),
            )
        )
        eui = f"a84041{i:010x}"
        out["chirpstack"].append(
            (
                f"application/app/device/{eui}/event/up",
                orjson.dumps(
                    {
                        "deduplicationId": "3ac7e3c4-4401-4b8d-9386-a5c902f9202d",
                        "time": "2026-01-15T12:00:00.123456+00:00",
                        "deviceInfo": {"applicationName": "kommun", "devEui": eui},
                        "devAddr": f"{i:08x}",
                        "fCnt": i,
                        "fPort": 5,
                        "data": "AQDhAiYEAEgFAAcOQA==",
                        "object": {"temperature": t, "humidity": 40, "vdd": 3600, "motion": 0},
                        "rxInfo": [{"gatewayId": "0016c001f153a14c", "rssi": -80, "snr": 7.5}],
                    }
                ),
            )
        )
        out["ttn"].append(
            (
                f"v3/kommun@ttn/devices/em300-{i}/up",
                orjson.dumps(
                    {
                        "end_device_ids": {"device_id": f"em300-{i}", "dev_addr": f"{i:08X}"},
                        "received_at": "2026-01-15T12:00:00.5Z",
                        "uplink_message": {
                            "f_cnt": i,
                            "decoded_payload": {
                                "battery": 92,
                                "temperature": t,
                                "humidity": 50.5,
                                "leakage_status": "normal",
                            },
                            "rx_metadata": [{"rssi": -35, "snr": 5}],
                            "received_at": "2026-01-15T12:00:00.4Z",
                        },
                    }
                ),
            )
        )
        out["tasmota"].append(
            (
                f"tele/bod-{i}/SENSOR",
                orjson.dumps(
                    {
                        "Time": "2026-01-15T13:00:00",
                        "AM2301": {"Temperature": t, "Humidity": 40.1, "DewPoint": 4.2},
                        "TempUnit": "C",
                    }
                ),
            )
        )
        out["senml"].append(
            (
                "senml/kommun",
                orjson.dumps(
                    [
                        {
                            "bn": f"urn:dev:ow:{eui}:",
                            "bt": 1768471200 + i,
                            "n": "temp",
                            "u": "Cel",
                            "v": t,
                        },
                        {"n": "humidity", "u": "%RH", "v": 40},
                    ]
                ),
            )
        )
        out["homeassistant"].append(
            (
                f"homeassistant/binary_sensor/0x{i:016x}/contact/config",
                orjson.dumps({"device_class": "door", "state_topic": f"zigbee2mqtt/d{i}"}),
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class FamilyResult:
    family: str
    decoder_per_s: float
    routed_per_s: float
    readings_per_message: float


def _rate(
    fn: Callable[[str, bytes, datetime], object],
    msgs: list[tuple[str, bytes]],
    seconds: float,
    batch_size: int,
) -> float:
    now = datetime.now(UTC)
    best = 0.0
    batch = msgs * max(1, batch_size // len(msgs))
    for _round in range(3):
        done = 0
        start = time.process_time()
        while True:  # at least one pass, then until the round's CPU time is used
            for topic, payload in batch:
                fn(topic, payload, now)
            done += len(batch)
            elapsed = time.process_time() - start
            if elapsed >= seconds:
                break
        best = max(best, done / max(elapsed, 1e-9))
    return best


def run(seconds: float = 0.4, batch_size: int = 2048) -> list[FamilyResult]:
    router = FormatRouter()
    now = datetime.now(UTC)
    results = []
    for family, msgs in messages().items():
        decoder = DECODERS[family]
        readings = sum(len(decoder(t, p, now).readings) for t, p in msgs) / len(msgs)
        results.append(
            FamilyResult(
                family,
                _rate(decoder, msgs, seconds, batch_size),
                _rate(router.decode, msgs, seconds, batch_size),
                readings,
            )
        )
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.decode", description=__doc__)
    parser.add_argument("--seconds", type=float, default=0.4, help="per family and round")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    # Called from another runner (benchmarks/__main__.py), sys.argv is theirs, not ours.
    args = parser.parse_args([] if argv is None else argv)
    results = run(args.seconds)
    if args.json:
        print(orjson.dumps([_as_dict(r) for r in results]).decode())
    else:
        print("decode throughput, one core (messages/s, best of 3)")
        print(f"{'family':<14} {'decoder':>10} {'routed':>10} {'readings/msg':>13}")
        for r in results:
            print(
                f"{r.family:<14} {r.decoder_per_s:>10,.0f} {r.routed_per_s:>10,.0f} "
                f"{r.readings_per_message:>13.1f}"
            )
    missed = [r.family for r in results if r.family in TARGET_FAMILIES and r.routed_per_s < TARGET]
    if missed:
        print(f"below the {TARGET:,}/s target: {', '.join(missed)}")
        return 1
    return 0


def _as_dict(r: FamilyResult) -> dict[str, object]:
    return {
        "family": r.family,
        "decoder_per_s": round(r.decoder_per_s),
        "routed_per_s": round(r.routed_per_s),
        "readings_per_message": r.readings_per_message,
    }


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
