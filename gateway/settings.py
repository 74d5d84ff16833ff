"""Settings: built once at start from ``KOMMUNVAKT_*`` env and an optional TOML file.

Nothing here runs at import. ``load_settings()`` is the only way in; the TOML file is named by
``--config`` or ``KOMMUNVAKT_CONFIG``. Env wins over the file.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from alerts.config import AlertingConfig
from alerts.rule_params import check_params
from core.mqtt_target import MqttTarget
from gateway.lease import LeaseTimes
from supervision.settings import SupervisionSettings

__all__ = ["Settings", "load_settings"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KOMMUNVAKT_", extra="ignore")

    data_dir: Path = Path("var")
    api_host: str = "127.0.0.1"
    api_port: int = Field(8000, ge=0, le=65535)
    #: a connection whose request headers are not complete this long after it opened is
    #: closed (slowloris); see gateway/http_server.py
    api_header_timeout_s: float = Field(10.0, gt=0, le=300)
    base_url: str | None = None
    mqtt_bind: str = "127.0.0.1"
    mqtt_port: int = Field(1883, ge=0, le=65535)
    mqtt_url: SecretStr | None = None
    mqtt_client_id: str = "kommunvakt-gateway"
    #: the embedded broker without logins: only for a benchmark or a closed lab, never a site
    mqtt_allow_anonymous: bool = False
    mqtt_ca_file: Path | None = None
    mqtt_cert_file: Path | None = None
    mqtt_key_file: Path | None = None
    admin_token: SecretStr | None = None
    database_url: SecretStr | None = None
    #: Mosquitto dynamic-security account (mqtt://user:pw@host:port) that may only use the
    #: control topic: per-device credentials. Not the gateway's login (KOMMUNVAKT_MQTT_URL).
    dynsec_url: SecretStr | None = None
    #: extra sensor types, as data: [[device_types]] key, name_sv, metrics, expected_interval_s
    device_types: list[dict[str, Any]] = Field(default_factory=list)
    notify_urls: list[SecretStr] = Field(default_factory=list)
    rule_overrides: dict[str, dict[str, Any]] = Field(default_factory=dict)
    # issue 5: recipients, reminders, escalation, ack links (TOML [alerting] or JSON env)
    alerting: AlertingConfig = Field(default_factory=lambda: AlertingConfig.model_validate({}))
    formats: dict[str, list[str]] | None = None
    queue_size: int = Field(20_000, gt=0)
    batch_size: int = Field(1000, gt=0)
    batch_wait_ms: int = Field(20, ge=0)
    dead_letter_retention_days: int = Field(30, gt=0)
    quarantine_retention_hours: int = Field(24, gt=0)
    #: a reading dated more than this many seconds after it was received is refused
    max_clock_skew_s: int = Field(300, ge=0)
    #: the embedded SQLite store keeps readings this long (InfluxDB: influx_retention_days,
    #: set on its bucket); 0 keeps them forever. Care readings follow supervision retention.
    reading_retention_days: int = Field(400, ge=0)
    demo: bool = False
    log_level: str = "INFO"
    # issue 8: the production reading store (InfluxDB 2) behind a durable local spool
    store: Literal["sqlite", "influxdb"] = "sqlite"
    influx_url: str = "http://localhost:8086"
    influx_token: SecretStr | None = None
    influx_org: str = "kommunvakt"
    influx_bucket: str = "kommunvakt"
    influx_retention_days: int = Field(400, ge=0)  # 0 keeps readings forever
    influx_batch_size: int = Field(5000, gt=0)  # InfluxDB's "optimal batch" is 5,000 lines
    influx_flush_interval_ms: int = Field(1000, ge=0)
    influx_timeout_ms: int = Field(10_000, gt=0)
    spool_max_readings: int = Field(5_000_000, gt=0)
    # /healthz: how long each may last before health says so (seconds; gateway.health)
    health_ingest_stall_s: float = Field(60.0, gt=0)
    health_store_failing_s: float = Field(60.0, gt=0)
    health_spool_age_s: float = Field(600.0, gt=0)
    health_clock_s: float = Field(10.0, gt=0)
    health_outbox_age_s: float = Field(900.0, gt=0)
    grafana_dashboards_dir: Path | None = None  # keep generated dashboard JSON here
    # issue 10: the kitchens' daily temperature record: limit per device type (°C, "above" is
    # a deviation) and the morning e-mail of yesterday's record (apprise URLs, local HH:MM)
    record_limits: dict[str, float] = Field(
        default_factory=lambda: {"freezer": -18.0, "fridge": 8.0}
    )
    record_mail_urls: list[SecretStr] = Field(default_factory=list)
    record_mail_time: str = Field("06:30", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    # issue 6: e-supervision windows, escalation, retention (TOML [supervision] or JSON env)
    supervision: SupervisionSettings = Field(
        default_factory=lambda: SupervisionSettings.model_validate({})
    )

    # issue 7: access (request size, optional OpenID Connect sign-in)
    max_request_bytes: int = Field(2 * 1024 * 1024, gt=0)
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None
    #: the ID-token claim that names a person stably at the provider (with the issuer); users
    #: are linked to it by an admin, never matched by a name the provider sends
    oidc_subject_claim: str = Field("sub", min_length=1, max_length=100)
    #: reverse proxies (addresses or CIDRs) whose X-Forwarded-For/-Proto is believed; by
    #: default none: any client, a local one too, could otherwise pick its own address
    trusted_proxies: list[str] = Field(default_factory=list, max_length=100)

    # two or more instances on PostgreSQL and an external broker: one active, the others stand
    # by (gateway.lease); the takeover bound is lease_duration_s + lease_renew_s
    lease_group: str = Field("default", min_length=1, max_length=64)
    lease_duration_s: float = Field(10.0, gt=0)
    lease_renew_s: float = Field(3.0, gt=0)
    #: a dead man's switch (healthchecks.io, Uptime Kuma push): pinged while this instance is
    #: healthy, so an outside monitor pages someone when the pings stop
    heartbeat_url: SecretStr | None = None
    heartbeat_interval_s: float = Field(30.0, gt=0)

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> Settings:
        from access.oidc import OidcConfig, OidcError
        from access.startup_checks import secret_problems

        problems = secret_problems(self)
        if problems:
            raise ValueError("; ".join(problems) + " (allowed only in demo mode)")
        try:
            OidcConfig.from_settings(self)
        except OidcError as exc:
            raise ValueError(str(exc)) from exc
        return self

    @model_validator(mode="after")
    def _lease_times_fit(self) -> Settings:
        self.lease_times  # noqa: B018  (raises ValueError with the reason)
        return self

    @model_validator(mode="after")
    def _influx_needs_token(self) -> Settings:
        if self.store == "influxdb" and self.influx_token is None:
            raise ValueError("KOMMUNVAKT_STORE=influxdb needs KOMMUNVAKT_INFLUX_TOKEN")
        return self

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_networks(cls, value: list[str]) -> list[str]:
        networks = []
        for item in value:
            try:
                networks.append(str(ipaddress.ip_network(item.strip(), strict=False)))
            except ValueError as exc:
                raise ValueError(
                    f"trusted_proxies: {item!r} is not an IP address or CIDR (e.g. 10.0.0.5, "
                    "10.0.0.0/24, ::1)"
                ) from exc
        return networks

    @field_validator("rule_overrides")
    @classmethod
    def _override_numbers(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        for key, params in value.items():
            try:
                check_params(params)
            except ValueError as exc:
                raise ValueError(f"rule_overrides[{key!r}]: {exc}") from None
        return value

    @field_validator("heartbeat_url")
    @classmethod
    def _heartbeat_http(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            parts = urlsplit(value.get_secret_value())
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError("heartbeat URL must be an http(s):// URL with a host")
        return value

    @field_validator("admin_token")
    @classmethod
    def _no_placeholder(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            secret = value.get_secret_value()
            if len(secret) < 16 or secret.lower() in {"changeme", "change-me", "changethis"}:
                raise ValueError("admin token must be at least 16 characters and not a placeholder")
        return value

    @property
    def sqlite_url(self) -> str:
        return f"sqlite:///{(self.data_dir / 'kommunvakt.db').resolve()}"

    @property
    def db_url(self) -> str:
        return self.database_url.get_secret_value() if self.database_url else self.sqlite_url

    @property
    def mqtt_target(self) -> MqttTarget:
        if self.mqtt_url is not None:
            return MqttTarget.parse(self.mqtt_url.get_secret_value())
        return MqttTarget(self.mqtt_bind, self.mqtt_port)

    @property
    def embedded_broker(self) -> bool:
        return self.mqtt_url is None

    @property
    def uses_lease(self) -> bool:
        """Shared database and shared broker: the instances take turns as the active one."""
        return self.database_url is not None and self.mqtt_url is not None

    @property
    def lease_times(self) -> LeaseTimes:
        return LeaseTimes(self.lease_duration_s, self.lease_renew_s)

    @property
    def public_url(self) -> str:
        return self.base_url or f"http://{self.api_host}:{self.api_port}"

    def masked(self) -> dict[str, Any]:
        """The effective settings with every secret masked, for the start-up log."""
        out = self.model_dump(mode="json")
        out["mqtt_url"] = repr(self.mqtt_target) if self.mqtt_url else None
        out["heartbeat_url"] = "<set>" if self.heartbeat_url else None
        out["notify_urls"] = [f"<{len(self.notify_urls)} URL(s)>"] if self.notify_urls else []
        return out


def load_settings(config_file: Path | str | None = None, **overrides: Any) -> Settings:
    path = config_file or os.environ.get("KOMMUNVAKT_CONFIG")
    if path is not None and not Path(path).is_file():
        raise FileNotFoundError(f"config file {path} does not exist")

    class _Settings(Settings):
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
            if path is not None:
                sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(path)))
            return tuple(sources)

    loaded = _Settings(**overrides)
    return Settings.model_construct(**dict(loaded))
