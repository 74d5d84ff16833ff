"""The FastAPI application: ``create_app()`` builds it; importing this module does nothing.

Without a platform, ``create_app()`` builds one from the settings and starts it with the app
(``uvicorn --factory gateway.app:create_app``); ``kommunvakt run`` passes its own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from access.guard import authorize
from access.setup import install_access
from alerts.api import router as alerts_router
from alerts.errors import RuleConfigError
from alerts.store import AlertNotFound, AlertStateError
from dashboards.alerts_web import router as alerts_web_router
from dashboards.charts_api import router as charts_api_router
from dashboards.charts_web import router as charts_web_router
from dashboards.device_actions import router as device_actions_router
from dashboards.devices_page import router as devices_page_router
from dashboards.web import router as web_router
from devices.api import router as devices_router
from devices.api_sites import router as devices_sites_router
from devices.errors import Conflict, Invalid, NotFound
from gateway.deps import wire
from gateway.docs import install_docs
from gateway.json_text import JsonTextGuard
from gateway.metrics import CONTENT_TYPE, metrics_registry, render_metrics
from gateway.platform import Platform
from gateway.settings import Settings, load_settings
from ingest.api import router as ingest_router
from ingest.errors import StoreError
from supervision.api import install_handlers as install_supervision_handlers
from supervision.api import router as supervision_api_router
from supervision.web import router as supervision_web_router

__all__ = ["create_app"]


def _error(status: int) -> Callable[[Request, Exception], Awaitable[JSONResponse]]:
    async def handler(_request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=status)

    return handler


def create_app(platform: Platform | None = None, settings: Settings | None = None) -> FastAPI:
    owned = platform is None
    if platform is None:
        platform = Platform(settings or load_settings())
    built = platform

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if owned:
            built.start()
        try:
            yield
        finally:
            if owned:
                built.stop()

    app = FastAPI(
        title="kommunvakt",
        version="0.1.0",
        summary="IoT monitoring for Swedish municipalities",
        lifespan=lifespan,
        dependencies=[Depends(authorize)],  # every route is checked against access/policy.py
        # FastAPI's own docs routes escape ``authorize`` and load Swagger UI from a CDN
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    # still read by the page modules (dashboards, supervision.web, access.web); the REST
    # routes take their services through gateway.deps
    app.state.platform = platform
    app.state.settings = platform.settings
    app.state.registry = platform.registry
    app.state.quarantine = platform.quarantine
    app.state.store = platform.store
    app.state.alert_store = platform.alerts
    app.state.supervision = platform.supervision  # issue 6: e-supervision
    app.add_middleware(JsonTextGuard)  # added first: inside the body-size limit
    wire(app, platform)  # every route's services: gateway.deps
    install_access(app, platform)  # users, tokens, sessions, sign-in, headers, audit (issue 7)

    app.add_exception_handler(NotFound, _error(404))
    app.add_exception_handler(AlertNotFound, _error(404))
    app.add_exception_handler(Conflict, _error(409))
    app.add_exception_handler(AlertStateError, _error(409))
    app.add_exception_handler(RuleConfigError, _error(422))
    app.add_exception_handler(Invalid, _error(422))
    # the reading store (InfluxDB) unreachable: the platform is up, the data is not
    app.add_exception_handler(StoreError, _error(503))

    @app.get("/healthz", tags=["ops"])
    def healthz() -> JSONResponse:
        """The full report (gateway.health): 503 when any check fails."""
        report = platform.health()
        body = report.as_json()
        body["mqtt_connected"] = platform.mqtt is None or platform.mqtt.connected.is_set()
        body["queue_depth"] = platform.pipeline.depth
        body["role"] = platform.role()  # active, standby or takeover (gateway.lease)
        return JSONResponse(body, status_code=200 if report.ok else 503)

    @app.get("/livez", tags=["ops"])
    def livez() -> JSONResponse:
        """Liveness: the process does its periodic work (restart it when not)."""
        report = platform.health()
        return JSONResponse({"live": report.live}, status_code=200 if report.live else 503)

    @app.get("/readyz", tags=["ops"])
    def readyz() -> JSONResponse:
        """Readiness: subscribed to the broker and able to store."""
        report = platform.health()
        return JSONResponse({"ready": report.ready}, status_code=200 if report.ready else 503)

    registry = metrics_registry(platform)

    @app.get("/metrics", tags=["ops"], response_class=PlainTextResponse)
    def metrics() -> PlainTextResponse:
        return PlainTextResponse(render_metrics(registry), media_type=CONTENT_TYPE)

    install_docs(app)  # /openapi.json and /docs, signed in, Swagger UI from the package
    app.include_router(devices_router)
    app.include_router(devices_sites_router)
    app.include_router(devices_page_router)  # /devices for technicians (issue 4)
    app.include_router(device_actions_router)  # pause a device's notifications (issue 5)
    app.include_router(alerts_router)
    app.include_router(ingest_router)
    app.include_router(alerts_web_router)  # /alerts and /ack/<token> (issue 5)
    app.include_router(web_router)
    # after the other pages, so a fixed path such as /devices/claim wins over /devices/{id}
    app.include_router(charts_api_router)
    app.include_router(charts_web_router)
    install_supervision_handlers(app)  # issue 6: care data, /api/v1/supervision + /supervision
    app.include_router(supervision_api_router)
    app.include_router(supervision_web_router)
    return app
