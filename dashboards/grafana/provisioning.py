"""Grafana provisioning files and the push through Grafana's HTTP API (``api.GrafanaApi``).

``export`` writes what Grafana reads at start (``/etc/grafana/provisioning``):
``datasources/kommunvakt.yaml`` (InfluxDB, Flux, token from the container's environment),
``dashboards/kommunvakt.yaml`` (a file provider) and ``dashboards/json/<uid>.json``.
In docker compose the platform writes only the JSON (``write_json``) into a volume that
Grafana's provider reads; the two YAML files are committed under ``deploy/grafana``.

``push`` creates the folder if missing and creates or updates each dashboard by uid; a
dashboard whose JSON Grafana already holds is left alone, so pushing twice changes nothing
(Grafana's version counter included).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from grafana_foundation_sdk.cog.encoder import JSONEncoder

from dashboards.grafana.api import GrafanaApi
from dashboards.grafana.build import FOLDER_TITLE, FOLDER_UID, Generated

__all__ = ["DATASOURCE_UID", "PushResult", "dashboard_json", "export", "push"]

log = logging.getLogger(__name__)

DATASOURCE_UID = "kommunvakt-influxdb"
#: where the dashboards provider looks inside the Grafana container (deploy/grafana)
CONTAINER_JSON_DIR = "/var/lib/grafana/dashboards/kommunvakt"


def dashboard_json(generated: Generated) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(json.dumps(generated.dashboard, cls=JSONEncoder))
    return out


def datasource_yaml(influx_url: str, org: str, bucket: str) -> dict[str, Any]:
    return {
        "apiVersion": 1,
        "datasources": [
            {
                "name": "kommunvakt InfluxDB",
                "uid": DATASOURCE_UID,
                "type": "influxdb",
                "access": "proxy",
                "url": influx_url,
                "isDefault": True,
                "editable": False,
                "jsonData": {"version": "Flux", "organization": org, "defaultBucket": bucket},
                # Grafana expands $VAR from its own environment: the token never lands in a file
                "secureJsonData": {"token": "${INFLUX_TOKEN}"},
            }
        ],
    }


def provider_yaml(json_dir: str = CONTAINER_JSON_DIR) -> dict[str, Any]:
    return {
        "apiVersion": 1,
        "providers": [
            {
                "name": "kommunvakt",
                "orgId": 1,
                "folder": FOLDER_TITLE,
                "folderUid": FOLDER_UID,
                "type": "file",
                "disableDeletion": False,
                "allowUiUpdates": False,
                "updateIntervalSeconds": 60,
                "options": {"path": json_dir},
            }
        ],
    }


def write_json(dashboards: Sequence[Generated], json_out: Path) -> list[Path]:
    """One ``<uid>.json`` per dashboard; generated files of removed sites are deleted."""
    json_out.mkdir(parents=True, exist_ok=True)
    written = []
    for g in dashboards:
        path = json_out / f"{g.uid}.json"
        text = json.dumps(dashboard_json(g), indent=2, ensure_ascii=False) + "\n"
        if not path.exists() or path.read_text() != text:  # Grafana rescans changed files only
            path.write_text(text)
        written.append(path)
    keep = {p.name for p in written}
    for stale in json_out.glob("kv-*.json"):
        if stale.name not in keep:
            stale.unlink()
    return written


def export(
    dashboards: Sequence[Generated],
    target: Path,
    *,
    influx_url: str,
    org: str,
    bucket: str,
    json_dir: str = CONTAINER_JSON_DIR,
) -> list[Path]:
    """Write the provisioning tree under ``target`` (``datasources/``, ``dashboards/`` with
    the provider and ``dashboards/json/``); returns the files written."""
    ds_dir, db_dir = target / "datasources", target / "dashboards"
    ds_dir.mkdir(parents=True, exist_ok=True)
    db_dir.mkdir(parents=True, exist_ok=True)
    ds = ds_dir / "kommunvakt.yaml"
    ds.write_text(yaml.safe_dump(datasource_yaml(influx_url, org, bucket), sort_keys=False))
    provider = db_dir / "kommunvakt.yaml"
    provider.write_text(yaml.safe_dump(provider_yaml(json_dir), sort_keys=False))
    return [ds, provider, *write_json(dashboards, db_dir / "json")]


@dataclass(frozen=True, slots=True)
class PushResult:
    uid: str
    action: str  # "created", "updated" or "unchanged"


def _comparable(model: dict[str, Any]) -> dict[str, Any]:
    # Grafana adds its own id and version; everything else must match what we generate
    return {k: v for k, v in model.items() if k not in ("id", "version")}


def push(api: GrafanaApi, dashboards: Sequence[Generated]) -> list[PushResult]:
    """Create/update the folder and each dashboard; idempotent. Raises ``GrafanaError``."""
    if api.get_folder(FOLDER_UID) is None:
        api.create_folder(FOLDER_TITLE, uid=FOLDER_UID)
        log.info("created Grafana folder %s", FOLDER_UID)
    results = []
    for g in dashboards:
        ours = dashboard_json(g)
        theirs = api.get_dashboard(g.uid)
        if theirs is not None:
            same_folder = theirs.get("meta", {}).get("folderUid") == FOLDER_UID
            if same_folder and _comparable(theirs["dashboard"]) == _comparable(ours):
                results.append(PushResult(g.uid, "unchanged"))
                continue
        api.save_dashboard(ours, FOLDER_UID, "kommunvakt dashboards push")
        results.append(PushResult(g.uid, "created" if theirs is None else "updated"))
    return results
