"""``/docs`` in headless Chromium on a network without a CDN: Swagger UI loads from the
package, only for a signed-in user, and shows the API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser

PASSWORD = "ett långt lösenord 42"


def test_swagger_ui_renders_without_any_cdn(
    browser: Any, platform_factory: Any, tmp_path: Path
) -> None:
    proc = platform_factory(tmp_path / "kv").start()
    base = proc.base_url
    body = {"username": "tittare", "role": "viewer", "password": PASSWORD, "sites": ["*"]}
    proc.post("/api/v1/users", body)
    ctx = browser.new_context()
    outside: list[str] = []

    def only_loopback(route: Any) -> None:
        # a closed municipal network: every request off this host fails
        if route.request.url.startswith(base):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    ctx.route("**/*", only_loopback)
    page = ctx.new_page()
    try:
        page.goto(f"{base}/docs")
        assert page.url.startswith(f"{base}/login")  # not for the network at large
        page.fill("#username", "tittare")
        page.fill("#password", PASSWORD)
        page.click("#login-form button[type=submit]")
        page.wait_for_load_state()
        page.goto(f"{base}/docs")
        page.wait_for_selector(".swagger-ui .info .title", timeout=15_000)
        assert "kommunvakt" in page.locator(".swagger-ui .info .title").inner_text()
        page.wait_for_selector(".opblock-tag", timeout=15_000)
        assert page.locator(".opblock").count() > 40
        assert outside == []
    finally:
        ctx.close()
