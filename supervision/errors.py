"""Errors of the supervision package.

``SupervisionError`` is the root. ``NotFound`` (404), ``Forbidden`` (403: the principal is not
assigned to the care unit), ``Invalid`` (422: a rejected input, with a reason a person can act
on), ``ConsentMissing`` (409: no schedule may run without recorded consent) and
``StateError`` (409: the check's status does not allow the action). HTTP codes are given only
in the API's exception handlers (``supervision.api.install_handlers``).
"""

from __future__ import annotations

__all__ = [
    "CameraPayloadRejected",
    "ConsentMissing",
    "Forbidden",
    "Invalid",
    "NotFound",
    "StateError",
    "SupervisionError",
]


class SupervisionError(Exception):
    """Root of the supervision package's errors."""


class NotFound(SupervisionError):
    pass


class Forbidden(SupervisionError):
    pass


class Invalid(SupervisionError):
    pass


class ConsentMissing(SupervisionError):
    pass


class StateError(SupervisionError):
    pass


class CameraPayloadRejected(SupervisionError):
    """A camera-check message was refused; ``str(exc)`` is the reason (never the payload)."""
