"""How long the e-supervision clock tick and tonight's materialisation take for a large night
patrol (default 100 residents × 3 checks = 300 checks; Skellefteå does 92 per night).

    .venv/bin/python -m benchmarks.supervision_tick [residents]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from gateway.platform import Platform
from gateway.settings import load_settings

STHLM = ZoneInfo("Europe/Stockholm")


def main(n: int = 100) -> None:
    now = datetime(2026, 11, 20, 21, 0, tzinfo=STHLM).astimezone(UTC)
    with tempfile.TemporaryDirectory() as tmp:
        p = Platform(load_settings(data_dir=Path(tmp), admin_token="x" * 32), clock=lambda: now)
        svc = p.supervision
        with p.sessions() as s:
            from devices.models import CareUnitRow

            s.add_all([CareUnitRow(id=f"u{k}", name=f"Enhet {k}") for k in range(4)])
            s.commit()
        for i in range(n):
            unit = f"u{i % 4}"
            r = svc.residents.create(f"Lgh {i}", unit, actor="bench", now=now)
            svc.consents.record(
                r.id,
                party="resident",
                scope=["camera"],
                given_on=date(2026, 1, 1),
                actor="bench",
                now=now,
            )
            svc.schedules.add(
                r.id,
                method="camera",
                times=["22:00", "01:00", "04:00"],
                valid_from=date(2026, 11, 1),
                valid_to=None,
                actor="bench",
                now=now,
            )
        svc.refresh()
        t0 = time.perf_counter()
        created = svc.materialise(svc.tonight(now), now)
        first = time.perf_counter() - t0
        t0 = time.perf_counter()
        svc.materialise(svc.tonight(now), now)
        again = time.perf_counter() - t0
        ticks = []
        for _ in range(50):
            t0 = time.perf_counter()
            svc.tick(now)
            ticks.append(time.perf_counter() - t0)
        board = []
        for _ in range(20):
            t0 = time.perf_counter()
            svc.board("u0", now)
            board.append(time.perf_counter() - t0)
        print(f"{n} residents, {created} checks tonight")
        print(f"materialise first {first * 1000:.0f} ms, again (idempotent) {again * 1000:.0f} ms")
        print(
            f"tick median {statistics.median(ticks) * 1000:.1f} ms, max {max(ticks) * 1000:.1f} ms"
        )
        print(
            f"board of one unit ({n // 4} residents) "
            f"median {statistics.median(board) * 1000:.1f} ms"
        )
        p.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100)
