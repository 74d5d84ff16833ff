"""CSV that a spreadsheet opens as data, never as formulas (CSV/formula injection).

Excel, LibreOffice and Google Sheets evaluate a cell that starts with ``=``, ``+``, ``-`` or
``@`` (and, in some versions, tab or carriage return) as a formula, which can run commands
(DDE) or send the sheet's content away in a link. Device names, places, notes, alert texts and
audit targets are typed by people, some of them by anyone who can reach the sign-in page, so
every exported cell goes through ``formula_safe``: OWASP's advice, a single quote in front,
which the spreadsheet shows but does not evaluate. A cell that is a plain decimal number
("-3,5", "-12", "4.0") is left alone so that negative temperatures stay numbers.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from datetime import date, datetime

__all__ = ["Cell", "formula_safe", "write_csv"]

Cell = str | int | float | date | datetime | None

_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")
# A whole cell that is only a number: the spreadsheet reads it as a number, not a formula.
_NUMBER = re.compile(r"-?[0-9]+(?:[.,][0-9]+)?")


def formula_safe(value: Cell) -> str:
    """The cell's text, with a leading ``'`` when a spreadsheet would take it for a formula."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    text = str(value)
    # leading spaces do not stop every spreadsheet from reading a formula
    if text.lstrip(" ").startswith(_TRIGGERS) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


def write_csv(
    rows: Iterable[Iterable[Cell]], *, delimiter: str = ",", lineterminator: str = "\r\n"
) -> str:
    """Every row, every cell through ``formula_safe``; quoting as the csv module does it."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=delimiter, lineterminator=lineterminator)
    for row in rows:
        writer.writerow([formula_safe(cell) for cell in row])
    return out.getvalue()
