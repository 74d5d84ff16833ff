"""Who is asking: API bearer tokens and web sessions, roles and (later) the audit log."""

from access.auth import Principal, RequireUser, current_principal, web_principal

__all__ = ["Principal", "RequireUser", "current_principal", "web_principal"]
