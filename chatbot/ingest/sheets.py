"""Spreadsheets (CSV, XLSX) -> one Page per sheet holding one Table (first row = header)."""

from __future__ import annotations

import io
from pathlib import Path

from ..config import MAX_CELL_CHARS, MAX_TABLE_CELLS, MAX_WORKBOOK_CELLS
from ..messages import UserError, msg
from .documents import Page, Progress, short_error, sniff
from .tables import cell_text, make_table


def sheet_page(number: int, title: str, raw_rows: list[list], typed: bool) -> Page | None:
    """One sheet -> a Page with one Table (first non-empty row = header); None if no data rows.

    typed: the cells are already numbers/dates (XLSX); CSV cells are text to be inferred.
    """
    rows = [list(r) for r in raw_rows if any(cell_text(c) for c in r)]
    if len(rows) < 2:
        return None
    cut = sum(isinstance(c, str) and len(c) > MAX_CELL_CHARS for r in rows for c in r)
    if cut:  # one huge cell must not become a megabyte prompt or stream
        rows = [
            [
                c[:MAX_CELL_CHARS] + "…" if isinstance(c, str) and len(c) > MAX_CELL_CHARS else c
                for c in r
            ]
            for r in rows
        ]
    width = max(max((i + 1 for i, c in enumerate(r) if cell_text(c)), default=0) for r in rows)
    rows = [(r + [None] * width)[:width] for r in rows]
    table = make_table(number, rows[0], rows[1:], title=title, values=rows[1:] if typed else None)
    text = f"Sheet '{title}': {len(rows) - 1} rows x {width} columns." + (
        f" {cut} cells longer than {MAX_CELL_CHARS:,} characters were cut (MAX_CELL_CHARS)."
        if cut
        else ""
    )
    return Page(number=number, text=text, tables=[table], label=title)


def cells_error(name: str, sheet: str, cells: int) -> UserError:
    return UserError(
        "sheet.too_many_cells", name=name, sheet=sheet, cells=cells, limit=MAX_TABLE_CELLS
    )


def no_rows_error(name: str) -> UserError:
    return UserError("sheet.no_rows", name=name)


def read_csv(data: bytes, name: str, progress: Progress | None = None) -> list[Page]:
    """A CSV -> one Page with one Table; progress is not reported (one step)."""
    import csv

    what = sniff(data)
    if what or b"\x00" in data[:4096]:
        raise UserError("csv.not_text", name=name, what=what or msg("word.binary_data"))
    for encoding in ("utf-8-sig", "cp949", "latin-1"):  # cp949: Korean Excel's CSV export
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    try:
        dialect = csv.Sniffer().sniff(text[:8192], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    rows, cells = [], 0
    try:
        for row in csv.reader(io.StringIO(text), dialect):
            cells += len(row)
            if cells > MAX_TABLE_CELLS:
                raise cells_error(name, Path(name).stem, cells)
            rows.append(row)
    except csv.Error as e:
        raise UserError("csv.unreadable", name=name, error=short_error(e)) from e
    page = sheet_page(1, Path(name).stem, rows, typed=False)
    if page is None:
        raise no_rows_error(name)
    return [page]


def read_xlsx(data: bytes, name: str, progress: Progress | None = None) -> list[Page]:
    """An XLSX -> one Page per sheet with data; progress is not reported (one step)."""
    if not data.startswith(b"PK\x03\x04"):
        what = sniff(data) or msg("word.not_a_workbook")
        raise UserError("xlsx.not_xlsx", name=name, what=what)
    from openpyxl import load_workbook

    try:
        # data_only: cached formula results (a file never opened in Excel has none: cells empty)
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as e:
        raise UserError("xlsx.unreadable", name=name, error=short_error(e)) from e
    pages, total = [], 0
    try:
        for number, ws in enumerate(wb.worksheets, start=1):
            if getattr(ws, "max_row", None) and getattr(ws, "max_column", None):
                declared = ws.max_row * ws.max_column  # checked before reading any row
                if declared > MAX_TABLE_CELLS:
                    raise cells_error(name, ws.title, declared)
            if hasattr(ws, "reset_dimensions"):
                # the header's declared size may lie: read what the sheet holds
                ws.reset_dimensions()
            rows, cells = [], 0
            for row in ws.iter_rows(values_only=True):
                cells += len(row)
                if cells > MAX_TABLE_CELLS:
                    raise cells_error(name, ws.title, cells)
                if total + cells > MAX_WORKBOOK_CELLS:
                    raise UserError("xlsx.too_many_cells", name=name, limit=MAX_WORKBOOK_CELLS)
                rows.append(row)
            total += cells
            page = sheet_page(number, ws.title, rows, typed=True)
            if page is not None:
                pages.append(page)
    finally:
        wb.close()
    if not pages:
        raise no_rows_error(name)
    return pages
