"""The role × object table, generated from the app's own route list: every GET route (API,
page, export, stream, dead letters) and every write, asked by users scoped to site A /
care unit natt-a for the objects of site B / natt-b, refuses or shows none of them; a site
scope never opens care data. A route whose path parameter this table does not know fails
it: say how that object is scoped (``access.scope``)."""

from __future__ import annotations

import re
from typing import Any

from fastapi.routing import APIRoute, iter_route_contexts

from tests.support import two_sites
from tests.support.postgres import pg_cluster  # noqa: F401  (session-wide PostgreSQL)
from tests.support.two_sites import B_MARK, CARE_TEXT, signed_in

api, world = two_sites.api, two_sites.world  # the fixtures of the two-site world


#: how a path parameter names an object of site B / care unit natt-b. A route with a
#: parameter missing here fails ``test_every_object_route_is_scoped``: say how it is scoped.
def _objects_of_b(world: dict[str, Any]) -> dict[str, str | None]:
    return {
        "site_id": "skola-b",
        "device_id": "temp-skola-b",
        "place_id": "plats-skola-b",
        "alert_id": str(world["alerts"]["b"][0]),
        "unit_id": "natt-b",
        "care_unit_id": "natt-b",
        "resident_id": world["residents"]["b"],
        "silence_id": str(world["silence_b"]),
        # not site objects: users (users.read is every site's), signed acknowledge links
        "username": None,
        "token": None,
        "token_id": None,  # a user's own tokens (/me) or tokens.admin: not site objects
        "consent_id": None,  # under a resident: scoped by the resident
        "ref": None,  # an unknown device has no site: listed to every-site users only
        "schedule_id": None,
        "check_id": None,
        "absence_id": None,
    }


def _leaks(username: str, text: str) -> bool:
    """Site B's objects, or (but for natt-a's own care alerts to its night staff) care data."""
    if B_MARK in text:
        return True
    own_care = username == "natt-a" and f"{CARE_TEXT} skola-b" not in text
    return CARE_TEXT in text and not own_care


def _routes(app: Any, *, writes: bool = False) -> list[tuple[str, str]]:
    """(method, path template) of the app's GET routes, or of its writes."""
    out = set()
    for rc in iter_route_contexts(app.routes):
        if isinstance(rc.original_route, APIRoute):
            for method in rc.methods or ():
                if (method == "GET") != writes and method != "HEAD":
                    out.add((method, rc.path_format))
    return sorted(out, key=lambda mp: (mp[1], mp[0]))


_PARAM = re.compile(r"\{([^}:]+)(?::[^}]*)?\}")


def _url_of_b(path: str, objects: dict[str, str | None], unknown: list[str]) -> str | None:
    """The path naming site B's / natt-b's objects; None when it names none."""
    params = _PARAM.findall(path)
    missing = [p for p in params if p not in objects]
    if missing:
        unknown.append(f"{path}: {missing}")
        return None
    if any(objects[p] is None for p in params):
        return None
    return _PARAM.sub(lambda m: str(objects[m[1]]), path)


def test_every_object_route_is_scoped(world: dict[str, Any]) -> None:
    """Every GET route (API, page, export, stream), asked for an object of site B or care
    unit natt-b by a user scoped to site A / natt-a, refuses; list routes show nothing of
    B and, to roles without care.read, no care alert."""
    admin = world["admin"]
    objects = _objects_of_b(world)
    wrong: list[str] = []
    unknown: list[str] = []
    checked = 0
    sessions = {name: signed_in(admin, name) for name in ("tekniker-a", "fastighet-a", "natt-a")}
    for _method, path in _routes(admin.app):
        url = _url_of_b(path, objects, unknown)
        if url is None or path in ("/login", "/login/oidc", "/login/oidc/callback"):
            continue
        for name, client in sessions.items():
            resp = client.get(url)
            checked += 1
            assert resp.status_code < 500, f"{name} {url}: {resp.status_code}"
            if url != path:  # names an object of B
                if resp.status_code in (200, 204):
                    wrong.append(f"{name:12} {url}: {resp.status_code}")
            elif resp.status_code == 200 and _leaks(name, resp.text):
                wrong.append(f"{name:12} {url}: shows site B or care data")
    assert not unknown, "path parameters without a scope rule in this test:\n" + "\n".join(unknown)
    assert checked > 100
    assert not wrong, "objects of another site or care unit reached:\n" + "\n".join(wrong)


#: care objects: a unit's board, a resident, a care alert (site B's care alert id). The care
#: unit's own entry (/api/v1/care-units/{unit_id}: id, name, site) is not care data.
_CARE_PARAMS = ("unit_id", "resident_id", "alert_id")


def test_no_route_shows_care_data_to_every_site_users(world: dict[str, Any]) -> None:
    """A site scope, even every site, never opens care data: every GET route, asked by a
    viewer and a technician of every site, for care units, residents and care alerts, or
    listing alerts, refuses or shows none."""
    admin = world["admin"]
    objects = {**_objects_of_b(world), "alert_id": str(world["alerts"]["b"][1])}
    wrong: list[str] = []
    unknown: list[str] = []
    sessions = {name: signed_in(admin, name) for name in ("tittare", "tekniker-alla")}
    for _method, path in _routes(admin.app):
        url = _url_of_b(path, objects, unknown)
        if url is None or path.startswith("/login"):
            continue
        care_object = not path.startswith("/api/v1/care-units") and any(
            f"{{{p}}}" in path for p in _CARE_PARAMS
        )
        for name, client in sessions.items():
            resp = client.get(url)
            assert resp.status_code < 500, f"{name} {url}: {resp.status_code}"
            if care_object and resp.status_code in (200, 204):
                wrong.append(f"{name:14} {url}: {resp.status_code}")
            elif resp.status_code == 200 and CARE_TEXT in resp.text:
                wrong.append(f"{name:14} {url}: shows a care alert")
    assert not unknown, "path parameters without a scope rule in this test:\n" + "\n".join(unknown)
    assert not wrong, "care data reached a site scope:\n" + "\n".join(wrong)


def test_every_write_to_another_sites_object_is_refused(world: dict[str, Any]) -> None:
    """Every write route (API and forms) naming an object of site B or natt-b, sent by a
    technician of A (its writes are the widest) and night staff of natt-a, changes nothing."""
    admin, users = world["admin"], world["users"]
    objects = _objects_of_b(world)
    wrong: list[str] = []
    unknown: list[str] = []
    checked = 0
    for method, path in _routes(admin.app, writes=True):
        url = _url_of_b(path, objects, unknown)
        if url is None or url == path:
            continue
        for name in ("tech_a", "night_a"):
            resp = admin.request(method, url, json={}, headers=users[name])
            checked += 1
            assert resp.status_code < 500, f"{name} {method} {url}: {resp.status_code}"
            if resp.status_code < 400:
                wrong.append(f"{name:8} {method:6} {url}: {resp.status_code}")
    assert not unknown, "path parameters without a scope rule in this test:\n" + "\n".join(unknown)
    assert checked > 50
    assert not wrong, "writes to another site's or unit's objects got through:\n" + "\n".join(wrong)
