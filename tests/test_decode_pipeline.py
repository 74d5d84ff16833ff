"""Decoded messages through the real pipeline and stores (in process, no broker):
LoRaWAN duplicates stored once, also across a store failure; rejected messages become dead
letters that the API lists, /metrics counts and pruning removes by age."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from gateway.pipeline import Inbound, Pipeline
from ingest.errors import StoreError
from ingest.store import LatestValue, ReadingStore, StoredReading
from tests.support.decode_examples import CHIRPSTACK_V4_UP, with_object

EUI = "0101010101010101"
TOPIC = f"application/app/device/{EUI}/event/up"


class FailingOnceStore:
    """Our ReadingStore seam: the first write fails like a locked disk, then the real store."""

    def __init__(self, inner: ReadingStore) -> None:
        self.inner = inner
        self.failures = 1

    def write(self, readings: Sequence[StoredReading]) -> None:
        if self.failures:
            self.failures -= 1
            raise StoreError("disk I/O error")
        self.inner.write(readings)

    def latest(self, device_id: str) -> list[LatestValue]:
        return self.inner.latest(device_id)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def uplink(f_cnt: int, temperature: float, time: str) -> bytes:
    msg = with_object(CHIRPSTACK_V4_UP, "object", {"temperature": temperature}, fCnt=f_cnt)
    msg["time"] = time
    return orjson.dumps(msg)


def inbound(topic: str, payload: bytes, at: datetime, mid: int = 1) -> Inbound:
    return Inbound(topic, payload, mid, 1, at)


def register(client: Any, device_id: str, source: str, ref: str) -> None:
    resp = client.post(
        "/api/v1/devices",
        json={"id": device_id, "type": "freezer", "refs": [{"source": source, "ref": ref}]},
    )
    assert resp.status_code == 201, resp.text


def test_duplicate_uplink_stored_once_even_across_a_store_failure(
    platform: Any, client: Any
) -> None:
    register(client, "frys-1", "chirpstack", EUI)
    store = FailingOnceStore(platform.store)
    pipeline = Pipeline(
        platform.router,
        platform.registry,
        store,  # type: ignore[arg-type]
        platform.engine,
        platform.quarantine,
        platform.dead_letters,
    )
    acked: list[int] = []
    pipeline.set_ack(lambda mid, _qos: acked.append(mid))
    now = datetime.now(UTC)
    # The same uplink twice (two deliveries, ChirpStack's times differ), plus the next frame.
    batch = [
        inbound(TOPIC, uplink(5, -18.5, "2026-01-15T02:00:00Z"), now, 1),
        inbound(TOPIC, uplink(5, -18.5, "2026-01-15T02:00:03Z"), now, 2),
        inbound(TOPIC, uplink(6, -18.0, "2026-01-15T02:10:00Z"), now, 3),
    ]
    try:
        pipeline.process(batch)
    except StoreError:
        pass
    else:
        raise AssertionError("the first write should have failed")
    assert acked == []  # nothing acknowledged that was not stored
    pipeline.process(batch)  # the retry the worker does
    assert acked == [1, 2, 3]
    history = platform.store.history(
        "frys-1",
        "temperature",
        datetime(2026, 1, 15, tzinfo=UTC),
        datetime(2026, 1, 16, tzinfo=UTC),
    )
    assert [(r.time.minute, r.value) for r in history] == [(0, -18.5), (10, -18.0)]
    # And a later redelivery of frame 5 is still recognised.
    pipeline.process([inbound(TOPIC, uplink(5, -18.5, "2026-01-15T02:00:09Z"), now, 4)])
    assert (
        len(
            platform.store.history(
                "frys-1",
                "temperature",
                datetime(2026, 1, 15, tzinfo=UTC),
                datetime(2026, 1, 16, tzinfo=UTC),
            )
        )
        == 2
    )
    # Counted once per message, not once per attempt: the batch failed once and was retried.
    assert pipeline.stats.duplicates == 2  # one in the batch, one redelivery
    assert pipeline.stats.received == 4
    assert pipeline.stats.by_family == {"chirpstack": 4}
    assert pipeline.stats.batches == 2


def test_rejected_messages_are_listed_counted_and_pruned(platform: Any, client: Any) -> None:
    now = datetime.now(UTC)
    # Two days old: inside the platform's own 30-day retention (its clock thread prunes too),
    # outside the one-day age this test prunes with.
    old = now - timedelta(days=2)
    platform.pipeline.process(
        [
            inbound("zigbee2mqtt/Frys kök", b'{"contact":"maybe"}', old, 1),
            inbound("tele/kok/LWT", b"Gone fishing", now, 2),
            inbound(f"application/a/device/{EUI}/event/up", b"\xff" * 5000, now, 3),
            inbound("nobody/listens/here", b"{}", now, 4),
        ]
    )
    letters = client.get("/api/v1/dead-letters").json()
    by_topic = {d["topic"]: d for d in letters}
    assert set(by_topic) == {
        "zigbee2mqtt/Frys kök",
        "tele/kok/LWT",
        f"application/a/device/{EUI}/event/up",
        "nobody/listens/here",
    }
    assert "contact 'maybe' is not a boolean" in by_topic["zigbee2mqtt/Frys kök"]["reason"]
    assert "neither Online nor Offline" in by_topic["tele/kok/LWT"]["reason"]
    assert "no payload format is configured" in by_topic["nobody/listens/here"]["reason"]
    big = by_topic[f"application/a/device/{EUI}/event/up"]
    assert big["payload_bytes"] == 5000
    assert len(big["payload"]) < 5000  # truncated, not kept whole
    assert "not JSON" in big["reason"]

    metrics = client.get("/metrics").text
    assert "kommunvakt_dead_letters_total 4" in metrics

    platform.pipeline.prune(timedelta(days=1), timedelta(hours=24))
    left = {d["topic"] for d in client.get("/api/v1/dead-letters").json()}
    assert "zigbee2mqtt/Frys kök" not in left
    assert len(left) == 3


def test_every_family_reaches_the_store_by_its_ref(platform: Any, client: Any) -> None:
    now = datetime.now(UTC)
    cases = [
        ("tasmota", "kok-plug", "tele/kok-plug/SENSOR", b'{"SI7021":{"Temperature":4.5}}'),
        ("zigbee2mqtt", "Frys 2", "zigbee2mqtt/Frys 2", b'{"temperature":-17.5}'),
        ("senml", "urn:dev:ow:1", "senml/a", b'[{"bn":"urn:dev:ow:1:","n":"temp","v":3.5}]'),
        (
            "ttn",
            "eui-a84041",
            "v3/app@ttn/devices/eui-a84041/up",
            b'{"uplink_message":{"f_cnt":1,"decoded_payload":{"temperature":2.5}}}',
        ),
    ]
    for i, (source, ref, _topic, _payload) in enumerate(cases):
        register(client, f"dev-{i}", source, ref)
    platform.pipeline.process(
        [inbound(topic, payload, now, i) for i, (_s, _r, topic, payload) in enumerate(cases)]
    )
    for i, (_s, _r, _t, payload) in enumerate(cases):
        latest = client.get(f"/api/v1/devices/dev-{i}/latest").json()
        assert [(v["metric"], v["unit"]) for v in latest] == [("temperature", "Cel")], payload


def test_unknown_refs_of_each_family_wait_in_quarantine(platform: Any, client: Any) -> None:
    now = datetime.now(UTC)
    platform.pipeline.process(
        [
            inbound("zigbee2mqtt/Okänd: sensor/1", b'{"water_leak":true}', now, 1),
            inbound(TOPIC, uplink(1, 3.0, "2026-01-15T02:00:00Z"), now, 2),
            inbound(
                "v3/app/devices/eui-77/up",
                b'{"uplink_message":{"decoded_payload":{"battery":80}}}',
                now,
                3,
            ),
            inbound("zigbee2mqtt/bridge/state", b'{"state":"online"}', now, 4),  # no device
        ]
    )
    unknown = {u["ref"]: u for u in client.get("/api/v1/unknown-devices").json()}
    assert {ref: u["family"] for ref, u in unknown.items()} == {
        "Okänd: sensor/1": "zigbee2mqtt",
        EUI: "chirpstack",
        "eui-77": "ttn",
    }
    assert "water_leak" in unknown["Okänd: sensor/1"]["last_payload"]


def test_formats_from_settings_choose_the_family(tmp_path: Any) -> None:
    """An operator whose zigbee2mqtt uses base topic ``hus3`` says so in the settings."""
    from gateway.platform import Platform
    from gateway.settings import load_settings
    from tests.support.platform import TOKEN

    settings = load_settings(
        data_dir=tmp_path / "data",
        admin_token=TOKEN,
        formats={"native": ["kv/+/up"], "zigbee2mqtt": ["hus3/#"]},
    )
    p = Platform(settings)
    try:
        assert p.router.subscriptions == ["hus3/#", "kv/+/up"]
        decoded = p.router.decode("hus3/Frys: dörr", b'{"contact":true}', datetime.now(UTC))
        assert [(r.device_ref, r.metric, r.value) for r in decoded.readings] == [
            ("Frys: dörr", "door_open", False)
        ]
        assert p.router.family_for("zigbee2mqtt/Frys") is None  # not configured here
    finally:
        p.stop()
