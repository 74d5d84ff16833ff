"""Payload families and how a topic picks one.

Each family is a module of pure functions with a ``decode(topic, payload, received_at)``.
Which family a topic belongs to comes from settings (``formats``: name → topic filters) with
the defaults below; the first matching filter wins.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from types import MappingProxyType

from devices.reading import Decoded
from ingest import chirpstack, homeassistant, native, senml, tasmota, ttn, zigbee2mqtt
from ingest.errors import DecodeError
from ingest.topics import TopicFilter

__all__ = ["DECODERS", "DEFAULT_TOPICS", "Decoder", "FormatRouter"]

Decoder = Callable[[str, bytes, datetime], Decoded]

#: Topics whose decoder is remembered; beyond this the memory starts over.
_CACHE_TOPICS = 100_000

#: family name → decode function. Families register here.
DECODERS: dict[str, Decoder] = {
    "native": native.decode,
    "chirpstack": chirpstack.decode,
    "ttn": ttn.decode,
    "tasmota": tasmota.decode,
    "senml": senml.decode,
    "homeassistant": homeassistant.decode,
    "zigbee2mqtt": zigbee2mqtt.decode,
}

#: family name → default topic filters (subscriptions). Order matters: the first match wins,
#: so the broad ``zigbee2mqtt/#`` comes last.
DEFAULT_TOPICS: dict[str, tuple[str, ...]] = {
    "native": native.TOPICS,
    "chirpstack": chirpstack.TOPICS,
    "ttn": ttn.TOPICS,
    "tasmota": tasmota.TOPICS,
    "senml": senml.TOPICS,
    "homeassistant": homeassistant.TOPICS,
    "zigbee2mqtt": zigbee2mqtt.TOPICS,
}


class FormatRouter:
    """Chooses the decoder for a topic by the configured filters (first match wins)."""

    def __init__(self, topics: Mapping[str, Sequence[str]] | None = None) -> None:
        chosen = dict(DEFAULT_TOPICS if topics is None else topics)
        unknown = sorted(set(chosen) - set(DECODERS))
        if unknown:
            raise ValueError(f"unknown payload formats: {', '.join(unknown)}")
        self._routes = tuple(
            (TopicFilter(f), name) for name, filters in chosen.items() for f in filters
        )
        self.topics = MappingProxyType({k: tuple(v) for k, v in chosen.items()})
        # topic -> decoder: a topic names one device, so this stays as small as the fleet;
        # matching ~10 filters per message cost as much as decoding a zigbee2mqtt payload.
        self._cache: dict[str, Decoder] = {}

    @property
    def subscriptions(self) -> list[str]:
        return sorted({f.value for f, _ in self._routes})

    def family_for(self, topic: str) -> str | None:
        for topic_filter, name in self._routes:
            if topic_filter.matches(topic):
                return name
        return None

    def decode(
        self, topic: str, payload: bytes, received_at: datetime, family: str | None = None
    ) -> Decoded:
        if family is None:
            cached = self._cache.get(topic)
            if cached is not None:
                return cached(topic, payload, received_at)
        name = family or self.family_for(topic)
        if name is None:
            raise DecodeError(f"no payload format is configured for topic {topic[:80]!r}")
        decoder = DECODERS.get(name)
        if decoder is None:
            raise DecodeError(f"unknown payload format {name!r}")
        if family is None:
            if len(self._cache) >= _CACHE_TOPICS:
                self._cache.clear()
            self._cache[topic] = decoder
        return decoder(topic, payload, received_at)
