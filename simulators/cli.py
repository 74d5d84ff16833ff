"""``kommunvakt simulate …``: scenarios, fleets, and what to register for them.

kommunvakt simulate list
kommunvakt simulate shed-heat --format chirpstack --speed 120
kommunvakt simulate night-wander --dry-run            # the messages, no broker
kommunvakt simulate devices leak --format zigbee2mqtt # JSON to register the devices
kommunvakt simulate fleet --devices 10000 --rate 2000 --duration 600
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated

import orjson
import typer

from simulators.encoders import ENCODERS, get_encoder
from simulators.model import SimMessage
from simulators.scenarios import SCENARIOS, Scenario, UnsupportedFormat, play

__all__ = ["app"]

app = typer.Typer(
    help="Simulated devices publishing over MQTT like the real ones (scenarios and fleets).",
    no_args_is_help=True,
)

FormatOpt = Annotated[
    str, typer.Option("--format", "-f", help=f"payload family: {', '.join(ENCODERS)}")
]
UrlOpt = Annotated[
    str,
    typer.Option("--mqtt-url", envvar="KOMMUNVAKT_MQTT_URL", help="broker, mqtt://host:port"),
]
SeedOpt = Annotated[int, typer.Option("--seed", help="same seed, same story")]


def _fail(message: str) -> typer.Exit:
    typer.echo(f"kommunvakt simulate: {message}", err=True)
    return typer.Exit(2)


def _start(text: str) -> datetime | None:
    if text == "story":
        return None
    if text == "now":
        return datetime.now(UTC).replace(microsecond=0)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise _fail(f"--start {text!r} is not now, story or an ISO 8601 time") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _scenario_command(scenario: Scenario) -> None:
    def command(
        format: FormatOpt = "native",
        speed: Annotated[float, typer.Option(help="simulated seconds per real second")] = 60.0,
        seed: SeedOpt = 1,
        mqtt_url: UrlOpt = "mqtt://127.0.0.1:1883",
        start: Annotated[
            str, typer.Option(help="now, story (the story's own date) or an ISO time")
        ] = "now",
        dry_run: Annotated[
            bool, typer.Option("--dry-run", help="print the messages as JSON lines, no broker")
        ] = False,
        wall_clock: Annotated[
            bool,
            typer.Option(
                "--wall-clock",
                help="compress the story's clock by --speed so message times stay on the wall "
                "clock (for rules that look at the clock: closing time, silence)",
            ),
        ] = False,
    ) -> None:
        try:
            encoder = get_encoder(format)
            scale = speed if wall_clock else 1.0
            messages = play(scenario, encoder, seed=seed, start=_start(start), time_scale=scale)
            first = next(messages, None)
        except (UnsupportedFormat, ValueError) as exc:
            raise _fail(str(exc)) from exc
        if first is None:
            return
        stream = _chain(first, messages)
        if dry_run:
            for msg in stream:
                sys.stdout.write(_json_line(msg) + "\n")
            return
        from simulators.runner import run_messages

        typer.echo(f"{scenario.name}: {scenario.summary} ({format}, ×{speed:g}) → {mqtt_url}")
        sent = run_messages(
            mqtt_url,
            stream,
            encoder,
            scenario.devices,
            speed=speed / scale,
            on_message=lambda m: typer.echo(f"  {m.at:%Y-%m-%d %H:%M:%S} {m.topic}"),
        )
        typer.echo(f"{sent} messages published")

    command.__doc__ = scenario.summary
    app.command(scenario.name)(command)


def _chain(first: SimMessage, rest: Iterator[SimMessage]) -> Iterator[SimMessage]:
    yield first
    yield from rest


def _json_line(m: SimMessage) -> str:
    payload = m.payload.decode("utf-8", "replace")
    return orjson.dumps(
        {"at": m.at.isoformat(), "topic": m.topic, "kind": m.kind,
         "retain": m.retain, "payload": payload}
    ).decode()  # fmt: skip


for _scenario in SCENARIOS.values():
    _scenario_command(_scenario)


@app.command("list")
def list_scenarios() -> None:
    """The scenarios and the payload families that can tell each of them."""
    for s in SCENARIOS.values():
        able = [name for name, enc in ENCODERS.items() if s.needs <= enc.metrics]
        typer.echo(f"{s.name:14} {s.summary}\n{'':14} formats: {', '.join(able)}")


@app.command("devices")
def devices(
    scenario: Annotated[str, typer.Argument(help="scenario name")],
    format: FormatOpt = "native",
) -> None:
    """JSON lines for ``POST /api/v1/devices``: the scenario's devices with their refs."""
    chosen = SCENARIOS.get(scenario)
    if chosen is None:
        raise _fail(f"unknown scenario {scenario!r}; known: {', '.join(SCENARIOS)}")
    try:
        encoder = get_encoder(format)
    except ValueError as exc:
        raise _fail(str(exc)) from exc
    for d in chosen.devices:
        body: dict[str, object] = {"id": d.id, "type": d.type, "name": d.name,
                                   "site_id": d.site_id, "place": d.place}  # fmt: skip
        if encoder.ref(d) != d.id:
            body["refs"] = [{"source": encoder.source, "ref": encoder.ref(d)}]
        sys.stdout.write(orjson.dumps(body).decode() + "\n")


@app.command("fleet")
def fleet(
    devices: Annotated[int, typer.Option(help="number of devices", min=1)] = 1000,
    rate: Annotated[float, typer.Option(help="messages per second, all devices together")] = 100.0,
    duration: Annotated[float | None, typer.Option(help="seconds to run")] = None,
    count: Annotated[int | None, typer.Option(help="messages to send")] = None,
    format: FormatOpt = "native",
    connections: Annotated[int, typer.Option(help="MQTT connections to spread over")] = 2,
    churn: Annotated[float, typer.Option(help="chance per report that a device drops off")] = 0.0,
    seed: SeedOpt = 1,
    prefix: Annotated[str, typer.Option(help="device id prefix")] = "fleet",
    mqtt_url: UrlOpt = "mqtt://127.0.0.1:1883",
) -> None:
    """N devices at a total rate, with availability, for load and soak runs (bounded)."""
    from simulators.fleet import fleet_devices, fleet_messages, run_fleet

    if rate <= 0:
        raise _fail("--rate must be positive")
    try:
        encoder = get_encoder(format)
    except ValueError as exc:
        raise _fail(str(exc)) from exc
    fleet_ = fleet_devices(devices, prefix=prefix)
    stream = fleet_messages(
        fleet_, encoder, rate=rate, start=datetime.now(UTC), seed=seed, churn=churn
    )
    typer.echo(f"fleet: {devices} devices, {rate:g} msg/s, {format} → {mqtt_url}")
    try:
        result = run_fleet(
            mqtt_url, stream, count=count, duration=duration, rate=rate,
            connections=connections, client_prefix=f"kv-{prefix}",
        )  # fmt: skip
    except KeyboardInterrupt:
        return
    typer.echo(f"{result.messages} messages in {result.seconds:.1f} s ({result.rate:,.0f}/s)")
