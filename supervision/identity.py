"""Pseudonymous labels: what the platform may know about a resident, and what it refuses.

A resident is a display label ("Lgh 12B, A.K.") and a care unit, nothing more. Personal
identity numbers (personnummer, samordningsnummer) are refused wherever free text enters the
supervision data: labels, notes, consent parties, staff ids. The recogniser is the platform's
one (``core.identity_numbers``): by the digits, the date and the check digit, whatever the
separators.
"""

from __future__ import annotations

import re

from core.identity_numbers import REFUSAL, looks_like_personnummer

__all__ = ["looks_like_personnummer", "safe_label", "safe_note"]

_LABEL = re.compile(r"^[\w .,:;/()'\-#åäöÅÄÖ]{1,80}$")


def safe_label(text: str, *, field: str = "label") -> str:
    """A stripped label, or ``ValueError`` with a reason a person can act on."""
    value = " ".join(text.split())
    if not value:
        raise ValueError(f"{field} is empty")
    if looks_like_personnummer(value):
        raise ValueError(f'{field}: {REFUSAL}; use a pseudonymous label such as "Lgh 12B, A.K."')
    if not _LABEL.match(value):
        raise ValueError(f"{field} may hold letters, digits, spaces and . , : ; / ( ) ' - # only")
    return value


def safe_note(text: str | None, *, field: str = "note", limit: int = 200) -> str | None:
    if text is None:
        return None
    value = " ".join(text.split())[:limit]
    if not value:
        return None
    if looks_like_personnummer(value):
        raise ValueError(f"{field}: {REFUSAL}")
    return value
