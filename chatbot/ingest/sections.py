"""What the heading-structured formats share (Word, web pages, Markdown, text, EPUB).

A reader walks its file in reading order and tells a SectionBuilder what it meets:
headings, lines of text, tables. Each heading starts a new section, and each section
becomes one Page whose label is the heading ("[§ Installation]"); text before the first
heading is a section without a label ("[§ 1]"), and such text is cut at paragraph breaks
into sections of about SECTION_CHARS. A heading with nothing under it but another heading
is carried into the next section's text instead of standing alone.
Also here: the checks every zipped format needs first (DOCX, PPTX and EPUB are zip
archives) and the decoding of text files.
"""

from __future__ import annotations

import io
import re

from ..config import (
    MAX_DOCUMENT_CHARS,
    MAX_SECTION_LABEL_CHARS,
    MAX_TABLE_CELLS,
    MAX_UNZIPPED_MB,
    SECTION_CHARS,
)
from ..messages import Msg, UserError, msg
from .documents import Page, Table, short_error, sniff
from .tables import cell_text, make_table


def clean_label(text: str) -> str:
    """A heading as it can stand in a citation: one line, no brackets or quotes, bounded."""
    text = " ".join(re.sub(r"[\[\]<>\"]", " ", text).split())
    if len(text) > MAX_SECTION_LABEL_CHARS:
        text = text[:MAX_SECTION_LABEL_CHARS].rsplit(" ", 1)[0] + "…"
    return text


def too_long_error(name: str, chars: int) -> UserError:
    return UserError("doc.too_long", name=name, chars=chars, limit=MAX_DOCUMENT_CHARS)


class SectionBuilder:
    """Collects headings, text and tables in reading order into Pages (one per section)."""

    def __init__(self, name: str):
        self.name = name
        self.pages: list[Page] = []
        self._label = ""
        self._lines: list[str] = []
        self._tables: list[Table] = []
        self._has_body = False
        self._chars = 0
        self._section_chars = 0
        self._labels: dict[str, int] = {}

    @property
    def number(self) -> int:
        """The 1-based number of the section being filled."""
        return len(self.pages) + 1

    def heading(self, text: str) -> None:
        text = " ".join(text.split())
        if not text or (not self._has_body and self._lines and self._lines[-1] == text):
            return  # empty, or the same heading again (a page title repeated as its <h1>)
        if self._has_body:
            self.flush()
        label = clean_label(text)
        if label:
            seen = self._labels[label] = self._labels.get(label, 0) + 1
            self._label = label if seen == 1 else f"{label} ({seen})"
        self._lines.append(text)
        self._count(text)

    def text(self, text: str) -> None:
        text = text.strip("\n")
        if text.strip():
            self._lines.append(text)
            self._has_body = True
            self._count(text)

    def break_section(self) -> None:
        """Whatever comes next starts a new section (a new chapter), unless nothing has yet."""
        if self._has_body:
            self.flush()

    def paragraph_break(self) -> None:
        """A place where text without a heading may be cut into sections (SECTION_CHARS)."""
        if not self._label and self._section_chars >= SECTION_CHARS:
            self.flush()

    def table(self, rows: list[list]) -> None:
        """A grid of cells, first row the header; one that is no table (a single column, no
        data row: layout tables on web pages) is kept as lines of text instead."""
        rows = [[cell_text(c) for c in row] for row in rows]
        rows = [row for row in rows if any(row)]
        width = max((len(r) for r in rows), default=0)
        if width * len(rows) > MAX_TABLE_CELLS:
            raise UserError(
                "table.too_many_cells",
                name=self.name,
                cells=width * len(rows),
                limit=MAX_TABLE_CELLS,
            )
        if width < 2 or len(rows) < 2:
            for row in rows:
                self.text(" ".join(c for c in row if c))
            return
        table = make_table(self.number, rows[0], rows[1:])
        self._tables.append(table)
        self._has_body = True
        self._count(table.markdown)

    def flush(self) -> None:
        if self._lines or self._tables:
            self.pages.append(
                Page(
                    number=self.number,
                    text=tidy("\n\n".join(self._lines)),
                    tables=self._tables,
                    label=self._label,
                )
            )
        self._label, self._lines, self._tables, self._has_body = "", [], [], False
        self._section_chars = 0

    def finish(self) -> list[Page]:
        """The sections; UserError when the file held no text at all."""
        self.flush()
        if not any(p.n_chars for p in self.pages):
            raise UserError("doc.no_text", name=self.name)
        return self.pages

    def _count(self, text: str) -> None:
        self._chars += len(text)
        self._section_chars += len(text)
        if self._chars > MAX_DOCUMENT_CHARS:
            raise too_long_error(self.name, self._chars)


def tidy(text: str) -> str:
    text = re.sub(r"[ \t]+\n", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


# ---- files as they arrive -----------------------------------------------------------------


def open_zip(data: bytes, name: str, what: Msg, member: str, save_as: Msg):
    """A zipped format (DOCX, PPTX, EPUB) checked before any parser sees it: a zip, not
    encrypted, holding `member`, and not unpacking past MAX_UNZIPPED_MB. Returns the ZipFile."""
    import zipfile

    if data.startswith(b"\xd0\xcf\x11\xe0"):  # OLE: old .doc/.ppt, or an encrypted Office file
        raise UserError("zip.old_office", name=name, what=what, save_as=save_as)
    if not data.startswith(b"PK\x03\x04"):
        raise UserError(
            "zip.not_zip",
            name=name,
            what=what,
            found=sniff(data) or msg("word.not_a_zip"),
            save_as=save_as,
        )
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        names = set(archive.namelist())
        unpacked = sum(info.file_size for info in archive.infolist())
    except Exception as e:
        raise UserError("zip.damaged", name=name, error=short_error(e)) from e
    if member not in names:
        raise UserError("zip.missing_member", name=name, what=what, member=member, save_as=save_as)
    if unpacked > MAX_UNZIPPED_MB * 2**20:
        raise UserError("zip.too_big", name=name, mb=unpacked / 2**20, limit=MAX_UNZIPPED_MB)
    return archive


def decode_text(data: bytes, name: str, what: Msg) -> str:
    """Bytes of a text file as str (UTF-8, UTF-16 with a BOM, Korean cp949, else Latin-1);
    UserError when they are binary data."""
    found = sniff(data)
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    if found or b"\x00" in data[:4096]:
        raise UserError("text.binary", name=name, what=what, found=found or msg("word.binary_data"))
    for encoding in ("utf-8-sig", "cp949"):  # cp949: Korean Windows text files
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        text = data.decode("latin-1")
    if len(text) > MAX_DOCUMENT_CHARS:
        raise too_long_error(name, len(text))
    return text.replace("\r\n", "\n").replace("\r", "\n")
