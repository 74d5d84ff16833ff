"""Device health, pure: online/offline from silence and ``online`` readings; battery, signal."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from devices.catalogue import CATALOGUE, METRIC_UNITS, register_types, sensor_type_from_dict
from devices.health import OFFLINE_AFTER, device_health

NOW = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)


@dataclass(frozen=True)
class V:
    metric: str
    value: float | bool | str
    time: datetime
    received_at: datetime | None = None


def ago(seconds: float) -> datetime:
    return NOW - timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("latest", "interval", "status"),
    [
        ([], 600, "never_seen"),
        ([V("temperature", 4.0, ago(60))], 600, "online"),
        ([V("temperature", 4.0, ago(OFFLINE_AFTER * 600))], 600, "online"),  # at the limit
        ([V("temperature", 4.0, ago(OFFLINE_AFTER * 600 + 1))], 600, "offline"),
        ([V("temperature", 4.0, ago(4000))], 3600, "online"),  # a slow leak sensor
        # availability says offline, nothing newer: offline even though recent
        ([V("temperature", 4.0, ago(120)), V("online", False, ago(60))], 600, "offline"),
        # data after the offline message: it is back
        ([V("temperature", 4.0, ago(30)), V("online", False, ago(60))], 600, "online"),
        ([V("online", True, ago(10))], 600, "online"),
        ([V("online", False, ago(10))], 600, "offline"),
    ],
)
def test_status(latest: list[V], interval: int, status: str) -> None:
    assert device_health(latest, interval, NOW).status == status


def test_battery_signal_and_last_seen() -> None:
    h = device_health(
        [V("battery", 17.0, ago(300)), V("rssi", -112.0, ago(300)), V("temperature", 3.0, ago(5))],
        600,
        NOW,
    )
    assert (h.battery, h.rssi, h.last_seen, h.silent_for_s) == (17.0, -112.0, ago(5), 5.0)
    assert device_health([V("battery", True, ago(1))], 600, NOW).battery is None


def test_every_type_names_units_for_its_metrics() -> None:
    for sensor in CATALOGUE.values():
        assert sensor.metrics, sensor.key
        assert all(m in METRIC_UNITS for m in sensor.metrics), sensor.key
        assert sensor.expected_interval_s > 0


def test_adding_a_type_is_data() -> None:
    spec = {
        "key": "door_contact_test",
        "name_sv": "Dörrkontakt",
        "metrics": ["door_open", "battery"],
        "expected_interval_s": 3600,
    }
    assert register_types([spec]) == ["door_contact_test"]
    try:
        assert CATALOGUE["door_contact_test"].units == {"door_open": None, "battery": "%EL"}
    finally:
        from devices import catalogue

        catalogue._BY_KEY.pop("door_contact_test")
    for bad, reason in (
        ({**spec, "metrics": ["smell"]}, "smell"),
        ({**spec, "expected_interval_s": 0}, "positive"),
        ({**spec, "colour": "red"}, "colour"),
        ({"key": "x", "metrics": ["battery"]}, "expected_interval_s is missing"),
    ):
        with pytest.raises(ValueError, match=reason):
            sensor_type_from_dict(bad)


def test_health_goes_by_receive_time_not_the_device_clock() -> None:
    """A reading dated ahead by a wrong or forged clock does not make a silent device look
    alive: what counts is when it was received."""
    far = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
    h = device_health([V("in_bed", True, far, received_at=ago(7200))], 600, NOW)
    assert (h.status, h.last_seen, h.silent_for_s) == ("offline", ago(7200), 7200.0)
    # the offline message received after the data (whatever the data's own time says)
    latest = [V("temperature", 4.0, far, ago(120)), V("online", False, ago(3000), ago(60))]
    assert device_health(latest, 600, NOW).status == "offline"
