"""Who is asking and what they may do: users, roles, tokens, web sessions and the audit log."""

from access.auth import AccessDenied, Principal, RequireUser, current_principal, web_principal

__all__ = ["AccessDenied", "Principal", "RequireUser", "current_principal", "web_principal"]
