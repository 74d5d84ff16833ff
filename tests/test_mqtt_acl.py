"""Which topics a device's login may use: the same rule for Mosquitto and the embedded broker."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from devices.mqtt_acl import covers, device_publish_topics, device_subscribe_topics
from devices.schemas import DeviceRef
from ingest.formats import FormatRouter
from ingest.topics import TopicFilter


def _may_publish(device_id: str, refs: list[DeviceRef], topic: str) -> bool:
    return any(covers(f, topic) for f in device_publish_topics(device_id, refs))


def test_a_device_publishes_in_every_family_under_its_own_refs_only() -> None:
    refs = [DeviceRef(source="chirpstack", ref="70B3D5BCD8A0CE96")]
    own = [
        "kv/bod-1/up",
        "zigbee2mqtt/bod-1",
        "zigbee2mqtt/bod-1/availability",
        "tele/bod-1/SENSOR",
        "tele/bod-1/LWT",
        "application/3e5c/device/70b3d5bcd8a0ce96/event/up",
        "v3/app@ttn/devices/bod-1/up",
        "senml/bod-1",
    ]
    for topic in own:
        assert _may_publish("bod-1", refs, topic), topic
        assert FormatRouter().family_for(topic) is not None, topic  # the gateway reads it
    for topic in (
        "kv/bod-2/up",
        "zigbee2mqtt/bod-2",
        "tele/bod-2/SENSOR",
        "application/3e5c/device/0000000000000000/event/up",
        "kv/supervision/r-1/check",
        "kv/bod-1/down/set",
        "$SYS/broker/uptime",
    ):
        assert not _may_publish("bod-1", refs, topic), topic


def test_a_ref_with_a_wildcard_grants_nothing() -> None:
    refs = [DeviceRef(source="zigbee2mqtt", ref="#"), DeviceRef(source="tasmota", ref="+")]
    assert device_publish_topics("bod-1", refs) == device_publish_topics("bod-1", [])


def test_a_device_subscribes_to_its_downlinks_only() -> None:
    (allowed,) = device_subscribe_topics("bod-1")
    assert covers(allowed, "kv/bod-1/down/#")
    assert covers(allowed, "kv/bod-1/down/set")
    for wanted in ("#", "kv/#", "kv/+/down/#", "kv/bod-2/down/#", "+/bod-1/down/set"):
        assert not covers(allowed, wanted), wanted


_LEVEL = st.sampled_from(["kv", "a", "b", "up", "down", "+", "#", ""])


@given(st.lists(_LEVEL, min_size=1, max_size=5), st.lists(_LEVEL, min_size=1, max_size=5))
def test_covers_agrees_with_topic_matching_for_plain_topics(
    allowed: list[str], topic: list[str]
) -> None:
    filt = "/".join(allowed)
    if "#" in allowed[:-1]:
        return  # not a valid filter
    plain = "/".join(t for t in topic if t not in ("+", "#")) or "kv"
    assert covers(filt, plain) == TopicFilter(filt).matches(plain)


@given(st.lists(_LEVEL, min_size=1, max_size=5), st.lists(_LEVEL, min_size=1, max_size=5))
def test_a_covered_filter_matches_only_what_the_grant_matches(
    allowed: list[str], wanted: list[str]
) -> None:
    if "#" in allowed[:-1] or "#" in wanted[:-1]:
        return
    grant, request = "/".join(allowed), "/".join(wanted)
    if not covers(grant, request):
        return
    # every concrete topic the request matches, the grant matches too
    concrete = "/".join("x" if w in ("+", "#") else w for w in wanted)
    assert TopicFilter(grant).matches(concrete)
