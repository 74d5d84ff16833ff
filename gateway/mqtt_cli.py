"""``kommunvakt mqtt …``: logins of the embedded broker that belong to no device.

Works on the platform's database directly, like ``kommunvakt users`` (the operator's shell is
trusted like the admin role). Device logins are issued with the device (``--mqtt-credentials``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["mqtt_app"]

mqtt_app = typer.Typer(help="Logins of the embedded MQTT broker.", no_args_is_help=True)


@mqtt_app.command("camera-login")
def camera_login(
    config: Annotated[Path | None, typer.Option("--config", help="TOML settings file")] = None,
) -> None:
    """A new login for the camera system, the only one that may publish camera-check events.

    The password is printed once and replaces any earlier one; the broker keeps its hash.
    """
    from core.db import make_engine, make_sessionmaker
    from devices.migrate import import_models, prepare_database
    from devices.mqtt_accounts import MqttAccounts
    from devices.registry import DeviceRegistry
    from gateway.access_cli import settings_error
    from gateway.settings import load_settings

    try:
        settings = load_settings(config)
    except (ValueError, FileNotFoundError) as exc:
        typer.echo(f"kommunvakt: bad settings: {settings_error(exc)}", err=True)
        raise typer.Exit(1) from exc
    if not settings.embedded_broker:
        typer.echo(
            "kommunvakt: KOMMUNVAKT_MQTT_URL names an external broker; create the camera "
            "system's client there (docs/production.md)",
            err=True,
        )
        raise typer.Exit(1)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    import_models()
    engine = make_engine(settings.db_url)
    prepare_database(engine)  # the platform's schema, this table included
    sessions = make_sessionmaker(engine)
    accounts = MqttAccounts(
        sessions,
        DeviceRegistry(sessions),
        gateway_username=None,
        gateway_password=None,
        camera_topic=settings.supervision.camera_topic,
    )
    creds = accounts.issue_camera()
    typer.echo(f"username: {creds.username}")
    typer.echo(f"password: {creds.password}")
    typer.echo(f"publishes on: {', '.join(creds.publish_topics)}")
