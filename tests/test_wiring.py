"""Every service a route asks for is provided by the composition root, and a provider that
is not wired says which one it is."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import pytest
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import get_dependant
from fastapi.routing import APIRoute

from access.deps import NotWired, audit_log


def _api_routes(routes: Iterable[Any]) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        included = getattr(route, "original_router", None)  # FastAPI's included router
        if included is not None:
            yield from _api_routes(included.routes)


def _calls(dependant: Dependant) -> list[Any]:
    found = []
    for sub in dependant.dependencies:
        found.append(sub.call)
        found += _calls(sub)
    return found


def test_every_provider_a_route_uses_is_wired(platform: Any) -> None:
    from gateway.app import create_app

    app = create_app(platform)
    unwired = set()
    checked = 0
    dependants = [(r.path, r.dependant) for r in _api_routes(app.routes)]
    dependants += [
        ("(every route)", get_dependant(path="", call=d.dependency))
        for d in app.router.dependencies
        if d.dependency is not None
    ]
    for path, dependant in dependants:
        for call in _calls(dependant):
            checked += 1
            if call in app.dependency_overrides:
                continue
            try:
                # a provider takes no arguments; anything else is resolved by FastAPI itself
                if getattr(call, "__code__", None) is not None and call.__code__.co_argcount == 0:
                    call()
            except NotWired:
                unwired.add(f"{path}: {call.__module__}.{call.__qualname__}")
    assert checked > 100  # the walk reached the routes of the included routers
    assert not unwired, sorted(unwired)


def test_each_provider_answers_with_the_platforms_instance(platform: Any) -> None:
    from gateway.app import create_app
    from gateway.deps import providers

    app = create_app(platform)
    assert app.dependency_overrides[audit_log]() is platform.audit
    for provider in providers(platform):
        assert app.dependency_overrides[provider]() is not None or provider.__name__ == (
            "credential_issuer"  # None without dynamic security or the embedded broker
        )


def test_an_unwired_provider_names_itself() -> None:
    with pytest.raises(NotWired, match=r"access\.deps\.audit_log is not wired"):
        audit_log()
