"""Screenshots of the pages for the docs: small PNGs a reviewer reads without running anything."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from PIL import Image

__all__ = ["DESKTOP", "PHONE", "shoot"]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
DOCS_SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
#: the pages show the time, so every run makes new pictures: they replace the committed ones in
#: docs/screenshots only when asked (``KOMMUNVAKT_DOCS_SCREENSHOTS=1 make test``); otherwise a
#: run leaves the work tree clean and writes them to the temp directory to look at
SHOTS = (
    DOCS_SHOTS
    if os.environ.get("KOMMUNVAKT_DOCS_SCREENSHOTS") == "1"
    else Path(tempfile.gettempdir()) / "kommunvakt-screenshots"
)


def shoot(page: Any, name: str) -> Path:
    """Write ``<SHOTS>/<name>.png`` (the visible viewport, not the whole page)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    # a palette of 256 colours reads the same for pages of flat colours and text, at a third
    # of the size in the repository (Pillow comes with fpdf2, the PDF record's library)
    with Image.open(path) as shot:
        small = shot.convert("RGB").quantize(colors=256, method=Image.Quantize.FASTOCTREE)
    small.save(path, optimize=True)
    return path
