"""Grafana as code: dashboards generated from the registry (grafana-foundation-sdk), written as
provisioning files or pushed through Grafana's HTTP API."""

from dashboards.grafana.build import Generated, Site, build_dashboards
from dashboards.grafana.flux import FluxQuery, register

register()  # the SDK runtime must decode our InfluxDB targets wherever dashboards are read

__all__ = ["FluxQuery", "Generated", "Site", "build_dashboards"]
