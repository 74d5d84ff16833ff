"""Pseudonymous labels: what the platform may know about a resident, and what it refuses.

A resident is a display label ("Lgh 12B, A.K.") and a care unit, nothing more. Personal
identity numbers (personnummer, samordningsnummer) are refused wherever free text enters the
supervision data: labels, notes, consent parties, staff ids. The check is deliberately broad:
any 10 or 12 digits in the shape YYMMDD-NNNN / YYYYMMDDNNNN with a plausible date is refused,
with or without a valid Luhn check digit, because a mistyped number is still a number.
"""

from __future__ import annotations

import re
from datetime import date

__all__ = ["looks_like_personnummer", "safe_label", "safe_note"]

# YYMMDD or YYYYMMDD, optional - or + separator, then 4 digits; not inside a longer number.
_PNR = re.compile(r"(?<!\d)(?:(?:19|20)?\d{2})(\d{2})(\d{2})[-+ ]?\d{4}(?!\d)")
_LABEL = re.compile(r"^[\w .,:;/()'\-#åäöÅÄÖ]{1,80}$")


def looks_like_personnummer(text: str) -> bool:
    for match in _PNR.finditer(text):
        month, day = int(match.group(1)), int(match.group(2))
        # samordningsnummer add 60 to the day
        if day > 60:
            day -= 60
        if 1 <= month <= 12 and 1 <= day <= 31:
            try:
                date(2000, month, day)  # leap year: accepts 29 Feb
            except ValueError:
                continue
            return True
    return False


def safe_label(text: str, *, field: str = "label") -> str:
    """A stripped label, or ``ValueError`` with a reason a person can act on."""
    value = " ".join(text.split())
    if not value:
        raise ValueError(f"{field} is empty")
    if looks_like_personnummer(value):
        raise ValueError(
            f"{field} looks like a personal identity number; use a pseudonymous label "
            'such as "Lgh 12B, A.K."'
        )
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
        raise ValueError(f"{field} looks like it holds a personal identity number; leave it out")
    return value
