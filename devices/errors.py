"""Errors of the devices package; the API maps them to 4xx with the message as the reason."""

from __future__ import annotations

__all__ = ["Conflict", "Invalid", "NotFound", "RegistryError"]


class RegistryError(Exception):
    """Root of the registry's errors."""


class NotFound(RegistryError):
    """A device, site or place that does not exist."""


class Conflict(RegistryError):
    """A duplicate id or external ref."""


class Invalid(RegistryError):
    """Input the registry cannot take (an unknown type, say)."""
