"""The device names a payload that could not be decoded may carry, for a care check.

A gateway topic (SenML with ``bn``, a LoRaWAN network server's application topic) names the
gateway, not the devices: the devices are named inside the payload. When such a payload is
refused, whether it holds a care device's readings can only be told from those names, so
``candidate_refs`` lists every short string in it (and each with its trailing SenML
separator, or its last ``/``/``:`` level, removed). The caller looks them up in the
registry. Bounded: a hostile payload cannot make this slow.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

__all__ = ["candidate_refs"]

#: at most this many strings are taken from a payload, each at most this long
MAX_NAMES, MAX_NAME_CHARS = 256, 200
_SEPARATORS = ":/.-_"


def _strings(value: object, depth: int = 0) -> Iterator[str]:
    if depth > 8:
        return
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item, depth + 1)


def candidate_refs(payload: bytes) -> list[str]:
    """Strings in a JSON payload that could be a device's ref; [] for anything else."""
    try:
        data = json.loads(payload)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return []
    out: dict[str, None] = {}
    for text in _strings(data):
        if len(out) >= MAX_NAMES:
            break
        if not text or len(text) > MAX_NAME_CHARS:
            continue
        out[text] = None
        out[text.rstrip(_SEPARATORS)] = None
        for sep in ("/", ":"):
            head, found, _tail = text.rpartition(sep)
            if found and head:
                out[head] = None
    out.pop("", None)
    return list(out)
