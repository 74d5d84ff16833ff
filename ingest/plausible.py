"""Times a device may claim: not ahead of our clock, not before clocks were set.

A reading's time comes from the device (or its network server), so a device with a broken or
forged clock can date a reading in year 9999. Stored, such a reading would stay "latest" for
ever and hide every real one after it. The pipeline refuses a message whose readings are more
than a small skew ahead of the time we received it, or older than 2000-01-01 (a clock that
was never set counts from 1970). Pure: the receive time is passed in.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from devices.reading import Reading

__all__ = ["EARLIEST", "implausible_time"]

#: No sensor in service has a reading from before this; an unset clock starts at 1970 or 2000.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)


def _iso(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


def implausible_time(
    readings: Iterable[Reading], received_at: datetime, max_ahead: timedelta
) -> str | None:
    """The reason to refuse a message for one of its readings' times, or ``None``."""
    latest = received_at + max_ahead
    for r in readings:
        if r.time > latest:
            ahead = (r.time - received_at).total_seconds()
            return (
                f"{r.metric} is dated {_iso(r.time)}, {ahead:.0f} s after it was received "
                f"({_iso(received_at)}; at most {max_ahead.total_seconds():.0f} s allowed): "
                "check the device's clock"
            )
        if r.time < EARLIEST:
            return (
                f"{r.metric} is dated {_iso(r.time)}, before {EARLIEST.date()}: "
                "the device's clock is not set"
            )
    return None
