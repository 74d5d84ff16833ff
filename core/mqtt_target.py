"""Where an MQTT client connects, parsed from a URL."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

__all__ = ["MqttTarget"]


class MqttTarget:
    """Where the gateway connects: parsed from ``mqtt[s]://[user[:pass]@]host[:port]``, or a
    comma-separated list of such addresses (the nodes of a broker cluster, or a broker and its
    standby), tried in turn: ``host``/``port`` are the first, ``addresses`` all of them."""

    def __init__(
        self,
        host: str,
        port: int,
        username: str | None = None,
        password: str | None = None,
        tls: bool = False,
        *,
        fallbacks: tuple[tuple[str, int], ...] = (),
    ) -> None:
        self.host, self.port, self.username, self.password, self.tls = (
            host,
            port,
            username,
            password,
            tls,
        )
        self.addresses: tuple[tuple[str, int], ...] = ((host, port), *fallbacks)

    @classmethod
    def parse(cls, url: str) -> MqttTarget:
        parsed = [cls._parse_one(part.strip()) for part in url.split(",") if part.strip()]
        if not parsed:
            raise ValueError("MQTT URL is empty")
        first = parsed[0]
        for other in parsed[1:]:
            if other.tls != first.tls:
                raise ValueError("MQTT URLs in one list must all be mqtt:// or all mqtts://")
            if other.username is not None and (other.username, other.password) != (
                first.username,
                first.password,
            ):
                raise ValueError(
                    "MQTT URLs in one list must use one login (give it on the first only)"
                )
        return cls(
            first.host,
            first.port,
            first.username,
            first.password,
            first.tls,
            fallbacks=tuple((t.host, t.port) for t in parsed[1:]),
        )

    @classmethod
    def _parse_one(cls, url: str) -> MqttTarget:
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
        where = ",".join(f"{host}:{port}" for host, port in self.addresses)
        return f"{'mqtts' if self.tls else 'mqtt'}://{auth}{where}"
