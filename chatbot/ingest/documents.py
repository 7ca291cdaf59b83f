"""Documents -> pages of text and tables, each page a citation unit.

A "page" is whatever a format's reader can cite: a PDF page ("[p. 3]"), a sheet
("[sheet 2]"), a slide ("[slide 3]") or a section under a heading ("[§ Installation]";
"[§ 4]" where there is no heading). The unit follows from Document.kind (CITATION_UNITS).

This module owns what every format shares: the types ingestion produces (Table, Page,
Document), the dispatch by extension to one reader module per format (READERS: pdf.py,
sheets.py, office.py, web.py, plaintext.py, epub.py; add a format by adding a module and
a line there), the magic-bytes sniffer and short error text the readers quote, and the cache.

Parsed documents are cached by the sha256 of the file's bytes: the same file uploaded
again (by anyone, under any name) is not parsed again. Pages and tables are shared
between cache hits, so treat them as read-only.
"""

from __future__ import annotations

import hashlib
import importlib
import threading
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

from ..config import DOCUMENT_EXTENSIONS, INGEST_CACHE_DOCUMENTS, MAX_FILE_MB
from ..messages import UserError, msg

Progress = Callable[[int, int], None]  # (pages done, pages in total)


# ---- what ingestion produces ---------------------------------------------------------


@dataclass
class Table:
    page: int  # 1-based page (or sheet) number
    markdown: str  # header + rows as a markdown table, for the LLM
    df: Any  # pandas.DataFrame, numbers as numbers where a column allows
    header: list[str]
    rows: list[list[str]] = field(default_factory=list)  # the cells as shown in markdown
    title: str = ""  # sheet name for spreadsheets
    caption: str = ""  # the line above a PDF table (what it is about), or ""

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.rows), len(self.header)


@dataclass
class Page:
    number: int  # 1-based
    text: str  # reading order; text inside tables is left to `tables`
    tables: list[Table] = field(default_factory=list)
    ocr: bool = False  # text was read by OCR from a rendered scan
    label: str = ""  # sheet name, slide title or section heading; "" for PDF pages

    @property
    def n_chars(self) -> int:
        return len(self.text) + sum(len(t.markdown) for t in self.tables)


@dataclass
class Document:
    name: str  # file name as uploaded
    path: str  # local copy (render_page reads it)
    sha256: str
    kind: str  # a key of CITATION_UNITS: "pdf", "table", "docx", ...
    pages: list[Page]
    # False for a long PDF's text layer read first (ingest_text_first): its tables and scans
    # are read later, by ingest_document, and the whole Document then takes its place
    complete: bool = True

    @property
    def unit(self) -> str:
        """What one of its pages is called in a citation: 'p.', 'sheet', 'slide' or '§'."""
        return CITATION_UNITS.get(self.kind, "p.")

    @property
    def n_chars(self) -> int:
        return sum(p.n_chars for p in self.pages)

    @property
    def tables(self) -> list[Table]:
        return [t for p in self.pages for t in p.tables]

    def summary(self) -> str:
        """One line for the chat's status step, e.g. 'report.pdf: PDF, 12 pages, 3 tables, ...'."""
        if self.kind == "pdf":
            parts = [f"PDF, {_plural(len(self.pages), 'page')}", _plural(len(self.tables), "table")]
            ocr = sum(p.ocr for p in self.pages)
            if ocr:
                parts.append(f"{_plural(ocr, 'page')} read by OCR")
            if not self.complete:
                parts[1] = "text layer first, tables and scans next"
        elif self.kind == "table":
            sheets = ", ".join(f"{t.title} {t.shape[0]}x{t.shape[1]}" for t in self.tables)
            parts = [f"{_plural(len(self.tables), 'sheet')} ({sheets})"]
        else:
            what, unit = KIND_NAMES.get(self.kind, (self.kind, "section"))
            parts = [
                f"{what}, {_plural(len(self.pages), unit)}",
                _plural(len(self.tables), "table"),
            ]
        return f"{self.name}: {', '.join(parts)}, {self.n_chars:,} characters"


# Document.kind -> the citation unit of its pages, and how a summary names the format.
CITATION_UNITS = {
    "pdf": "p.",
    "table": "sheet",
    "pptx": "slide",
    "docx": "§",
    "html": "§",
    "markdown": "§",
    "text": "§",
    "epub": "§",
}
KIND_NAMES = {
    "docx": ("Word document", "section"),
    "pptx": ("presentation", "slide"),
    "html": ("web page", "section"),
    "markdown": ("Markdown", "section"),
    "text": ("text", "section"),
    "epub": ("EPUB book", "section"),
}


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


