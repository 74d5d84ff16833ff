"""Swedish personal identity numbers in free text: recognised by their digits, not their shape.

A personnummer is a date (YYMMDD, or YYYYMMDD with the century) and four digits, the last a
Luhn check digit over the ten digits without the century; a samordningsnummer adds 60 to the
day. People write them with every separator a keyboard has ("19121212.1212",
"1912-12-12-1212", "19 12 12 1212", "121212 - 1212"), so the recogniser reads text as runs
of digits joined by short runs of punctuation or spaces and tries every stretch of those runs
that holds 10 or 12 digits. Three rules keep ordinary numbers out:

- separators may only fall between the parts of the number (century, year, month, day,
  serial), so a phone number grouped as "070-123 45 67" is never read as one;
- the date must exist (29 February only in leap years when the century is given);
- where the digits could as well be something else (a run without separators such as a phone
  number "0701234567", or one break other than the official "-" / "+" before the serial) the
  Luhn check digit must match. The official form (YYMMDD-NNNN, YYMMDD+NNNN, YYYYMMDD-NNNN) and
  a visibly grouped date ("19 12 12 1212", "1912-12-12-1212") are refused whatever the check
  digit: a mistyped number is still somebody's number.

``refuse_identity_number`` is the one validator every stored free-text field goes through;
``FreeText`` applies it inside pydantic models and FastAPI forms (a 422 with the reason).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Annotated

from pydantic import AfterValidator, ValidationInfo

__all__ = [
    "REFUSAL",
    "FreeText",
    "looks_like_personnummer",
    "luhn_ok",
    "refuse_identity_number",
]

REFUSAL = (
    "ser ut att innehålla ett personnummer eller samordningsnummer; skriv utan det / "
    "looks like it holds a personal identity number; leave it out"
)

# A digit run, then (separator run, digit run) pairs. A separator run is 1-3 characters that
# are neither letters nor digits: "121212 - 1212" has three.
_TOKENS = re.compile(r"[0-9]+|(?:[^\w]|_){1,3}|.", re.DOTALL)
_SEPARATOR = re.compile(r"(?:[^\w]|_){1,3}")
# Where a separator may fall inside the number: after YY, MM and DD (10 digits); after CC,
# YY, MM and DD (12 digits).
_BREAKS = {10: frozenset({2, 4, 6}), 12: frozenset({2, 4, 6, 8})}
_CENTURIES = ("18", "19", "20")


def luhn_ok(digits: str) -> bool:
    """The Luhn (mod 10) check over a string of digits, the last one the check digit."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2 == 1:
            n *= 2
            if n > 9:
                n -= 9
        total += n
    return total % 10 == 0


def _plausible_date(digits: str) -> bool:
    """``digits`` is YYMMDDNNNN or CCYYMMDDNNNN: a real date, day + 60 allowed."""
    if len(digits) == 12:
        if digits[:2] not in _CENTURIES:
            return False
        year = int(digits[:4])
        rest = digits[4:]
    else:
        year = 2000  # a leap year: 29 February stays possible without a century
        rest = digits[2:]
    month, day = int(rest[:2]), int(rest[2:4])
    if day > 60:  # samordningsnummer
        day -= 60
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def _is_number(digits: str, breaks: tuple[int, ...], separators: tuple[str, ...]) -> bool:
    if len(digits) not in _BREAKS or not set(breaks) <= _BREAKS[len(digits)]:
        return False
    if not _plausible_date(digits):
        return False
    official = breaks == (len(digits) - 4,) and separators in (("-",), ("+",))
    grouped_date = len(breaks) >= 2
    return official or grouped_date or luhn_ok(digits[-10:])


def looks_like_personnummer(text: str) -> bool:
    # NFKC turns full-width and other compatibility digits into ASCII ones
    text = unicodedata.normalize("NFKC", text)
    groups: list[list[tuple[str, str]]] = []  # chains of (separator before, digit run)
    chain: list[tuple[str, str]] = []
    pending: str | None = None
    for token in _TOKENS.findall(text):
        if token.isdigit() and token.isascii():
            if chain and pending is not None:
                chain.append((pending, token))
            else:
                if chain:
                    groups.append(chain)
                chain = [("", token)]
            pending = None
        elif chain and pending is None and _SEPARATOR.fullmatch(token):
            pending = token
        else:
            if chain:
                groups.append(chain)
            chain, pending = [], None
    if chain:
        groups.append(chain)
    return any(_chain_holds_number(c) for c in groups)


def _chain_holds_number(chain: list[tuple[str, str]]) -> bool:
    for start in range(len(chain)):
        digits = ""
        breaks: list[int] = []
        separators: list[str] = []
        for end in range(start, len(chain)):
            sep, run = chain[end]
            if end > start:
                breaks.append(len(digits))
                separators.append(sep)
            digits += run
            if len(digits) > 12:
                break
            if len(digits) in _BREAKS and _is_number(digits, tuple(breaks), tuple(separators)):
                return True
    return False


def refuse_identity_number(value: str, field: str = "text") -> str:
    """``value`` unchanged, or ``ValueError`` naming the field and what to do instead."""
    if looks_like_personnummer(value):
        raise ValueError(f"{field}: {REFUSAL}")
    return value


def _checked(value: str, info: ValidationInfo) -> str:
    return refuse_identity_number(value, info.field_name or "text")


#: a str that people type and the platform stores: refused (422) when it holds a number
FreeText = Annotated[str, AfterValidator(_checked)]
