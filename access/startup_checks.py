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


def is_placeholder(value: str) -> bool:
    v = value.strip().lower()
    return not v or v in PLACEHOLDERS or (v.startswith("<") and v.endswith(">"))


def _secrets(value: Any, path: str) -> list[tuple[str, str]]:
    """Every SecretStr in the settings, nested models and lists included, with its path."""
    if hasattr(value, "get_secret_value"):
        return [(path, str(value.get_secret_value()))]
    found: list[tuple[str, str]] = []
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            found += _secrets(item, f"{path}[{i}]")
    elif hasattr(type(value), "model_fields"):
        for name in type(value).model_fields:
            found += _secrets(getattr(value, name, None), f"{path}.{name}" if path else name)
    elif isinstance(value, dict):
        for key, item in value.items():
            found += _secrets(item, f"{path}.{key}")
    return found


def secret_problems(settings: Any) -> list[str]:
    """The names of secrets that are empty or placeholders (none in demo mode).

    Every ``SecretStr`` setting is looked at, nested ones too: a value with ``://`` is a URL
    whose password is checked, anything else is checked as a whole.
    """
    if getattr(settings, "demo", False):
        return []
    problems: list[str] = []
    for name, value in _secrets(settings, ""):
        if "://" in value:
            try:
                password = urlsplit(value).password
            except ValueError:
                continue  # the setting's own validation reports a malformed URL
            if password is not None and is_placeholder(unquote(password)):
                problems.append(f"{name} carries an empty or placeholder password")
        elif is_placeholder(value):
            problems.append(f"{name} is empty or a placeholder")
    return problems
