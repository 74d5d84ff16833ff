"""Screenshots of the pages for the docs: small PNGs a reviewer reads without running anything."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["DESKTOP", "PHONE", "shoot"]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def shoot(page: Any, name: str) -> Path:
    """Write ``docs/screenshots/<name>.png`` (the visible viewport, not the whole page)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path
