"""Grafana dashboards generated from the registry: pure functions of the inventory.

- one overview per site: shed temperatures against their alert thresholds, freezer temperatures
  against -18 °C and door state, leak sensors, open alerts of the site;
- device health: last seen, offline, battery (technical devices only);
- alerts and care: open alerts by state and severity, and care units only as counts.

Care devices never appear one by one (no device, place or value on any panel): their readings
are not in InfluxDB at all, the care panel reads the counts the platform writes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.builders import stat, statetimeline, table, timeseries
from grafana_foundation_sdk.builders.common import GraphThresholdsStyleConfig, ReduceDataOptions
from grafana_foundation_sdk.models.common import GraphTresholdsStyleMode
from grafana_foundation_sdk.models.dashboard import (
    Dashboard,
    DashboardCursorSync,
    Threshold,
    ThresholdsMode,
    ValueMap,
    ValueMappingResult,
)

from dashboards.grafana import queries as q
from dashboards.grafana.flux import FluxQueryBuilder
from devices.catalogue import CATALOGUE, is_care_device
from devices.registry import DeviceInfo

__all__ = ["FOLDER_TITLE", "FOLDER_UID", "Generated", "Site", "build_dashboards"]

FOLDER_UID = "kommunvakt"
FOLDER_TITLE = "kommunvakt"
#: frozen food at or below -18 °C (EU directive 89/108/EEC; devices/catalogue.py)
FREEZER_MAX_C = -18.0


@dataclass(frozen=True, slots=True)
class Site:
    id: str
    name: str


@dataclass(frozen=True, slots=True)
class Generated:
    uid: str
    title: str
    dashboard: Dashboard


def _uid(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "-", text)[:40]


def _steps(base: str, *steps: tuple[float, str]) -> dash.ThresholdsConfig:
    return (
        dash.ThresholdsConfig()
        .mode(ThresholdsMode.ABSOLUTE)
        .steps([Threshold(value=None, color=base), *(Threshold(v, c) for v, c in steps)])
    )


def _shed_levels() -> list[tuple[float, str]]:
    """The shed rule's own levels from the catalogue (25 °C warning, 30 °C critical)."""
    colours = {"warning": "orange", "critical": "red"}
    for spec in CATALOGUE["technical_shed_temperature"].rules:
        if spec.get("kind") == "threshold" and spec.get("metric") == "temperature":
            return [(float(v), colours.get(level, "red")) for level, v in spec["levels"]]
    return []


def _bool_map(false_text: str, true_text: str, true_colour: str = "red") -> list[object]:
    return [
        ValueMap(
            {
                "0": ValueMappingResult(text=false_text, color="green", index=0),
                "1": ValueMappingResult(text=true_text, color=true_colour, index=1),
            }
        )
    ]


def _base(uid: str, title: str, tags: Sequence[str]) -> dash.Dashboard:
    return (
        dash.Dashboard(title)
        .uid(uid)
        .tags(["kommunvakt", *tags])
        .timezone("Europe/Stockholm")
        .time("now-24h", "now")
        .refresh("1m")
        .tooltip(DashboardCursorSync.CROSSHAIR)
        .readonly()  # generated: edits belong in the code, not in Grafana
    )


def _site_dashboard(
    site: Site, types: set[str], bucket: str, ds: str
) -> dash.Dashboard:  # fmt: skip
    b = _base(_uid(f"kv-site-{site.id}"), f"{site.name}: översikt", ["plats", site.id])
    if "technical_shed_temperature" in types:
        b.with_panel(
            timeseries.Panel()
            .title("Teknikbodar: temperatur")
            .description("Larmgränser från regeln shed_too_hot: varning 25 °C, kritisk 30 °C.")
            .with_target(FluxQueryBuilder(q.series(bucket, "technical_shed_temperature",
                                                   "temperature", site.id), ds))
            .unit("celsius")
            .display_name("${__field.labels.place} (${__field.labels.device})")
            .thresholds(_steps("green", *_shed_levels()))
            .thresholds_style(GraphThresholdsStyleConfig().mode(GraphTresholdsStyleMode.DASHED))
            .height(8)
            .span(24)
        )  # fmt: skip
    if "freezer" in types:
        b.with_panel(
            timeseries.Panel()
            .title("Frysar: temperatur")
            .description("Frysvaror ska hålla -18 °C eller kallare.")
            .with_target(FluxQueryBuilder(q.series(bucket, "freezer", "temperature", site.id), ds))
            .unit("celsius")
            .display_name("${__field.labels.place} (${__field.labels.device})")
            .thresholds(_steps("blue", (FREEZER_MAX_C, "red")))
            .thresholds_style(GraphThresholdsStyleConfig().mode(GraphTresholdsStyleMode.DASHED))
            .height(8)
            .span(16)
        )
        b.with_panel(
            statetimeline.Panel()
            .title("Frysdörrar")
            .with_target(
                FluxQueryBuilder(q.series(bucket, "freezer", "door_open", site.id, as_int=True), ds)
            )
            .display_name("${__field.labels.place}")
            .mappings(_bool_map("Stängd", "Öppen"))  # type: ignore[arg-type]
            .height(8)
            .span(8)
        )
    if "water_leak" in types:
        b.with_panel(
            stat.Panel()
            .title("Vattenläckage")
            .with_target(
                FluxQueryBuilder(
                    q.last_per_device(bucket, ["water_leak"], "water_leak", site.id, as_int=True),
                    ds,
                )
            )
            .mappings(_bool_map("Torrt", "Läcka"))  # type: ignore[arg-type]
            .reduce_options(ReduceDataOptions().calcs(["lastNotNull"]).values(True))
            .height(6)
            .span(12)
        )
    b.with_panel(
        stat.Panel()
        .title("Öppna larm på platsen")
        .with_target(FluxQueryBuilder(q.alert_counts(bucket, site.id), ds))
        .thresholds(_steps("green", (1.0, "red")))
        .height(6)
        .span(12)
    )
    return b


