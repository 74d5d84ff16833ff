"""``kommunvakt dashboards export|push``: Grafana dashboards generated from the registry."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["app"]

app = typer.Typer(help="Grafana dashboards generated from the registry.", no_args_is_help=True)

ConfigOption = Annotated[Path | None, typer.Option("--config", help="TOML settings file")]


def _generate(config: Path | None) -> tuple[list[object], object]:
    import sqlalchemy.exc

    from core.db import make_engine, make_sessionmaker
    from dashboards.grafana import Site, build_dashboards
    from dashboards.grafana.provisioning import DATASOURCE_UID
    from devices.registry import DeviceRegistry
    from gateway.settings import load_settings

    settings = load_settings(config)
    engine = make_engine(settings.db_url)
    try:
        registry = DeviceRegistry(make_sessionmaker(engine))
        sites = [Site(s.id, s.name) for s in registry.list_sites()]
        devices = registry.all_info()
    except sqlalchemy.exc.DBAPIError:
        # a registry that was never created (first start of a fresh install): no site yet,
        # the device-health and alert dashboards still make sense
        typer.echo("kommunvakt: no registry yet; only the fleet dashboards", err=True)
        sites, devices = [], []
    finally:
        engine.dispose()
    generated = build_dashboards(
        sites, devices, bucket=settings.influx_bucket, datasource_uid=DATASOURCE_UID
    )
    return list(generated), settings


@app.command()
def export(
    target: Annotated[Path, typer.Argument(help="directory for the provisioning files")],
    json_only: Annotated[
        bool, typer.Option("--json-only", help="write only <uid>.json files into TARGET")
    ] = False,
    grafana_json_dir: Annotated[
        str, typer.Option(help="where Grafana sees the JSON (the provider's path)")
    ] = "/etc/grafana/provisioning/dashboards/json",
    config: ConfigOption = None,
) -> None:
    """Write Grafana provisioning files: datasource, dashboards provider and dashboard JSON."""
    from dashboards.grafana.provisioning import export as write_all
    from dashboards.grafana.provisioning import write_json

    generated, settings = _generate(config)
    if json_only:
        files = write_json(generated, target)  # type: ignore[arg-type]
    else:
        files = write_all(
            generated,  # type: ignore[arg-type]
            target,
            influx_url=settings.influx_url,  # type: ignore[attr-defined]
            org=settings.influx_org,  # type: ignore[attr-defined]
            bucket=settings.influx_bucket,  # type: ignore[attr-defined]
            json_dir=grafana_json_dir,
        )
    for path in files:
        typer.echo(str(path))


@app.command()
def push(
    grafana_url: Annotated[str, typer.Option("--grafana-url", help="e.g. http://grafana:3000")],
    token: Annotated[
        str, typer.Option("--token", envvar="GRAFANA_TOKEN", help="service account token")
    ],
    config: ConfigOption = None,
) -> None:
    """Create or update the folder and dashboards in a running Grafana (idempotent)."""
    from dashboards.grafana.api import GrafanaApi, GrafanaRefused, GrafanaUnreachable
    from dashboards.grafana.provisioning import push as push_all

    generated, _settings = _generate(config)
    api = GrafanaApi(grafana_url, token)
    try:
        results = push_all(api, generated)  # type: ignore[arg-type]
    except GrafanaRefused as exc:
        typer.echo(f"kommunvakt: Grafana refused: {exc}", err=True)
        raise typer.Exit(1) from exc
    except GrafanaUnreachable as exc:
        typer.echo(f"kommunvakt: {exc}", err=True)
        raise typer.Exit(1) from exc
    finally:
        api.close()
    for r in results:
        typer.echo(f"{r.action:9} {r.uid}")
