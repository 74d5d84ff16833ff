"""Server-side SVG line charts: a pure function from a ``ChartSpec`` to markup.

No JavaScript and no vendored chart library: the page is readable on a phone with scripts off
and the DOM says what is drawn (``g.series[data-metric]``, ``line.threshold[data-severity]``,
``rect.alert-period``, ``rect.door-open``, ``rect.silent``), which is what the tests count.
Times on the axis are wall-clock Europe/Stockholm (a DST day has 23 or 25 hours); the SVG scales
to the width of its container through its ``viewBox``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from html import escape
from zoneinfo import ZoneInfo

__all__ = ["ChartSpec", "Period", "Series", "Threshold", "render_svg", "time_ticks"]

STOCKHOLM = ZoneInfo("Europe/Stockholm")
_WEEKDAYS = {
    "sv": ("mån", "tis", "ons", "tor", "fre", "lör", "sön"),
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
}


@dataclass(frozen=True, slots=True)
class Series:
    metric: str
    label: str
    segments: tuple[tuple[tuple[float, float], ...], ...]  # runs of (epoch s, value)


@dataclass(frozen=True, slots=True)
class Threshold:
    severity: str  # warning | critical | limit | ...
    value: float
    label: str = ""


@dataclass(frozen=True, slots=True)
class Period:
    start: float
    end: float
    label: str = ""
    severity: str = ""
    ref: str = ""  # e.g. the alert id
    highlighted: bool = False


@dataclass(frozen=True, slots=True)
class ChartSpec:
    start: float
    end: float
    series: tuple[Series, ...]
    unit: str = ""
    title: str = ""
    thresholds: tuple[Threshold, ...] = ()
    alert_periods: tuple[Period, ...] = ()
    door_periods: tuple[Period, ...] = ()
    silent_periods: tuple[Period, ...] = ()
    state: str = "ok"
    small: bool = False
    extra_classes: tuple[str, ...] = field(default=())


def _nice_step(span: float, ticks: int) -> float:
    raw = span / max(ticks, 1)
    mag = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1.0
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * mag:
            return m * mag
    return 10 * mag


def _y_range(spec: ChartSpec) -> tuple[float, float]:
    values = [v for s in spec.series for seg in s.segments for _, v in seg]
    values += [t.value for t in spec.thresholds]
    if not values:
        return 0.0, 1.0
    lo, hi = min(values), max(values)
    if hi - lo < 1e-9:
        lo, hi = lo - 1, hi + 1
    pad = (hi - lo) * 0.08
    return lo - pad, hi + pad


def time_ticks(
    start: float, end: float, lang: str = "sv", tz: ZoneInfo = STOCKHOLM
) -> list[tuple[float, str]]:
    """Tick positions (epoch s) and labels at round wall-clock times in ``tz``."""
    span_h = (end - start) / 3600
    minutes: tuple[int, ...] = (0,)
    if span_h <= 2:  # an hour of data: ticks every quarter
        hours, daily, minutes = range(24), False, (0, 15, 30, 45)
    elif span_h <= 8:
        hours, daily = range(24), False
    elif span_h <= 36:
        hours, daily = range(0, 24, 3), False
    else:
        hours, daily = range(0, 1), True
    every_days = 1 if span_h <= 24 * 9 else 5
    first = datetime.fromtimestamp(start, UTC).astimezone(tz).date()
    last = datetime.fromtimestamp(end, UTC).astimezone(tz).date()
    out: list[tuple[float, str]] = []
    day: date = first
    while day <= last:
        if daily and (day.day - 1) % every_days:
            day += timedelta(days=1)
            continue
        for h, m in ((h, m) for h in hours for m in minutes):
            local = datetime(day.year, day.month, day.day, h, m, tzinfo=tz)
            if local.astimezone(UTC).astimezone(tz).hour != h:
                continue  # the hour that does not exist on the spring DST night
            t = local.timestamp()
            if not start <= t <= end:
                continue
            if daily:
                wd = _WEEKDAYS.get(lang, _WEEKDAYS["sv"])[day.weekday()]
                label = (
                    f"{wd} {day.day}/{day.month}" if every_days == 1 else f"{day.day}/{day.month}"
                )
            elif h == 0 and m == 0:
                label = f"{day.day}/{day.month}"
            else:
                label = f"{h:02d}:{m:02d}"
            out.append((t, label))
        day += timedelta(days=1)
    return out


def _fmt(v: float, lang: str = "sv") -> str:
    text = f"{v:.1f}".rstrip("0").rstrip(".") if abs(v) < 1e6 else f"{v:.0f}"
    text = "0" if text == "-0" else text
    return text.replace(".", ",") if lang == "sv" else text


def render_svg(spec: ChartSpec, lang: str = "sv") -> str:
    # A phone shows the 520-unit viewBox about 330 px wide: 16 units are 10 px of text.
    w, h = (300, 110) if spec.small else (520, 270)
    left, right, top, bottom = (34, 6, 6, 18) if spec.small else (50, 10, 10, 32)
    font = 11 if spec.small else 16
    pw, ph = w - left - right, h - top - bottom
    t0, t1 = spec.start, max(spec.end, spec.start + 1)
    y0, y1 = _y_range(spec)

    def x(t: float) -> float:
        return left + (min(max(t, t0), t1) - t0) / (t1 - t0) * pw

    def y(v: float) -> float:
        return top + (y1 - v) / (y1 - y0) * ph

    classes = " ".join(("chart", f"state-{spec.state}", *spec.extra_classes))
    title = escape(spec.title)
    parts = [
        f'<svg class="{classes}" viewBox="0 0 {w} {h}" preserveAspectRatio="xMidYMid meet" '
        f'xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{title}" '
        f'font-size="{font}" font-family="system-ui, sans-serif">',
        f"<title>{title}</title>",
        f'<rect class="plot" x="{left}" y="{top}" width="{pw}" height="{ph}" fill="#fff" '
        'stroke="#c9ced6"/>',
    ]

    def band(p: Period, cls: str, fill: str, opacity: float) -> str:
        x_a, x_b = x(p.start), x(p.end)
        attrs = f' data-ref="{escape(p.ref)}"' if p.ref else ""
        if p.severity:
            attrs += f' data-severity="{escape(p.severity)}"'
        if p.highlighted:
            cls += " highlighted"
            attrs += ' stroke="#c21f1f" stroke-width="2"'
        tip = f"<title>{escape(p.label)}</title>" if p.label else ""
        return (
            # at least 3 units (2 px on a phone): a half-minute alert must still be seen
            f'<rect class="{cls}" x="{x_a:.1f}" y="{top}" width="{max(x_b - x_a, 3.0):.1f}" '
            f'height="{ph}" fill="{fill}" fill-opacity="{opacity}"{attrs}>{tip}</rect>'
        )

    for p in spec.silent_periods:
        parts.append(band(p, "silent", "#8a929c", 0.18))
    for p in spec.door_periods:
        parts.append(band(p, "door-open", "#2b6cb0", 0.22))
    for p in spec.alert_periods:
        fill = "#b86e00" if p.severity == "warning" else "#c21f1f"
        parts.append(band(p, "alert-period", fill, 0.16))

    # y grid and labels
    step = _nice_step(y1 - y0, 3 if spec.small else 5)
    v = math.ceil(y0 / step) * step
    while v <= y1:
        yy = y(v)
        parts.append(
            f'<line class="grid" x1="{left}" x2="{left + pw}" y1="{yy:.1f}" y2="{yy:.1f}" '
            'stroke="#e3e6ea"/>'
            f'<text x="{left - 4}" y="{yy + font / 3:.1f}" text-anchor="end" fill="#5b6470">'
            f"{_fmt(v, lang)}</text>"
        )
        v += step
    if spec.unit and not spec.small:
        parts.append(f'<text x="4" y="{top + font}" fill="#5b6470">{escape(spec.unit)}</text>')
    # x ticks in local time
    ticks = time_ticks(t0, t1, lang)
    if spec.small:
        ticks = ticks[:: max(1, math.ceil(len(ticks) / 4))]
    edge = font * 1.6  # a label centred closer to the edge than this would be cut off
    for t, label in ticks:
        xx = x(t)
        parts.append(
            f'<line class="tick" x1="{xx:.1f}" x2="{xx:.1f}" y1="{top}" y2="{top + ph}" '
            'stroke="#eef0f3"/>'
        )
        if left + edge / 2 <= xx <= w - edge:
            parts.append(
                f'<text class="tick-label" x="{xx:.1f}" y="{h - 7}" text-anchor="middle" '
                f'fill="#5b6470">{escape(label)}</text>'
            )
    for th in spec.thresholds:
        yy = y(th.value)
        colour = {"warning": "#9a5b00", "critical": "#c21f1f"}.get(th.severity, "#6b46c1")
        label = escape(th.label or f"{th.severity} {_fmt(th.value, lang)}")
        parts.append(
            f'<line class="threshold" data-severity="{escape(th.severity)}" '
            f'data-value="{th.value:g}" x1="{left}" x2="{left + pw}" y1="{yy:.1f}" '
            f'y2="{yy:.1f}" stroke="{colour}" stroke-width="1.5" stroke-dasharray="6 4">'
            f"<title>{label}</title></line>"
            # the limit's value on the line itself: a dashed line alone says "some limit"
            f'<text class="threshold-label" data-severity="{escape(th.severity)}" '
            f'x="{left + pw - 3}" y="{yy - 3:.1f}" text-anchor="end" fill="{colour}" '
            f'font-weight="600">{_fmt(th.value, lang)}</text>'
        )
    for s in spec.series:
        parts.append(f'<g class="series" data-metric="{escape(s.metric)}">')
        for seg in s.segments:
            if len(seg) == 1:
                (t, val) = seg[0]
                parts.append(
                    f'<circle class="segment" cx="{x(t):.1f}" cy="{y(val):.1f}" r="2" '
                    'fill="#12324a"/>'
                )
                continue
            pts = " ".join(f"{x(t):.1f},{y(val):.1f}" for t, val in seg)
            parts.append(
                f'<polyline class="segment" points="{pts}" fill="none" stroke="#12324a" '
                'stroke-width="1.6" stroke-linejoin="round"/>'
            )
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)


def periods(intervals: Sequence[tuple[float, float]], label: str = "") -> tuple[Period, ...]:
    return tuple(Period(a, b, label) for a, b in intervals)
