"""Bounded types for what the API takes from a URL: ids, offsets, moments and months.

Python's ints and datetimes are wider than what SQLite, PostgreSQL and the time-zone
arithmetic accept: an id of 20 digits overflows the database's 64-bit integer, and
``9999-12-31T23:59:59-14:00`` overflows when it is turned into UTC. These types refuse such
values at the boundary (a 422 with the reason, and the bounds in the OpenAPI schema) so that
they never reach a query or a conversion.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from annotated_types import Ge, Le
from pydantic import AfterValidator

__all__ = [
    "EARLIEST",
    "LATEST",
    "MAX_ID",
    "MAX_OFFSET",
    "DbId",
    "Moment",
    "Offset",
    "check_moment",
    "check_year",
]

MAX_ID = 2**63 - 1  # a signed 64-bit integer: SQLite's and PostgreSQL's bigint
MAX_OFFSET = 1_000_000_000
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2199, 12, 31, 23, 59, 59, tzinfo=UTC)
_DAY = timedelta(days=1)  # room for any UTC offset at either end


def check_year(year: int) -> int:
    if not EARLIEST.year <= year <= LATEST.year:
        raise ValueError(f"year {year} is out of range: {EARLIEST.year}-{LATEST.year}")
    return year


def check_moment(value: datetime) -> datetime:
    """``value`` unchanged when it lies between 1970 and 2199 (a naive one keeps the meaning
    its route gives it, UTC or local time); a ValueError otherwise."""
    # the year is checked before any arithmetic: converting year 9999 at -14:00 overflows
    check_year(value.year)
    utc = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if not EARLIEST - _DAY <= utc <= LATEST + _DAY:
        raise ValueError(f"time is out of range: {EARLIEST:%Y-%m-%d} to {LATEST:%Y-%m-%d}")
    return value


#: a row id in the database: 1 .. 2**63-1
DbId = Annotated[int, Ge(1), Le(MAX_ID)]
#: an offset into a list: 0 .. 10**9
Offset = Annotated[int, Ge(0), Le(MAX_OFFSET)]
#: a moment between 1970 and 2199
Moment = Annotated[datetime, AfterValidator(check_moment)]
