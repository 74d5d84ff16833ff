"""The worst value of an alert's period, by the direction of its limit."""

from __future__ import annotations

import pytest

from dashboards.alert_view import worst_value


@pytest.mark.parametrize(
    ("values", "direction", "worst"),
    [
        ([31.5, 34.0, 22.0], "above", 34.0),
        ([-14.0, -9.5, -18.0], "below", -18.0),
        ([4.0, 2, 7.5], "below", 2.0),
        ([True, "x", float("nan"), 26.0], "above", 26.0),  # states and gaps are not values
        ([], "above", None),
    ],
)
def test_worst_value(values: list[object], direction: str, worst: float | None) -> None:
    assert worst_value(values, direction) == worst