# ---- readers by extension -------------------------------------------------------------

# extension -> (Document.kind, "module:function"). A reader is called as
# reader(data: bytes, name: str, progress: Progress | None) -> list[Page] and raises
# UserError saying what is wrong with the file. The module is imported, and the function
# looked up, at call time: heavy libraries load only for formats in use, and a test can
# monkeypatch e.g. chatbot.ingest.pdf.read_pdf.
READERS: dict[str, tuple[str, str]] = {
    ".pdf": ("pdf", "chatbot.ingest.pdf:read_pdf"),
    ".csv": ("table", "chatbot.ingest.sheets:read_csv"),
    ".xlsx": ("table", "chatbot.ingest.sheets:read_xlsx"),
    ".docx": ("docx", "chatbot.ingest.office:read_docx"),
    ".pptx": ("pptx", "chatbot.ingest.office:read_pptx"),
    ".html": ("html", "chatbot.ingest.web:read_html"),
    ".htm": ("html", "chatbot.ingest.web:read_html"),
    ".md": ("markdown", "chatbot.ingest.plaintext:read_markdown"),
    ".markdown": ("markdown", "chatbot.ingest.plaintext:read_markdown"),
    ".txt": ("text", "chatbot.ingest.plaintext:read_text"),
    ".epub": ("epub", "chatbot.ingest.epub:read_epub"),
}


def read_pages(
    ext: str, data: bytes, name: str, progress: Progress | None
) -> tuple[str, list[Page]]:
    """(kind, pages) from the reader registered for `ext` (a key of READERS)."""
    kind, target = READERS[ext]
    module, function = target.split(":")
    reader = getattr(importlib.import_module(module), function)
    return kind, reader(data, name, progress)


# Leading bytes of formats people rename to .pdf/.xlsx/.csv by mistake.
_MAGIC = [
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"%PDF-", "a PDF"),
    (b"PK\x03\x04", "a ZIP archive (an Office file such as .docx/.xlsx?)"),
    (b"\xd0\xcf\x11\xe0", "an old Office file (.doc/.xls)"),
    (b"{\\rtf", "an RTF document"),
]


def sniff(data: bytes) -> str | None:
    """What the file's leading bytes say it is ('a PNG image', ...); None if unrecognised."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "a WebP image"
    return next((what for magic, what in _MAGIC if data.startswith(magic)), None)


def short_error(e: Exception) -> str:
    """An exception as one short line to quote in a UserError."""
    return (str(e) or type(e).__name__).splitlines()[0][:120]


# ---- cache by content hash -----------------------------------------------------------

_cache: OrderedDict[tuple[str, str], Document] = OrderedDict()
_cache_lock = threading.Lock()


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()


def ingest_document(
    path: str, name: str | None = None, progress: Progress | None = None
) -> Document:
    """Parse a document (by extension: READERS) into a Document; UserError says what is wrong."""
    path, name, ext, data, key = read_upload(path, name)
    cached = cached_document(key)
    if cached is not None:
        if progress:
            progress(len(cached.pages), len(cached.pages))
        return replace(cached, name=name, path=path)  # same pages, this upload's name

    kind, pages = read_pages(ext, data, name, progress)
    doc = Document(name=name, path=path, sha256=key[0], kind=kind, pages=pages)
    with _cache_lock:
        _cache[key] = doc
        while len(_cache) > INGEST_CACHE_DOCUMENTS:
            _cache.popitem(last=False)
    return doc


def read_upload(path, name):
    """(path, name, extension, bytes, cache key) of an upload that passed the checks every
    format shares (a known extension, not empty, within MAX_FILE_MB)."""
    path = str(path)
    name = name or Path(path).name
    ext = Path(name).suffix.lower() or Path(path).suffix.lower()
    if ext not in DOCUMENT_EXTENSIONS:
        raise UserError(
            "doc.unsupported",
            name=name,
            ext=ext or msg("word.no_extension"),
            supported=", ".join(DOCUMENT_EXTENSIONS),
        )
    data = Path(path).read_bytes()
    if not data:
        raise UserError("doc.empty", name=name)
    if len(data) > MAX_FILE_MB * 1024 * 1024:
        raise UserError("doc.too_big", name=name, mb=len(data) / 2**20, limit=MAX_FILE_MB)
    return path, name, ext, data, (hashlib.sha256(data).hexdigest(), ext)


def cached_document(key) -> Document | None:
    with _cache_lock:
        cached = _cache.get(key)
        if cached is not None:
            _cache.move_to_end(key)
    return cached
