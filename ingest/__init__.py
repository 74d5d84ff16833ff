"""Decoding, validation and storage of readings.

Decoders are pure: ``decode(topic, payload, received_at) -> Decoded`` or ``DecodeError`` with a
reason. Stores take batches of ``StoredReading`` and acknowledge nothing they did not write.
"""

from devices.reading import CANONICAL_UNITS, Decoded, Reading
from ingest.errors import DecodeError, IngestError, StoreError
from ingest.formats import DECODERS, DEFAULT_TOPICS, FormatRouter

__all__ = [
    "CANONICAL_UNITS",
    "DECODERS",
    "DEFAULT_TOPICS",
    "DecodeError",
    "Decoded",
    "FormatRouter",
    "IngestError",
    "Reading",
    "StoreError",
]
