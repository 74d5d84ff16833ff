"""A Flux query for Grafana's InfluxDB datasource, as a grafana-foundation-sdk dataquery.

The SDK ships dataqueries for Prometheus, Loki and others but none for InfluxDB, so this is one
in the SDK's own shape (a ``cog`` ``Dataquery`` with ``to_json``/``from_json`` and a builder),
registered in the SDK runtime under the datasource type ``influxdb``: a dashboard decoded with
``Dashboard.from_json`` gets ``FluxQuery`` targets back, not an opaque bag.
"""

from __future__ import annotations

import typing

from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import runtime as cogruntime
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.models import dashboard

__all__ = ["DATASOURCE_TYPE", "FluxQuery", "FluxQueryBuilder", "register"]

DATASOURCE_TYPE = "influxdb"


class FluxQuery(cogvariants.Dataquery):
    def __init__(
        self,
        query: str = "",
        ref_id: str = "A",
        datasource: dashboard.DataSourceRef | None = None,
        hide: bool | None = None,
    ) -> None:
        self.query = query
        self.ref_id = ref_id
        self.datasource = datasource
        self.hide = hide

    def to_json(self) -> dict[str, object]:
        payload: dict[str, object] = {"refId": self.ref_id, "query": self.query}
        if self.datasource is not None:
            payload["datasource"] = self.datasource
        if self.hide is not None:
            payload["hide"] = self.hide
        return payload

    @classmethod
    def from_json(cls, data: dict[str, typing.Any]) -> typing.Self:
        ds = data.get("datasource")
        return cls(
            query=data.get("query", ""),
            ref_id=data.get("refId", "A"),
            datasource=dashboard.DataSourceRef.from_json(ds) if ds is not None else None,
            hide=data.get("hide"),
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FluxQuery) and self.to_json() == other.to_json()

    __hash__ = None  # type: ignore[assignment]


class FluxQueryBuilder(cogbuilder.Builder[FluxQuery]):
    def __init__(self, query: str, datasource_uid: str, ref_id: str = "A") -> None:
        self._internal = FluxQuery(
            query=query,
            ref_id=ref_id,
            datasource=dashboard.DataSourceRef(type_val=DATASOURCE_TYPE, uid=datasource_uid),
        )

    def build(self) -> FluxQuery:
        return self._internal


def register() -> None:
    """Teach the SDK runtime to decode ``influxdb`` targets as ``FluxQuery`` (idempotent)."""
    cogruntime.register_dataquery_variant(
        cogruntime.DataqueryConfig(identifier=DATASOURCE_TYPE, from_json_hook=FluxQuery.from_json)
    )
