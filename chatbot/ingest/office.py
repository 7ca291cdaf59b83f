"""Word (.docx) and PowerPoint (.pptx) files -> Pages.

Word: python-docx reads paragraphs and tables in document order; every heading (the
"Heading N" and "Title" styles) starts a section, cited "[§ Heading]". PowerPoint:
python-pptx reads each slide's text boxes top to bottom, its tables and its speaker
notes; a slide is the citation unit, "[slide 3]", labelled with its title.
"""

from __future__ import annotations

import io

from ..config import MAX_DOCUMENT_CHARS, MAX_SLIDES
from ..messages import UserError, msg
from .documents import Page, Progress, short_error
from .sections import SectionBuilder, clean_label, open_zip, tidy, too_long_error
from .tables import make_table


def read_docx(data: bytes, name: str, progress: Progress | None = None) -> list[Page]:
    """A Word document -> one Page per section; progress is not reported (one step)."""
    import docx

    open_zip(data, name, msg("kind.docx"), "word/document.xml", msg("save_as.docx"))
    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as e:
        raise UserError("docx.unreadable", name=name, error=short_error(e)) from e
    sections = SectionBuilder(name)
    for block in document.iter_inner_content():
        if hasattr(block, "rows"):  # a table
            sections.table([[cell.text for cell in row.cells] for row in block.rows])
        elif _is_heading(block):
            sections.heading(block.text)
        else:
            sections.text(block.text)
    return sections.finish()


def _is_heading(paragraph) -> bool:
    style = (paragraph.style.name if paragraph.style is not None else "") or ""
    return (style.startswith("Heading") or style == "Title") and bool(paragraph.text.strip())


def read_pptx(data: bytes, name: str, progress: Progress | None = None) -> list[Page]:
    """A presentation -> one Page per slide with text (title, text boxes, tables, notes)."""
    import pptx

    open_zip(data, name, msg("kind.pptx"), "ppt/presentation.xml", msg("save_as.pptx"))
    try:
        deck = pptx.Presentation(io.BytesIO(data))
    except Exception as e:
        raise UserError("pptx.unreadable", name=name, error=short_error(e)) from e
    slides = list(deck.slides)
    if len(slides) > MAX_SLIDES:
        raise UserError("pptx.too_many_slides", name=name, count=len(slides), limit=MAX_SLIDES)
    pages, chars = [], 0
    for number, slide in enumerate(slides, start=1):
        page = slide_page(slide, number)
        chars += page.n_chars
        if chars > MAX_DOCUMENT_CHARS:
            raise too_long_error(name, chars)
        if page.n_chars:
            pages.append(page)
        if progress:
            progress(number, len(slides))
    if not pages:
        raise UserError("pptx.no_text", name=name)
    return pages


def slide_page(slide, number: int) -> Page:
    """One slide: its title first, then its text boxes top to bottom, tables, then notes."""
    title = slide.shapes.title
    title_text = " ".join(title.text_frame.text.split()) if title is not None else ""
    lines, tables = [title_text] if title_text else [], []
    for shape in _shapes_in_order(slide.shapes):
        if title is not None and shape.shape_id == title.shape_id:
            continue
        if getattr(shape, "has_table", False) and shape.has_table:
            rows = [[cell.text for cell in row.cells] for row in shape.table.rows]
            if len(rows) >= 2 and len(rows[0]) >= 2:
                tables.append(make_table(number, rows[0], rows[1:]))
            else:
                lines += [" ".join(c for c in row if c.strip()) for row in rows]
        elif getattr(shape, "has_text_frame", False) and shape.has_text_frame:
            lines.append(shape.text_frame.text)
    if slide.has_notes_slide:
        notes = slide.notes_slide.notes_text_frame
        if notes is not None and notes.text.strip():
            lines.append("Speaker notes: " + notes.text)
    return Page(
        number=number,
        text=tidy("\n\n".join(t for t in lines if t.strip())),
        tables=tables,
        label=clean_label(title_text),
    )


def _shapes_in_order(shapes) -> list:
    """Shapes top to bottom, left to right, with grouped shapes taken out of their groups."""
    flat = []
    for shape in shapes:
        if hasattr(shape, "shapes"):  # a group
            flat += _shapes_in_order(shape.shapes)
        else:
            flat.append(shape)
    return sorted(flat, key=lambda s: ((s.top or 0) // 50_000, s.left or 0))  # 50k EMU ~ 1.4 mm
