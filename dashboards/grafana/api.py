"""The four Grafana HTTP API calls the push needs, over httpx.

Folder by uid (get, create) and dashboard by uid (get, create or update). A client library
is not worth its weight for four calls: grafana-client 5 pulls in niquests and
urllib3-future, whose ``.pth`` file replaces urllib3 in site-packages at interpreter start,
under influxdb-client, requests and apprise.

Errors: ``GrafanaRefused`` for an answer other than success (status and Grafana's message),
``GrafanaUnreachable`` when no answer comes; both are ``GrafanaError``.
"""

from __future__ import annotations

from typing import Any

import httpx

__all__ = ["GrafanaApi", "GrafanaError", "GrafanaRefused", "GrafanaUnreachable"]


class GrafanaError(Exception):
    """Root of the Grafana API errors."""


class GrafanaRefused(GrafanaError):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status


class GrafanaUnreachable(GrafanaError):
    pass


class GrafanaApi:
    """A service-account token's view of one Grafana (``url`` such as http://grafana:3000)."""

    def __init__(self, url: str, token: str, *, timeout_s: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            timeout=timeout_s,
        )

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        try:
            response = self._http.request(method, path, json=body)
        except httpx.HTTPError as exc:
            raise GrafanaUnreachable(f"cannot reach Grafana at {self.url}: {exc}") from exc
        if response.is_success:
            return response.json()
        try:
            payload = response.json()
        except ValueError:
            payload = None
        message = str(payload.get("message", "")) if isinstance(payload, dict) else response.text
        raise GrafanaRefused(response.status_code, message[:300] or response.reason_phrase)

    def _get_or_none(self, path: str) -> dict[str, Any] | None:
        try:
            found: dict[str, Any] = self._call("GET", path)
        except GrafanaRefused as exc:
            if exc.status == 404:
                return None
            raise
        return found

    def get_folder(self, uid: str) -> dict[str, Any] | None:
        return self._get_or_none(f"/api/folders/{uid}")

    def create_folder(self, title: str, uid: str) -> None:
        self._call("POST", "/api/folders", {"title": title, "uid": uid})

    def get_dashboard(self, uid: str) -> dict[str, Any] | None:
        """``{"dashboard": ..., "meta": ...}`` or None when Grafana has no such dashboard."""
        return self._get_or_none(f"/api/dashboards/uid/{uid}")

    def save_dashboard(self, dashboard: dict[str, Any], folder_uid: str, message: str) -> None:
        body = {"dashboard": dashboard, "folderUid": folder_uid, "overwrite": True,
                "message": message}  # fmt: skip
        self._call("POST", "/api/dashboards/db", body)

    def close(self) -> None:
        self._http.close()
