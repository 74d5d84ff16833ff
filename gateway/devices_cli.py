"""``kommunvakt devices …``: add, list, show, import, export, claim, retire, unknown.

The commands talk to the running platform's REST API, not to the database directly: the
gateway keeps an in-memory ref → device cache, and only the running process can refresh it
(and run the alert rules on claimed readings). The address is ``--url`` / ``KOMMUNVAKT_URL``
(default: the settings' public URL); the token is ``--token`` / ``KOMMUNVAKT_TOKEN``, else the
admin token from the settings or the data directory. Passwords are printed once, to stdout.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import httpx
import orjson
import typer

__all__ = ["app"]

app = typer.Typer(help="Register, place, claim and retire devices.", no_args_is_help=True)

Url = Annotated[str | None, typer.Option("--url", envvar="KOMMUNVAKT_URL", help="platform URL")]
Token = Annotated[
    str | None,
    typer.Option("--token", envvar="KOMMUNVAKT_TOKEN", help="API token", show_default=False),
]
AS_JSON = typer.Option("--json", help="print JSON")
CHUNK = 64 * 1024


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"kommunvakt: {message}", err=True)
    return typer.Exit(code)


def _client(url: str | None, token: str | None) -> httpx.Client:
    if url is None or token is None:
        from gateway.settings import load_settings

        settings = load_settings()
        url = url or settings.public_url
        if token is None:
            if settings.admin_token is not None:
                token = settings.admin_token.get_secret_value()
            else:
                path = settings.data_dir / "admin_token"
                if not path.exists():
                    raise _fail("no token: pass --token or set KOMMUNVAKT_TOKEN")
                token = path.read_text().strip()
    return httpx.Client(
        base_url=url.rstrip("/"), headers={"Authorization": f"Bearer {token}"}, timeout=120
    )


def _call(url: str | None, token: str | None, method: str, path: str, **kw: Any) -> Any:
    with _client(url, token) as client:
        try:
            resp = client.request(method, path, **kw)
        except httpx.HTTPError as exc:
            raise _fail(f"cannot reach the platform at {client.base_url} ({exc})") from exc
    if resp.status_code >= 400:
        try:
            detail = resp.json().get("detail", resp.text)
        except ValueError:
            detail = resp.text
        if isinstance(detail, list):  # pydantic errors
            detail = "; ".join(f"{'.'.join(map(str, e['loc'][1:]))}: {e['msg']}" for e in detail)
        raise _fail(f"{resp.status_code}: {detail}", 2 if resp.status_code == 422 else 1)
    if resp.headers.get("content-type", "").startswith("application/json"):
        return resp.json()
    return resp.content


def _print_json(data: Any) -> None:
    typer.echo(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode())


def _show_credentials(creds: dict[str, Any] | None) -> None:
    if creds:
        typer.echo("MQTT credentials (shown once; store them in the device now):")
        typer.echo(f"  username: {creds['username']}")
        typer.echo(f"  password: {creds['password']}")
        typer.echo(f"  may publish to: {', '.join(creds['publish_topics'])}")


@app.command("list")
def list_(
    url: Url = None,
    token: Token = None,
    site: Annotated[str | None, typer.Option(help="site id")] = None,
    type: Annotated[str | None, typer.Option(help="device type")] = None,
    state: Annotated[str | None, typer.Option(help="active, maintenance or retired")] = None,
    health: Annotated[str | None, typer.Option(help="online, offline or never_seen")] = None,
    q: Annotated[str | None, typer.Option("-q", help="search id, name, place, ref")] = None,
    limit: int = 1000,
    as_json: Annotated[bool, AS_JSON] = False,
) -> None:
    """List devices with their health."""
    params = {
        k: v
        for k, v in {
            "site_id": site,
            "type": type,
            "state": state,
            "health": health,
            "q": q,
            "limit": limit,
        }.items()
        if v is not None
    }
    page = _call(url, token, "GET", "/api/v1/devices", params=params)
    if as_json:
        _print_json(page)
        return
    for d in page["items"]:
        h = d["health"] or {}
        battery = f"{h['battery']:.0f}%" if h.get("battery") is not None else "-"
        where = "/".join(x for x in (d["site_id"], d["place"]) if x) or "-"
        typer.echo(
            f"{d['id']:<28} {d['type']:<28} {d['state']:<11} {h.get('status', '-'):<10} "
            f"{battery:>5}  {where}"
        )
    typer.echo(f"{len(page['items'])} of {page['total']} device(s)", err=True)


@app.command()
def show(device_id: str, url: Url = None, token: Token = None) -> None:
    """Show one device (JSON), with its health."""
    _print_json(_call(url, token, "GET", f"/api/v1/devices/{device_id}"))


@app.command()
def add(
    device_id: Annotated[str, typer.Argument(metavar="ID")],
    type: Annotated[str, typer.Option("--type", help="catalogue key, e.g. freezer")],
    url: Url = None,
    token: Token = None,
    name: str = "",
    site: Annotated[str | None, typer.Option(help="site id")] = None,
    place_id: Annotated[str | None, typer.Option(help="place id (implies the site)")] = None,
    place: Annotated[str | None, typer.Option(help="free-text room/place")] = None,
    care_unit: Annotated[str | None, typer.Option(help="care unit id")] = None,
    ref: Annotated[list[str] | None, typer.Option(help="source:ref, repeatable")] = None,
    interval: Annotated[int | None, typer.Option(help="expected report interval, s")] = None,
    notes: str | None = None,
    mqtt_credentials: Annotated[
        bool, typer.Option("--mqtt-credentials", help="issue its own MQTT login")
    ] = False,
) -> None:
    """Register a device."""
    from devices.bulk import parse_refs

    body = {
        "id": device_id,
        "type": type,
        "name": name,
        "site_id": site,
        "place_id": place_id,
        "place": place,
        "care_unit_id": care_unit,
        "expected_interval_s": interval,
        "notes": notes,
        "refs": parse_refs("|".join(ref or [])),
        "issue_mqtt_credentials": mqtt_credentials,
    }
    device = _call(url, token, "POST", "/api/v1/devices", json=body)
    typer.echo(f"registered {device['id']} ({device['type']})")
    _show_credentials(device.get("mqtt_credentials"))


@app.command()
def unknown(
    url: Url = None, token: Token = None, as_json: Annotated[bool, AS_JSON] = False
) -> None:
    """Devices the gateway heard but does not know (claim them)."""
    items = _call(url, token, "GET", "/api/v1/unknown-devices")
    if as_json:
        _print_json(items)
        return
    for u in items:
        typer.echo(f"{u['ref']:<28} {u['family']:<12} {u['messages']:>5} msg  {u['last_seen']}")
        typer.echo(f"    {u['last_payload'][:120]}")


@app.command()
def claim(
    ref: str,
    type: Annotated[str, typer.Option("--type", help="catalogue key")],
    url: Url = None,
    token: Token = None,
    id: Annotated[str | None, typer.Option("--id", help="device id (default: the ref)")] = None,
    name: str = "",
    site: str | None = None,
    place_id: str | None = None,
    place: str | None = None,
    mqtt_credentials: Annotated[bool, typer.Option("--mqtt-credentials")] = False,
) -> None:
    """Claim an unknown device: register it and ingest its last 24 h."""
    body = {
        "type": type,
        "id": id,
        "name": name,
        "site_id": site,
        "place_id": place_id,
        "place": place,
        "issue_mqtt_credentials": mqtt_credentials,
    }
    path = f"/api/v1/unknown-devices/{quote(ref, safe='/')}/claim"
    result = _call(url, token, "POST", path, json=body)
    device = result["device"]
    typer.echo(
        f"claimed {ref} as {device['id']}: {result['ingested_readings']} reading(s) ingested"
    )
    _show_credentials(device.get("mqtt_credentials"))


@app.command()
def retire(device_id: str, url: Url = None, token: Token = None) -> None:
    """Decommission: no alerts, refused at the gateway, history kept."""
    device = _call(url, token, "POST", f"/api/v1/devices/{device_id}/retire")
    typer.echo(f"retired {device['id']} at {device['retired_at']}")


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV file")],
    url: Url = None,
    token: Token = None,
    commit: Annotated[bool, typer.Option("--commit", help="import (default: dry run)")] = False,
) -> None:
    """Check a CSV (dry run), or import it with --commit: all rows or none."""
    data = file.read_bytes()
    with typer.progressbar(length=len(data), label="upload", file=sys.stderr) as bar:

        def chunks() -> Iterator[bytes]:
            for start in range(0, len(data), CHUNK):
                piece = data[start : start + CHUNK]
                bar.update(len(piece))
                yield piece

        with _client(url, token) as client:
            try:
                resp = client.post(
                    "/api/v1/devices/import",
                    params={"dry_run": str(not commit).lower()},
                    content=chunks(),
                    headers={"content-type": "text/csv", "content-length": str(len(data))},
                )
            except httpx.HTTPError as exc:
                raise _fail(f"cannot reach the platform at {client.base_url} ({exc})") from exc
    body = (
        resp.json() if resp.headers.get("content-type", "").startswith("application/json") else {}
    )
    if resp.status_code == 200:
        report = body
    elif resp.status_code == 422 and isinstance(body.get("detail"), dict):
        report = body["detail"]  # a real import refused: the same report, nothing written
    else:
        raise _fail(f"{resp.status_code}: {body.get('detail', resp.text[:300])}")
    for e in report["errors"]:
        typer.echo(f"line {e['line']}: {e['reason']}", err=True)
    typer.echo(
        f"{report['rows']} row(s), {report['valid']} valid, {len(report['errors'])} bad; "
        f"{'imported ' + str(report['imported']) if commit else 'dry run, nothing written'} "
        f"({report['seconds']} s on the server)"
    )
    if report["errors"]:
        raise typer.Exit(2)


@app.command()
def export(
    file: Annotated[str, typer.Argument(help="output file, or - for stdout")] = "-",
    url: Url = None,
    token: Token = None,
) -> None:
    """Export every device as CSV (UTF-8 with BOM, semicolons: opens in Excel as is)."""
    body = _call(url, token, "GET", "/api/v1/devices/export")
    if file == "-":
        sys.stdout.buffer.write(body)
    else:
        Path(file).write_bytes(body)
        typer.echo(f"wrote {file}", err=True)
