"""Documents (PDF, CSV, XLSX) -> pages of text and tables, page numbers kept for citations.

PDFs are read with PyMuPDF (AGPL-3.0: a service built on it must offer its source).
Per page: text in reading order without the text of the tables found on it, the tables
as markdown (for the LLM) and as a DataFrame, and OCR only where the page has no text
layer (a scan). A spreadsheet becomes one Page per sheet holding one Table.

Parsed documents are cached by the sha256 of the file's bytes: the same file uploaded
again (by anyone, under any name) is not parsed again. Pages and tables are shared
between cache hits, so treat them as read-only.
"""
from __future__ import annotations

import hashlib
import io
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

from ..config import (DOCUMENT_EXTENSIONS, INGEST_CACHE_DOCUMENTS, MAX_FILE_MB, MAX_IMAGE_PIXELS,
                      MAX_OCR_PAGES, MAX_PDF_PAGES, MAX_TABLE_CELLS, OCR_DPI, OCR_MIN_TEXT_CHARS,
                      TABLE_USE_LAYOUT)
from ..conversation import UserError

Progress = Callable[[int, int], None]   # (pages done, pages in total)


# ---- what ingestion produces ---------------------------------------------------------

@dataclass
class Table:
    page: int                      # 1-based page (or sheet) number
    markdown: str                  # header + rows as a markdown table, for the LLM
    df: Any                        # pandas.DataFrame, numbers as numbers where a column allows
    header: list[str]
    rows: list[list[str]] = field(default_factory=list)   # the cells as shown in markdown
    title: str = ""                # sheet name for spreadsheets

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.rows), len(self.header)


@dataclass
class Page:
    number: int                    # 1-based
    text: str                      # reading order; text inside tables is left to `tables`
    tables: list[Table] = field(default_factory=list)
    ocr: bool = False              # text was read by OCR from a rendered scan
    label: str = ""                # sheet name for spreadsheets, "" for PDF pages

    @property
    def n_chars(self) -> int:
        return len(self.text) + sum(len(t.markdown) for t in self.tables)


@dataclass
class Document:
    name: str                      # file name as uploaded
    path: str                      # local copy (render_page reads it)
    sha256: str
    kind: str                      # "pdf" | "table"
    pages: list[Page]

    @property
    def n_chars(self) -> int:
        return sum(p.n_chars for p in self.pages)

    @property
    def tables(self) -> list[Table]:
        return [t for p in self.pages for t in p.tables]

    def summary(self) -> str:
        """One line for the chat's status step, e.g. 'report.pdf: PDF, 12 pages, 3 tables, ...'."""
        if self.kind == "pdf":
            parts = [f"PDF, {_plural(len(self.pages), 'page')}",
                     _plural(len(self.tables), "table")]
            ocr = sum(p.ocr for p in self.pages)
            if ocr:
                parts.append(f"{_plural(ocr, 'page')} read by OCR")
        else:
            sheets = ", ".join(f"{t.title} {t.shape[0]}x{t.shape[1]}" for t in self.tables)
            parts = [f"{_plural(len(self.tables), 'sheet')} ({sheets})"]
        return f"{self.name}: {', '.join(parts)}, {self.n_chars:,} characters"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


# ---- cache by content hash -----------------------------------------------------------

_cache: OrderedDict[tuple[str, str], Document] = OrderedDict()
_cache_lock = threading.Lock()


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()


def ingest_document(path: str, name: str | None = None,
                    progress: Progress | None = None) -> Document:
    """Parse a PDF, CSV or XLSX (by extension) into a Document; UserError says what is wrong."""
    path = str(path)
    name = name or Path(path).name
    ext = Path(name).suffix.lower() or Path(path).suffix.lower()
    if ext not in DOCUMENT_EXTENSIONS:
        raise UserError(f"{name}: '{ext or 'no extension'}' files are not supported as documents; "
                        f"upload one of {', '.join(DOCUMENT_EXTENSIONS)}.")
    data = Path(path).read_bytes()
    if not data:
        raise UserError(f"{name} is empty (0 bytes). Upload the file again; it may not have "
                        f"finished downloading.")
    if len(data) > MAX_FILE_MB * 1024 * 1024:
        raise UserError(f"{name} is {len(data) / 2**20:.1f} MB; the limit is {MAX_FILE_MB} MB "
                        f"per file. Split it or remove images from it.")
    key = (hashlib.sha256(data).hexdigest(), ext)
    with _cache_lock:
        cached = _cache.get(key)
        if cached is not None:
            _cache.move_to_end(key)
    if cached is not None:
        if progress:
            progress(len(cached.pages), len(cached.pages))
        return replace(cached, name=name, path=path)   # same pages, this upload's name

    if ext == ".pdf":
        kind, pages = "pdf", _read_pdf(data, name, progress)
    elif ext == ".csv":
        kind, pages = "table", _read_csv(data, name)
    else:
        kind, pages = "table", _read_xlsx(data, name)
    doc = Document(name=name, path=path, sha256=key[0], kind=kind, pages=pages)
    with _cache_lock:
        _cache[key] = doc
        while len(_cache) > INGEST_CACHE_DOCUMENTS:
            _cache.popitem(last=False)
    return doc