def _health_dashboard(
    technical: dict[str, int], watched: list[q.Watched], bucket: str, ds: str
) -> dash.Dashboard:
    b = _base("kv-device-health", "Enheter: hälsa", ["enheter"])
    if watched:  # the registry's active technical devices; none, nothing to hear from
        b.with_panel(
            stat.Panel()
            .title("Tysta enheter")
            .description(f"Ingen avläsning på {q.OFFLINE_FACTOR} förväntade rapportintervall"
                         " (urdrifttagna enheter räknas inte).")
            .with_target(FluxQueryBuilder(q.last_seen(bucket, watched, offline_only=True), ds))
            .thresholds(_steps("green", (1.0, "red")))
            .height(6)
            .span(6)
        )  # fmt: skip
        b.with_panel(
            table.Panel()
            .title("Senast hörd")
            .description("age_s -1: aldrig hörd.")
            .with_target(FluxQueryBuilder(q.last_seen(bucket, watched), ds))
            .height(12)
            .span(18)
        )
    battery_types = [t for t in technical if "battery" in CATALOGUE[t].metrics]
    b.with_panel(
        table.Panel()
        .title("Batteri")
        .with_target(
            FluxQueryBuilder(q.last_per_device(bucket, battery_types, "battery", None), ds)
        )
        .unit("percent")
        .thresholds(_steps("red", (20.0, "orange"), (30.0, "green")))
        .height(12)
        .span(24)
    )
    return b


def _alerts_dashboard(care: dict[str, int], bucket: str, ds: str) -> dash.Dashboard:
    b = _base("kv-alerts", "Larm och omsorg", ["larm"])
    b.with_panel(
        stat.Panel()
        .title("Öppna larm per läge och allvarlighet")
        .with_target(FluxQueryBuilder(q.alert_counts(bucket), ds))
        .thresholds(_steps("green", (1.0, "red")))
        .height(6)
        .span(24)
    )
    if care:
        b.with_panel(
            table.Panel()
            .title("Omsorgsenheter: sensorer som rapporterar (endast antal)")
            .description("Per omsorgsenhet; inga enskilda sensorer eller boende visas här.")
            .with_target(FluxQueryBuilder(q.care_counts(bucket), ds))
            .height(8)
            .span(24)
        )
        b.with_panel(
            table.Panel()
            .title("Nattillsyn: kontroller per omsorgsenhet och status (endast antal)")
            .description("Inatt, per omsorgsenhet; inga boende eller enskilda kontroller.")
            .with_target(FluxQueryBuilder(q.supervision_checks(bucket), ds))
            .height(8)
            .span(24)
        )
    return b


def _numbered(model: Dashboard) -> Dashboard:
    """Stable panel ids (1, 2, ...): links and Grafana's panel view address panels by id."""
    for number, panel in enumerate(model.panels or [], start=1):
        panel.id_val = number
    return model


def build_dashboards(
    sites: Iterable[Site],
    devices: Iterable[DeviceInfo],
    *,
    bucket: str,
    datasource_uid: str,
) -> list[Generated]:
    """Every dashboard for this registry, in a stable order (same input, same JSON)."""
    active = [d for d in devices if d.state != "retired" and d.type in CATALOGUE]
    technical = {t: CATALOGUE[t].expected_interval_s for t in CATALOGUE if not CATALOGUE[t].care}
    care = {t: CATALOGUE[t].expected_interval_s for t in CATALOGUE if CATALOGUE[t].care}
    out: list[Generated] = []
    for site in sorted(sites, key=lambda s: s.id):
        types = {
            d.type
            for d in active
            if d.site_id == site.id and not is_care_device(d.type, d.care_unit_id)
        }
        if not types:
            continue
        builder = _site_dashboard(site, types, bucket, datasource_uid)
        model = _numbered(builder.build())
        out.append(Generated(model.uid or "", model.title or "", model))
    watched = [
        q.Watched(d.id, d.type, d.site_id, d.place, d.expected_interval_s)
        for d in active
        if not CATALOGUE[d.type].care
    ]
    for builder in (
        _health_dashboard(technical, watched, bucket, datasource_uid),
        _alerts_dashboard(care, bucket, datasource_uid),
    ):
        model = _numbered(builder.build())
        out.append(Generated(model.uid or "", model.title or "", model))
    return out
