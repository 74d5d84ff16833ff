"""The SVG chart is well-formed XML whose DOM says what is drawn; axis times are Stockholm's."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime

from dashboards.history import device_state
from dashboards.svgchart import ChartSpec, Period, Series, Threshold, render_svg, time_ticks

NS = {"s": "http://www.w3.org/2000/svg"}


def _ts(*args: int) -> float:
    return datetime(*args, tzinfo=UTC).timestamp()


def test_dom_counts_and_well_formed_xml() -> None:
    t0 = _ts(2026, 10, 1, 0)
    spec = ChartSpec(
        start=t0,
        end=t0 + 6 * 3600,
        series=(
            Series("temperature", "Temperatur", (((t0, 1.0), (t0 + 60, 1.4)), ((t0 + 9000, 1.8),))),
        ),
        unit="°C",
        title="Temperatur <bod & kök>",
        thresholds=(Threshold("warning", 1.5), Threshold("critical", 1.9)),
        alert_periods=(Period(t0 + 100, t0 + 200, "a", "critical", "7", True),),
        door_periods=(Period(t0, t0 + 50), Period(t0 + 300, t0 + 400)),
        silent_periods=(Period(t0 + 60, t0 + 9000),),
    )
    root = ET.fromstring(render_svg(spec))  # noqa: S314 (our own markup)
    assert root.get("viewBox") == "0 0 520 270"
    assert len(root.findall(".//s:g[@class='series']", NS)) == 1
    assert len(root.findall(".//s:polyline[@class='segment']", NS)) == 1
    assert len(root.findall(".//s:circle[@class='segment']", NS)) == 1  # a lone reading
    assert [e.get("data-severity") for e in root.findall(".//s:line[@class='threshold']", NS)] == [
        "warning",
        "critical",
    ]
    assert len(root.findall(".//s:rect[@class='alert-period highlighted']", NS)) == 1
    assert len(root.findall(".//s:rect[@class='door-open']", NS)) == 2
    assert len(root.findall(".//s:rect[@class='silent']", NS)) == 1
    assert root.find("s:title", NS).text == "Temperatur <bod & kök>"  # type: ignore[union-attr]
    # y labels in Swedish use a decimal comma
    labels = [e.text or "" for e in root.iter("{http://www.w3.org/2000/svg}text")]
    assert any("," in x for x in labels)
    assert not any("." in x for x in labels)


def test_ticks_are_wall_clock_stockholm_across_dst() -> None:
    # 25 October 2026: 00:00 CEST is 22:00Z the day before; the day lasts 25 hours
    ticks = time_ticks(_ts(2026, 10, 24, 22), _ts(2026, 10, 25, 23))
    assert [label for _, label in ticks] == [
        "25/10",
        "03:00",
        "06:00",
        "09:00",
        "12:00",
        "15:00",
        "18:00",
        "21:00",
        "26/10",
    ]
    assert ticks[1][0] - ticks[0][0] == 4 * 3600  # 00:00 to 03:00 took four hours that night
    # 29 March 2026: 02:00 does not exist; hourly ticks skip it
    spring = time_ticks(_ts(2026, 3, 28, 23), _ts(2026, 3, 29, 4))
    assert [label for _, label in spring] == ["29/3", "01:00", "03:00", "04:00", "05:00", "06:00"]
    week = time_ticks(_ts(2026, 11, 15, 23), _ts(2026, 11, 22, 23))
    assert week[0][1] == "mån 16/11"
    assert time_ticks(_ts(2026, 11, 15, 23), _ts(2026, 11, 22, 23), "en")[0][1] == "Mon 16/11"


class _A:
    def __init__(self, severity: str, state: str = "active") -> None:
        self.severity, self.state = severity, state


def test_site_tile_state() -> None:
    now = 10_000.0
    assert device_state([_A("warning"), _A("critical")], now, now, 600) == "critical"
    assert device_state([_A("warning")], now, now, 600) == "warning"
    assert device_state([], None, now, 600) == "unknown"
    assert device_state([], now - 1501, now, 600) == "silent"
    assert device_state([], now - 1499, now, 600) == "ok"
