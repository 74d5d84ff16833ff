"""axe-core (through axe-playwright-python) on a page: WCAG 2.1 A and AA, the level Swedish
public-sector websites must meet (lagen om tillgänglighet till digital offentlig service)."""

from __future__ import annotations

from typing import Any

from axe_playwright_python.sync_playwright import Axe

__all__ = ["serious_violations"]

_OPTIONS = {
    "resultTypes": ["violations"],
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
}
_AXE = Axe()


def serious_violations(page: Any) -> list[str]:
    """The serious and critical violations on the page as it is now, one line each."""
    found = _AXE.run(page, options=_OPTIONS).response["violations"]
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(str(n["target"]) for n in v["nodes"][:4])
        for v in found
        if v.get("impact") in ("serious", "critical")
    ]
