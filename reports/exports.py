"""Tables for finance and managers to open in Excel: CSV and XLSX from headers and rows, nothing domain-specific.

``csv_bytes`` writes UTF-8 with a byte-order mark (without it Excel reads the file in the
system's code page and garbles Chinese) and guards against formula injection: a text cell that
Excel would take for a formula (starting with ``=``, ``+``, ``-`` or ``@``, or with a tab or a
carriage return, as OWASP advises) gets a leading apostrophe, so a payer's name such as
``=HYPERLINK(…)`` is shown, never run. Numbers (int, float, Decimal) are written as numbers and
are not touched, negative ones included: pass amounts as numbers, not as preformatted text.

``xlsx_bytes`` (one sheet) and ``workbook_bytes`` (a sheet per table) keep types: ints, floats and
Decimals stay numbers, dates and datetimes become Excel dates (an aware datetime is shown in ``tz``,
the business time zone unless told otherwise, as Excel has no time zones). Text is always stored as
text, never as a formula, and keeps its exact value; text that looks like a formula is marked with
Excel's quote prefix (the invisible "'"), so editing the cell does not turn it into one either.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell, WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from models.business_time import BUSINESS_TZ

BOM = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
DATE_FORMAT = "yyyy-mm-dd"
# Excel's limits: 31 characters and none of []:*?/\ in a sheet title; column widths in characters.
_TITLE_FORBIDDEN = str.maketrans({ch: "_" for ch in "[]:*?/\\"})
MIN_WIDTH, MAX_WIDTH = 6, 60


def safe_text(value: str) -> str:
    """A text cell Excel will show rather than evaluate."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def csv_bytes(headers: Sequence[str], rows: Iterable[Sequence[Any]], *, tz: dt.tzinfo = BUSINESS_TZ) -> bytes:
    """The table as CSV: UTF-8 with BOM, CRLF line ends, formula-looking text neutralised.
    None is an empty cell; datetimes are written ``YYYY-MM-DD HH:MM:SS`` (aware ones in ``tz``)."""
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([_csv_cell(header, tz) for header in headers])
    for row in rows:
        writer.writerow([_csv_cell(value, tz) for value in row])
    return out.getvalue().encode("utf-8")


def _csv_cell(value: Any, tz: dt.tzinfo) -> str | int | float | Decimal:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float | Decimal):
        return value
    if isinstance(value, dt.datetime):
        return _naive(value, tz).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    return safe_text(str(value))


def xlsx_bytes(headers: Sequence[str], rows: Iterable[Sequence[Any]], sheet_title: str, *,
               tz: dt.tzinfo = BUSINESS_TZ) -> bytes:
    """The table as a one-sheet workbook: bold, frozen header row, columns wide enough for
    their content (within reason), numbers as numbers, datetimes as Excel datetimes."""
    return workbook_bytes([(sheet_title, headers, rows)], tz=tz)


def workbook_bytes(sheets: Iterable[tuple[str, Sequence[str], Iterable[Sequence[Any]]]], *,
                   tz: dt.tzinfo = BUSINESS_TZ) -> bytes:
    """Several tables, (sheet title, headers, rows) each, as the sheets of one workbook, each sheet
    as ``xlsx_bytes`` makes it. Titles must stay distinct once cut to Excel's 31 characters."""
    workbook = Workbook(write_only=True)
    for title, headers, rows in sheets:
        _fill_sheet(workbook.create_sheet(_sheet_title(title)), headers, rows, tz)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _fill_sheet(sheet, headers: Sequence[str], rows: Iterable[Sequence[Any]], tz: dt.tzinfo) -> None:
    sheet.freeze_panes = "A2"
    widths = [_width(str(header)) for header in headers]
    bold = Font(bold=True)
    header_cells = []
    for header in headers:
        cell = _xlsx_cell(sheet, str(header), tz)
        cell.font = bold
        header_cells.append(cell)
    # A write-only sheet takes its column widths before the first row: measure first.
    body = [[_xlsx_cell(sheet, value, tz) for value in row] for row in rows]
    for row in body:
        for index, cell in enumerate(row):
            width = _cell_width(cell)
            if index >= len(widths):
                widths.append(width)
            elif width > widths[index]:
                widths[index] = width
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = min(max(width + 2, MIN_WIDTH), MAX_WIDTH)
    sheet.append(header_cells)
    for row in body:
        sheet.append(row)


def _xlsx_cell(sheet, value: Any, tz: dt.tzinfo) -> Cell:
    if isinstance(value, bool) or value is None or isinstance(value, int | float | Decimal):
        return WriteOnlyCell(sheet, value=value)
    if isinstance(value, dt.datetime):
        cell = WriteOnlyCell(sheet, value=_naive(value, tz))
        cell.number_format = DATETIME_FORMAT
        return cell
    if isinstance(value, dt.date):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = DATE_FORMAT
        return cell
    text = ILLEGAL_CHARACTERS_RE.sub("", str(value))
    cell = WriteOnlyCell(sheet)
    # Set as a string, never parsed: openpyxl would store text starting with "=" as a formula.
    cell._value = text
    cell.data_type = "s"
    if text.startswith(FORMULA_STARTS):
        # Excel's own "'" marker: shown as typed, and still text if someone edits the cell.
        cell.quotePrefix = True
    return cell


def _cell_width(cell: Cell) -> int:
    value = cell.value
    if value is None:
        return 0
    if isinstance(value, dt.datetime):
        return 19
    if isinstance(value, dt.date):
        return 10
    return _width(str(value))


def _width(text: str) -> int:
    """Characters as Excel measures a column: a CJK (full-width) character is about two."""
    longest = max(text.splitlines() or [""], key=len)
    return sum(2 if ord(ch) >= 0x2E80 else 1 for ch in longest)


def _naive(moment: dt.datetime, tz: dt.tzinfo) -> dt.datetime:
    return moment.astimezone(tz).replace(tzinfo=None) if moment.tzinfo else moment


def _sheet_title(title: str) -> str:
    cleaned = title.translate(_TITLE_FORBIDDEN).strip("'")[:31]
    return cleaned or "Sheet1"
