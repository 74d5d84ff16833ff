"""Reading one value out of a running platform's ``/metrics``."""

from __future__ import annotations

from typing import Any

__all__ = ["metric"]


def metric(proc: Any, name: str, labels: str = "") -> float | None:
    """The sample ``name{labels}`` (labels as written, e.g. ``check="clock"``), or None."""
    with proc.api() as client:
        resp = client.get("/metrics")
        resp.raise_for_status()
    wanted = f"{name}{{{labels}}}" if labels else name
    for line in resp.text.splitlines():
        key, _, value = line.rpartition(" ")
        if key == wanted:
            return float(value)
    return None
