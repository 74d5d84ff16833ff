"""Who is asking and what they may do: users, roles, tokens, web sessions and the audit log.

Names are imported lazily so ``kommunvakt --help`` and other commands do not pay for FastAPI.
"""

from __future__ import annotations

from typing import Any

__all__ = ["AccessDenied", "Principal", "RequireUser", "current_principal", "web_principal"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from access import auth

        return getattr(auth, name)
    raise AttributeError(name)
