"""The API's own documentation: ``/openapi.json`` and Swagger UI at ``/docs``, for signed-in
users only, with Swagger UI's files served from the ``swagger-ui-bundle-v2`` package.

FastAPI's built-in docs routes are plain Starlette routes, which the app's ``authorize``
dependency never sees (so anyone could read the whole API surface), and their page loads
Swagger UI from a CDN, which a closed municipal network cannot reach. Here both are
ordinary routes under the access policy, and the page loads its script and style from
``/docs/assets``: third-party files, the same for everyone, so served without sign-in.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

__all__ = ["ASSETS", "install_docs"]

ASSETS = "/docs/assets"


def install_docs(app: FastAPI) -> None:
    """Call on an app built with ``openapi_url=None, docs_url=None, redoc_url=None``."""
    app.mount(ASSETS, StaticFiles(directory=str(swagger_ui_path)), name="swagger-ui")

    @app.get("/openapi.json", include_in_schema=False)
    def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())  # built once, then cached by FastAPI

    @app.get("/docs", include_in_schema=False, response_class=HTMLResponse)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title=f"{app.title} – API",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon-32x32.png",
        )
