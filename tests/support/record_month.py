"""A synthetic October 2026 for one freezer, with figures worked out by hand.

Readings every 10 minutes at -20.0 °C from local 1 October 00:00 to 1 November 00:00, except:
- 30 Sep 23:50 local (21:50Z) reads -10.0 and the 1 Oct 00:00 local reading is missing, so the
  warm reading holds 10 minutes into 1 October (it holds until the next reading at 22:10Z).
- 12 Oct: silent from 12:00Z to 13:50Z (12 readings missing); 11:50Z reads -16.0, which counts
  as above the limit for at most 2.5 intervals = 25 min, not for the whole silence.
- 25 Oct (DST ends, 25 h, 150 readings): 10:00Z..10:50Z read -15.0 (60 min above); 00:30Z (02:30
  CEST) reads -22.0; 01:30Z (02:30 CET, the repeated hour) reads exactly -18.0, not above.
Door: 10 Oct open 08:03:00Z..08:17:30Z (14.5 min; a heartbeat "open" at 08:10Z in between);
14 Oct open 21:55Z..22:06Z, i.e. 23:55..00:06 local: 5 min on the 14th, 6 min on the 15th.
Alert: 12 Oct 11:55Z, acknowledged by "Anna i köket" 12:05Z, resolved 14:05Z.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

__all__ = ["ALERT", "DOORS", "EXPECTED", "NOW", "TEMPS"]

T0 = datetime(2026, 9, 30, 22, 0, tzinfo=UTC)  # 1 Oct 00:00 CEST
T_END = datetime(2026, 10, 31, 23, 0, tzinfo=UTC)  # 1 Nov 00:00 CET
NOW = datetime(2026, 11, 5, 12, 0, tzinfo=UTC)


def _temps() -> list[tuple[datetime, float]]:
    out = [(datetime(2026, 9, 30, 21, 50, tzinfo=UTC), -10.0)]
    t = T0 + timedelta(minutes=10)  # the 00:00 local reading of 1 Oct is missing
    silent_from = datetime(2026, 10, 12, 12, 0, tzinfo=UTC)
    silent_to = datetime(2026, 10, 12, 14, 0, tzinfo=UTC)
    special = {
        datetime(2026, 10, 12, 11, 50, tzinfo=UTC): -16.0,
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC): -22.0,
        datetime(2026, 10, 25, 1, 30, tzinfo=UTC): -18.0,
        **{datetime(2026, 10, 25, 10, m, tzinfo=UTC): -15.0 for m in range(0, 60, 10)},
    }
    while t < T_END:
        if not silent_from <= t < silent_to:
            out.append((t, special.get(t, -20.0)))
        t += timedelta(minutes=10)
    return out


TEMPS = _temps()
DOORS = [
    (datetime(2026, 10, 10, 8, 0, tzinfo=UTC), False),
    (datetime(2026, 10, 10, 8, 3, tzinfo=UTC), True),
    (datetime(2026, 10, 10, 8, 10, tzinfo=UTC), True),
    (datetime(2026, 10, 10, 8, 17, 30, tzinfo=UTC), False),
    (datetime(2026, 10, 14, 21, 55, tzinfo=UTC), True),
    (datetime(2026, 10, 14, 22, 6, tzinfo=UTC), False),
]
ALERT = {
    "started": datetime(2026, 10, 12, 11, 55, tzinfo=UTC),
    "acked": datetime(2026, 10, 12, 12, 5, tzinfo=UTC),
    "resolved": datetime(2026, 10, 12, 14, 5, tzinfo=UTC),
    "by": "Anna i köket",
}

# day -> (hours, readings, min, max, mean, minutes above -18, door-open minutes)
EXPECTED = {
    "2026-10-01": (24, 143, -20.0, -20.0, -20.0, 10.0, 0.0),
    "2026-10-02": (24, 144, -20.0, -20.0, -20.0, 0.0, 0.0),
    "2026-10-10": (24, 144, -20.0, -20.0, -20.0, 0.0, 14.5),
    "2026-10-12": (24, 132, -20.0, -16.0, (-20 * 131 - 16) / 132, 25.0, 0.0),
    "2026-10-14": (24, 144, -20.0, -20.0, -20.0, 0.0, 5.0),
    "2026-10-15": (24, 144, -20.0, -20.0, -20.0, 0.0, 6.0),
    "2026-10-25": (25, 150, -22.0, -15.0, (-20 * 142 - 15 * 6 - 22 - 18) / 150, 60.0, 0.0),
    "2026-10-31": (24, 144, -20.0, -20.0, -20.0, 0.0, 0.0),
}
