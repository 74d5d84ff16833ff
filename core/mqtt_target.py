"""Where an MQTT client connects, parsed from a URL."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

__all__ = ["MqttTarget"]


class MqttTarget:
    """Where the gateway connects: parsed from ``mqtt[s]://[user[:pass]@]host[:port]``."""

    def __init__(
        self,
        host: str,
        port: int,
        username: str | None = None,
        password: str | None = None,
        tls: bool = False,
    ) -> None:
        self.host, self.port, self.username, self.password, self.tls = (
            host,
            port,
            username,
            password,
            tls,
        )

    @classmethod
    def parse(cls, url: str) -> MqttTarget:
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
            raise ValueError(f"MQTT URL scheme must be mqtt:// or mqtts://, not {parts.scheme!r}")
        if not parts.hostname:
            raise ValueError("MQTT URL has no host")
        tls = parts.scheme in ("mqtts", "ssl")
        return cls(
            parts.hostname,
            parts.port or (8883 if tls else 1883),
            unquote(parts.username) if parts.username else None,
            unquote(parts.password) if parts.password else None,
            tls,
        )

    def __repr__(self) -> str:
        auth = f"{self.username}:***@" if self.username else ""
        return f"{'mqtts' if self.tls else 'mqtt'}://{auth}{self.host}:{self.port}"
