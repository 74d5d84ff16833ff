"""Encoders per payload family: how each product puts a reading on the wire."""

from simulators.encoders.base import Encoder
from simulators.encoders.native import NativeEncoder

__all__ = ["ENCODERS", "Encoder", "get_encoder"]

#: CLI name → encoder
ENCODERS: dict[str, Encoder] = {"native": NativeEncoder()}


def get_encoder(name: str) -> Encoder:
    try:
        return ENCODERS[name]
    except KeyError:
        known = ", ".join(sorted(ENCODERS))
        raise ValueError(f"unknown payload format {name!r}; known: {known}") from None