# ---- PDF -------------------------------------------------------------------------------

# Leading bytes of formats people rename to .pdf/.xlsx/.csv by mistake.
_MAGIC = [
    (b"\x89PNG\r\n\x1a\n", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"), (b"II*\x00", "a TIFF image"), (b"MM\x00*", "a TIFF image"),
    (b"%PDF-", "a PDF"), (b"PK\x03\x04", "a ZIP archive (an Office file such as .docx/.xlsx?)"),
    (b"\xd0\xcf\x11\xe0", "an old Office file (.doc/.xls)"), (b"{\\rtf", "an RTF document"),
]


def _sniff(data: bytes) -> str | None:
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "a WebP image"
    return next((what for magic, what in _MAGIC if data.startswith(magic)), None)


def _read_pdf(data: bytes, name: str, progress: Progress | None) -> list[Page]:
    import pymupdf

    if b"%PDF-" not in data[:1024]:   # the spec allows junk before the header, within 1 KB
        what = _sniff(data) or "not a PDF"
        hint = ("Upload it as an image instead." if "image" in what
                else "Export or save it as a PDF and upload that.")
        raise UserError(f"{name} is not a PDF: its contents are {what}. {hint}")
    try:
        doc = pymupdf.open(stream=data, filetype="pdf")
    except Exception as e:
        raise UserError(f"{name} could not be read: the PDF is damaged ({_short(e)}). "
                        f"Open it in a PDF viewer and save or print it to a new PDF.") from e
    try:
        if doc.needs_pass:
            raise UserError(f"{name} is password-protected. Remove the password (for example "
                            f"print it to a new PDF) and upload it again.")
        # MuPDF silently repairs a file cut short and returns whatever pages survived;
        # the missing end marker tells a truncated upload from a merely untidy PDF.
        if doc.is_repaired and b"%%EOF" not in data[-2048:]:
            raise UserError(f"{name} looks truncated: the file ends before the PDF's end "
                            f"marker, so pages may be missing. Upload the complete file.")
        total = doc.page_count
        if total == 0:
            raise UserError(f"{name} has no pages.")
        if total > MAX_PDF_PAGES:
            raise UserError(f"{name} has {total} pages; the limit is {MAX_PDF_PAGES} pages per "
                            f"PDF. Split it into parts of at most {MAX_PDF_PAGES} pages.")
        if total > MAX_OCR_PAGES:  # refuse a long scan at once instead of after minutes of OCR
            scanned = sum(len(doc[i].get_text().strip()) < OCR_MIN_TEXT_CHARS for i in range(total))
            if scanned > MAX_OCR_PAGES:
                raise UserError(f"{name} has {scanned} scanned pages without a text layer; the limit "
                                f"is {MAX_OCR_PAGES} (MAX_OCR_PAGES), as OCR takes about 1.5 s a page "
                                f"here. Upload the pages you need, or a PDF with a text layer.")
        pages = []
        for index in range(total):
            try:
                pages.append(_read_pdf_page(doc[index], index + 1))
            except UserError:
                raise
            except Exception as e:
                raise UserError(f"{name}: page {index + 1} could not be read; the PDF is "
                                f"damaged ({_short(e)}). Save or print it to a new PDF.") from e
            if progress:
                progress(index + 1, total)
    finally:
        doc.close()
    if not any(p.n_chars for p in pages):
        raise UserError(f"{name} contains no text: its pages are blank, or they are scans in "
                        f"which OCR found nothing legible.")
    return pages


def _short(e: Exception) -> str:
    return (str(e) or type(e).__name__).splitlines()[0][:120]


def _read_pdf_page(page, number: int) -> Page:
    tables, boxes = _find_tables(page, number)
    text, layer_chars = _page_text(page, boxes)
    ocr = False
    if layer_chars < OCR_MIN_TEXT_CHARS and not tables and _has_ink(page):
        from .ocr import ocr_image   # only scans pay for OCR (about 1.5 s a page on 2 cores)
        read = ocr_image(_pixmap_image(page, OCR_DPI))
        if len(read.strip()) > len(text.strip()):
            text, ocr = read, True
    return Page(number=number, text=_tidy(text), tables=tables, ocr=ocr)


def _find_tables(page, number: int) -> tuple[list[Table], list]:
    """Ruled tables on the page, and the boxes whose text belongs to them."""
    import pymupdf
    rulings = _ruling_box(page)
    if rulings is None:   # "lines" tables need drawn lines: skip the 10-40 ms search
        return [], []
    # Clip to the drawings (plus room for a header line above them): find_tables turns
    # every character in its area into a Python dict, the page's prose included.
    clip = pymupdf.Rect(rulings.x0 - 2, rulings.y0 - 24, rulings.x1 + 2, rulings.y1 + 2)
    found = page.find_tables(clip=clip, use_layout=TABLE_USE_LAYOUT).tables
    if not found:
        return [], []
    # Cell text from the page's words: Table.extract() drops every space narrower than
    # its 3 pt tolerance (all of them in 8-pt tables), and extract_cells() costs 5 ms a cell.
    words = page.get_text("words", clip=clip, sort=True)
    tables, boxes = [], []
    for tab in found:
        def texts(cells):
            return [_words_in(words, c) if c else "" for c in cells]
        rows = [texts(row.cells) for row in tab.rows]
        if tab.header.external:          # header line sits above the ruled box
            header, body = texts(tab.header.cells), rows
        else:
            header, body = (rows[0] if rows else []), rows[1:]
        body = [r for r in body if any(r)]
        if len(header) < 2 or not body:  # a framed paragraph, not a table: keep it as text
            continue
        boxes.append(tab.bbox)
        if tab.header.external:
            boxes.append(tab.header.bbox)
        tables.append(make_table(number, header, body))
    return tables, boxes


def _ruling_box(page):
    """Bounding box of the page's straight strokes and rectangles; None if there are none."""
    import pymupdf
    rects = [pymupdf.Rect(path["rect"]) for path in page.get_cdrawings()
             if any(item[0] in ("l", "re", "qu") for item in path["items"])]
    if not rects:
        return None
    box = rects[0]
    for rect in rects[1:]:
        box |= rect
    return box


def _words_in(words: list, bbox) -> str:
    """The words whose centre lies in bbox, in reading order, joined by single spaces."""
    x0, y0, x1, y1 = bbox
    return " ".join(w[4] for w in words
                    if x0 <= (w[0] + w[2]) / 2 < x1 and y0 <= (w[1] + w[3]) / 2 < y1)


def _page_text(page, boxes: list) -> tuple[str, int]:
    """Text in reading order minus lines inside `boxes`; and how much text the layer has."""
    if not boxes:
        text = page.get_text(sort=True)
        return text, len(text.strip())
    import pymupdf
    rects = [pymupdf.Rect(b) for b in boxes]
    blocks, layer_chars = [], 0
    for block in page.get_text("dict", sort=True, flags=pymupdf.TEXTFLAGS_TEXT)["blocks"]:
        kept = []
        for line in block["lines"]:
            line_text = "".join(span["text"] for span in line["spans"])
            layer_chars += len(line_text.strip())
            x0, y0, x1, y1 = line["bbox"]
            centre = pymupdf.Point((x0 + x1) / 2, (y0 + y1) / 2)
            if not any(centre in r for r in rects):
                kept.append(line_text)
        if kept:
            blocks.append("\n".join(kept))
    return "\n\n".join(blocks), layer_chars


def _has_ink(page) -> bool:
    """Anything visible at all? A tiny grey render is cheaper than inspecting images/paths."""
    import pymupdf
    pix = page.get_pixmap(dpi=18, colorspace=pymupdf.csGRAY, alpha=False)
    return min(pix.samples, default=255) < 200


def _pixmap_image(page, dpi: int):
    from PIL import Image
    pixels = page.rect.width * page.rect.height * (dpi / 72) ** 2
    if pixels > MAX_IMAGE_PIXELS:   # a poster-sized page would render gigapixels
        dpi = max(1, int(dpi * (MAX_IMAGE_PIXELS / pixels) ** 0.5))
    pix = page.get_pixmap(dpi=dpi, alpha=False)
    return Image.frombytes("RGB", (pix.width, pix.height), pix.samples)


def render_page(path: str, page_number: int, dpi: int = 72):
    """A PIL image of one page (1-based), for thumbnails and for showing a cited page."""
    import pymupdf
    with pymupdf.open(str(path)) as doc:
        if not 1 <= page_number <= doc.page_count:
            raise ValueError(f"page {page_number} is outside 1..{doc.page_count}")
        return _pixmap_image(doc[page_number - 1], dpi)


def _tidy(text: str) -> str:
    text = re.sub(r"[ \t]+\n", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


# ---- tables ------------------------------------------------------------------------------

def _cell(value) -> str:
    """One cell as single-line text (None -> '', wrapped cell text joined with spaces)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return " ".join(str(value).split())


def to_markdown(header: list[str], rows: list[list[str]]) -> str:
    def md(cell: str) -> str:
        return cell.replace("|", "\\|")
    lines = ["| " + " | ".join(md(h) for h in header) + " |",
             "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(md(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _unique(header: list[str]) -> list[str]:
    """Column names as pandas needs them: none empty, none repeated."""
    out, seen = [], {}
    for i, name in enumerate(header):
        name = name or f"column {i + 1}"
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return out


def make_table(page: int, header: list, rows: list[list], title: str = "",
               values: list[list] | None = None) -> Table:
    """A Table from header + rows of cells; `values` (typed cells) feed the DataFrame."""
    import pandas as pd
    header = _unique([_cell(h) for h in header])
    width = len(header)
    text_rows = [([_cell(c) for c in row] + [""] * width)[:width] for row in rows]
    if values is None:
        df = pd.DataFrame(text_rows, columns=header)
        for column in header:   # "1,234" -> 1234 when the whole column is numeric
            numbers = pd.to_numeric(df[column].str.replace(",", ""), errors="coerce")
            if numbers.notna().all():
                df[column] = numbers
    else:
        df = pd.DataFrame([(list(v) + [None] * width)[:width] for v in values], columns=header)
    return Table(page=page, markdown=to_markdown(header, text_rows), df=df, header=header,
                 rows=text_rows, title=title)


def _sheet_page(number: int, title: str, raw_rows: list[list], typed: bool) -> Page | None:
    """One sheet -> a Page with one Table (first non-empty row = header); None if no data rows.

    typed: the cells are already numbers/dates (XLSX); CSV cells are text to be inferred.
    """
    rows = [list(r) for r in raw_rows if any(_cell(c) for c in r)]
    if len(rows) < 2:
        return None
    width = max(max((i + 1 for i, c in enumerate(r) if _cell(c)), default=0) for r in rows)
    rows = [(r + [None] * width)[:width] for r in rows]
    table = make_table(number, rows[0], rows[1:], title=title,
                       values=rows[1:] if typed else None)
    text = f"Sheet '{title}': {len(rows) - 1} rows x {width} columns."
    return Page(number=number, text=text, tables=[table], label=title)


def _cells_error(name: str, sheet: str, cells: int) -> UserError:
    return UserError(f"{name}: sheet '{sheet}' has more than {MAX_TABLE_CELLS:,} cells (at "
                     f"least {cells:,}); the limit is {MAX_TABLE_CELLS:,} per sheet. Delete "
                     f"unused rows and columns, or split it into several files.")


def _no_rows_error(name: str) -> UserError:
    return UserError(f"{name} has no data rows: a header row and at least one row of values "
                     f"are needed.")


def _read_csv(data: bytes, name: str) -> list[Page]:
    import csv

    what = _sniff(data)
    if what or b"\x00" in data[:4096]:
        raise UserError(f"{name} is not a CSV text file: its contents are "
                        f"{what or 'binary data'}. Export the table as CSV or XLSX.")
    for encoding in ("utf-8-sig", "cp949", "latin-1"):   # cp949: Korean Excel's CSV export
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
                raise _cells_error(name, Path(name).stem, cells)
            rows.append(row)
    except csv.Error as e:
        raise UserError(f"{name} could not be read as CSV ({_short(e)}).") from e
    page = _sheet_page(1, Path(name).stem, rows, typed=False)
    if page is None:
        raise _no_rows_error(name)
    return [page]


def _read_xlsx(data: bytes, name: str) -> list[Page]:
    if not data.startswith(b"PK\x03\x04"):
        what = _sniff(data) or "not an Excel workbook"
        raise UserError(f"{name} is not an .xlsx workbook: its contents are {what}. "
                        f"Open it in a spreadsheet program and save it as .xlsx.")
    from openpyxl import load_workbook
    try:
        # data_only: cached formula results (a file never opened in Excel has none: cells empty)
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as e:
        raise UserError(f"{name} could not be read as an Excel workbook ({_short(e)}).") from e
    pages = []
    try:
        for number, ws in enumerate(wb.worksheets, start=1):
            if getattr(ws, "max_row", None) and getattr(ws, "max_column", None):
                declared = ws.max_row * ws.max_column   # checked before reading any row
                if declared > MAX_TABLE_CELLS:
                    raise _cells_error(name, ws.title, declared)
            rows, cells = [], 0
            for row in ws.iter_rows(values_only=True):
                cells += len(row)
                if cells > MAX_TABLE_CELLS:
                    raise _cells_error(name, ws.title, cells)
                rows.append(row)
            page = _sheet_page(number, ws.title, rows, typed=True)
            if page is not None:
                pages.append(page)
    finally:
        wb.close()
    if not pages:
        raise _no_rows_error(name)
    return pages
