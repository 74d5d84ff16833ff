"""Errors of the ingest package.

``IngestError`` is the root. ``DecodeError`` carries a one-line reason a technician can act on;
the pipeline turns it into a dead letter. ``StoreError`` means a reading store could not take a
batch; the pipeline spools or retries and never acknowledges what was not stored.
"""

from __future__ import annotations

__all__ = ["DecodeError", "IngestError", "StoreError", "StoreRejected"]


class IngestError(Exception):
    """Root of the ingest package's errors."""


class DecodeError(IngestError):
    """A payload was rejected; ``str(exc)`` is the reason."""


class StoreError(IngestError):
    """A reading store failed to write or read."""


class StoreRejected(StoreError):
    """The store refused the data itself (a malformed point, a field type conflict): sending
    the same batch again cannot succeed, unlike an outage."""
