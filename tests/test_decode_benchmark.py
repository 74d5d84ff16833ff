"""The decode benchmark runs (tiny rounds) and its messages decode; the router's topic memory
keeps first-match-wins and the ``--format`` override."""

from __future__ import annotations

from datetime import UTC, datetime

from benchmarks import decode as bench
from ingest.formats import DECODERS, FormatRouter


def test_benchmark_covers_every_family_with_real_messages() -> None:
    results = {r.family: r for r in bench.run(seconds=0.0, batch_size=1)}
    assert set(results) == set(DECODERS)
    for family, r in results.items():
        assert r.decoder_per_s > 0
        assert r.routed_per_s > 0
        if family != "homeassistant":
            assert r.readings_per_message >= 1, family


def test_router_memory_keeps_the_configured_order_and_the_override() -> None:
    now = datetime.now(UTC)
    # A site whose Tasmota devices publish under zigbee2mqtt/… (odd, but configurable):
    router = FormatRouter(
        {"tasmota": ["zigbee2mqtt/tele/+/SENSOR"], "zigbee2mqtt": ["zigbee2mqtt/#"]}
    )
    assert router.family_for("zigbee2mqtt/tele/x/SENSOR") == "tasmota"
    topic = "zigbee2mqtt/Frys"
    for _ in range(2):  # the second call is served from the router's memory
        decoded = router.decode(topic, b'{"temperature":3}', now)
        assert decoded.family == "zigbee2mqtt"
    default = FormatRouter()
    assert default.decode("kv/a/up", b'{"values":{"temperature":3}}', now).family == "native"
    senml = b'[{"bn":"a:","n":"temp","v":3}]'
    assert default.decode("kv/a/up", senml, now, family="senml").family == "senml"
