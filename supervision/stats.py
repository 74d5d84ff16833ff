"""Counters of e-supervision for the metrics page (counts only, no personal data)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SupervisionStats"]


@dataclass(slots=True)
class SupervisionStats:
    sensor_findings: int = 0
    camera_events: int = 0
    camera_unmatched: int = 0
    transitions: int = 0
    alerts_raised: int = 0
    #: checks a bug stopped in one clock step (each alone; the other checks went on)
    errors: int = 0
