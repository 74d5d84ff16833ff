"""Errors of the gateway: each one is a one-line reason the CLI prints without a traceback."""

from __future__ import annotations

__all__ = ["BrokerStartError", "GatewayError"]


class GatewayError(Exception):
    """Root of the gateway's errors."""


class BrokerStartError(GatewayError):
    """The embedded broker could not start (a port in use, say)."""
