"""Documents -> passages. A chunk never crosses a page, so its citation is exact: text with
LangChain's RecursiveCharacterTextSplitter, tables by whole rows with the header (and a caption
saying what the table is) repeated in every piece. Small documents go whole, page by page."""

from __future__ import annotations

import functools

from ..config import CHUNK_CHARS, CHUNK_OVERLAP_CHARS, MAX_TABLE_ROWS_PER_CHUNK, TABLE_CHUNK_CHARS
from ..ingest.documents import Document, Table
from .passages import Passage, safe_name


@functools.lru_cache(maxsize=1)
def _splitter():
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    return RecursiveCharacterTextSplitter(chunk_size=CHUNK_CHARS, chunk_overlap=CHUNK_OVERLAP_CHARS)


def table_chunks(
    table: Table,
    max_rows: int = MAX_TABLE_ROWS_PER_CHUNK,
    max_chars: int = TABLE_CHUNK_CHARS,
    context: str = "",
    where: str = "",
) -> list[str]:
    """Markdown pieces of whole rows, each starting with a caption and the header.

    A row is never split. `context` (the page's first line, usually its heading) goes
    into the caption: a bare grid of numbers says little about what it is about.
    `where` names the table's place when it is not a PDF page ("on slide 3").
    """
    lines = table.markdown.split("\n")  # cells are single-line: one line per row
    head, body = "\n".join(lines[:2]), lines[2:]
    pieces, start = [], 0
    while start < len(body):
        end, size = start + 1, len(head) + len(body[start]) + 1
        while end < len(body) and end - start < max_rows and size + len(body[end]) + 1 <= max_chars:
            size += len(body[end]) + 1
            end += 1
        span = f" (rows {start + 1}-{end} of {len(body)})" if len(body) > end - start else ""
        pieces.append(
            f"{_table_caption(table, context, where)}{span}\n{head}\n" + "\n".join(body[start:end])
        )
        start = end
    return pieces


def _table_caption(table: Table, context: str = "", where: str = "") -> str:
    if table.title:
        caption = f"Sheet '{table.title}'"
    else:
        caption = f"Table {where or f'on page {table.page}'}"
    caption = f"{caption} ({context})" if context else caption
    return f"{caption}: {table.caption}" if table.caption else caption  # what a PDF table lists


def _first_line(text: str, limit: int = 80) -> str:
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    return line if len(line) <= limit else line[:limit].rsplit(" ", 1)[0] + "..."


def chunk_document(doc: Document) -> list[Passage]:
    unit, file, sheets = doc.unit, safe_name(doc.name), doc.kind == "table"
    chunks = []
    for page in doc.pages:
        if not sheets:  # a sheet's text is only a caption, repeated in its table chunks
            chunks += [
                Passage(
                    file, page.number, piece, kind="text", unit=unit, ocr=page.ocr, label=page.label
                )
                for piece in _splitter().split_text(page.text)
            ]
        heading = "" if sheets or (unit == "§" and page.label) else _first_line(page.text)
        where = _table_place(unit, page.number, page.label)
        for table in page.tables:
            chunks += [
                Passage(file, page.number, piece, kind="table", unit=unit, label=page.label)
                for piece in table_chunks(table, context=heading, where=where)
            ]
    return chunks


def _table_place(unit: str, number: int, label: str) -> str:
    """Where a table is, for its caption: '' (the default 'on page N'), 'on slide 3', ..."""
    if unit == "slide":
        return f"on slide {number}"
    if unit == "§":
        return f"in section {number}" if not label else f"in section '{safe_name(label)}'"
    return ""


def whole_pages(doc: Document) -> list[Passage]:
    return [
        Passage(
            safe_name(doc.name),
            page.number,
            "\n\n".join([page.text] + [t.markdown for t in page.tables]).strip(),
            score=1.0,
            kind="table" if doc.kind == "table" else "text",
            unit=doc.unit,
            ocr=page.ocr,
            label=page.label,
        )
        for page in doc.pages
        if page.n_chars
    ]
