"""Secrets refused at start: empty or placeholder values outside demo mode.

A platform that starts with ``changeme`` as its broker password is worse than one that does
not start: the operator must see the one-line reason at once. Only whole values that are
known placeholders are refused (a short list), plus empty ones; demo mode (``--simulate``)
allows them. Nothing here logs or returns a secret's value, only the setting's name.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

__all__ = ["PLACEHOLDERS", "is_placeholder", "secret_problems"]

PLACEHOLDERS = frozenset(
    {
        "changeme",
        "change-me",
        "change_me",
        "changethis",
        "change-this",
        "placeholder",
        "secret",
        "password",
        "passwd",
        "xxx",
        "xxxx",
        "todo",
        "none",
        "null",
        "admin",
        "default",
    }
)

# settings that are a secret as a whole, and settings that are URLs carrying one
_SECRET_FIELDS = ("admin_token", "influx_token", "oidc_client_secret")
_URL_FIELDS = ("mqtt_url", "database_url", "dynsec_url")


def is_placeholder(value: str) -> bool:
    v = value.strip().lower()
    return not v or v in PLACEHOLDERS or (v.startswith("<") and v.endswith(">"))


def _value(obj: Any, name: str) -> str | None:
    raw = getattr(obj, name, None)
    if raw is None:
        return None
    return str(raw.get_secret_value() if hasattr(raw, "get_secret_value") else raw)


def secret_problems(settings: Any) -> list[str]:
    """The names of secrets that are empty or placeholders (none in demo mode)."""
    if getattr(settings, "demo", False):
        return []
    problems: list[str] = []
    for name in _SECRET_FIELDS:
        value = _value(settings, name)
        if value is not None and is_placeholder(value):
            problems.append(f"{name} is empty or a placeholder")
    for name in _URL_FIELDS:
        value = _value(settings, name)
        if value is None:
            continue
        try:
            password = urlsplit(value).password
        except ValueError:
            continue  # the setting's own validation reports a malformed URL
        if password is not None and is_placeholder(unquote(password)):
            problems.append(f"{name} carries an empty or placeholder password")
    for i, url in enumerate(getattr(settings, "notify_urls", None) or []):
        value = str(url.get_secret_value() if hasattr(url, "get_secret_value") else url)
        try:
            password = urlsplit(value).password
        except ValueError:
            continue
        if password is not None and is_placeholder(unquote(password)):
            problems.append(f"notify_urls[{i}] carries an empty or placeholder password")
    return problems
