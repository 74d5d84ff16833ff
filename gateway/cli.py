"""The ``kommunvakt`` command."""

from __future__ import annotations

import logging
import os
import socket
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import orjson
import typer

from gateway.access_cli import settings_error, tokens_app, users_app
from gateway.dashboards_cli import app as dashboards_app
from gateway.devices_cli import app as devices_app
from gateway.errors import GatewayError
from gateway.lease_keeper import EXIT_LEASE_LOST
from gateway.mqtt_cli import mqtt_app
from simulators.cli import app as simulate_app

__all__ = ["app", "main"]

app = typer.Typer(
    help="kommunvakt: IoT monitoring for Swedish municipalities.",
    no_args_is_help=True,
    add_completion=False,
)


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"kommunvakt: {message}", err=True)
    return typer.Exit(code)


def _check_port(host: str, port: int, what: str, env: str) -> None:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise _fail(
                f"{what} port {host}:{port} is not free ({exc.strerror}); set {env}"
            ) from exc


@app.command()
def run(
    simulate: Annotated[bool, typer.Option("--simulate", help="start the demo simulators")] = False,
    config: Annotated[Path | None, typer.Option(help="TOML settings file")] = None,
) -> None:
    """Run the whole platform: broker (embedded unless KOMMUNVAKT_MQTT_URL), gateway, API, pages."""
    import uvicorn

    from gateway.app import create_app
    from gateway.demo import demo_admin_password, demo_logins, seed_demo
    from gateway.http_server import server_config
    from gateway.platform import Platform
    from gateway.settings import load_settings

    try:
        settings = load_settings(config, **({"demo": True} if simulate else {}))
    except (ValueError, FileNotFoundError) as exc:
        raise _fail(f"bad settings: {settings_error(exc)}") from exc
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("amqtt").setLevel(logging.WARNING)
    logging.getLogger("transitions").setLevel(logging.WARNING)
    _check_port(settings.api_host, settings.api_port, "API", "KOMMUNVAKT_API_PORT")
    if settings.embedded_broker:
        from gateway.broker import ensure_port_free

        try:
            ensure_port_free(settings.mqtt_bind, settings.mqtt_port)
        except GatewayError as exc:
            raise _fail(str(exc)) from exc
    try:
        platform = Platform(settings)
    except GatewayError as exc:
        raise _fail(str(exc)) from exc
    try:
        platform.start()
    except GatewayError as exc:
        platform.stop()
        raise _fail(str(exc)) from exc
    if simulate:
        from simulators import DemoSimulator

        plan = seed_demo(platform)
        target = platform.mqtt_target
        sim = DemoSimulator(target.host, target.port, plan=plan, logins=demo_logins(platform))
        sim.start()
        platform.on_stop(sim.stop)
    url = settings.public_url
    typer.echo(f"kommunvakt is running: {url}/  (API docs: {url}/docs)")
    if platform.admin_token_generated or (simulate and settings.admin_token is None):
        # The demo prints its token every time; a real installation only on first start.
        typer.echo(
            f"admin token (kept in {settings.data_dir / 'admin_token'}): {platform.admin_token}"
        )
    elif settings.admin_token is None:
        typer.echo(f"admin token: in {settings.data_dir / 'admin_token'}")
    app = create_app(platform)
    password = demo_admin_password(platform.users, settings.data_dir) if simulate else None
    if password is not None:
        typer.echo(
            f"web sign-in: admin / {password}  (kept in {settings.data_dir / 'admin_password'})"
        )
    else:
        typer.echo(
            "web sign-in: kommunvakt users set-password admin (or users add NAME --role ROLE)"
        )
    server = uvicorn.Server(
        server_config(app, settings.api_host, settings.api_port, settings.api_header_timeout_s)
    )

    def step_down() -> None:
        platform.lease_lost.wait()
        server.should_exit = True

    threading.Thread(target=step_down, name="step-down", daemon=True).start()
    try:
        server.run()
    finally:
        platform.stop()
    if platform.lease_lost.is_set():
        # A fresh process starts as a standby with nothing left over from being active; the
        # service manager (systemd Restart=always, compose restart: unless-stopped) starts it.
        raise _fail(
            "gateway lease lost: stepped down; exiting to restart as a standby", EXIT_LEASE_LOST
        )


@app.command()
def decode(
    source: Annotated[str, typer.Argument(help="payload file, or - for standard input")],
    topic: Annotated[str, typer.Option("--topic", help="the MQTT topic it came on")],
    format: Annotated[str | None, typer.Option("--format", help="payload family")] = None,
) -> None:
    """Print the readings a payload yields, one JSON object per line."""
    from ingest.errors import DecodeError
    from ingest.formats import DECODERS, FormatRouter

    if format is not None and format not in DECODERS:
        raise _fail(f"unknown format {format!r}; known: {', '.join(sorted(DECODERS))}", 2)
    try:
        payload = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
    except OSError as exc:
        raise _fail(f"cannot read {source}: {exc.strerror}", 2) from exc
    try:
        decoded = FormatRouter().decode(topic, payload, datetime.now(UTC), family=format)
    except DecodeError as exc:
        raise _fail(f"rejected: {exc}", 2) from exc
    for reading in decoded.readings:
        sys.stdout.write(orjson.dumps(reading.as_json()).decode() + "\n")


app.add_typer(dashboards_app, name="dashboards")
app.add_typer(devices_app, name="devices")


app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")
app.add_typer(simulate_app, name="simulate")
app.add_typer(mqtt_app, name="mqtt")


def main() -> None:
    # whatever a command writes (databases, spool, exports) is for this account only; the
    # data files are also made 0600 explicitly, for code that runs outside this entry point
    os.umask(0o077)
    app()


if __name__ == "__main__":
    main()
