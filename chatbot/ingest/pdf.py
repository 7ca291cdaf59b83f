"""PDF -> Pages: text in reading order, ruled tables, OCR for scans; and page thumbnails.

PDFs are read with PyMuPDF (AGPL-3.0: a service built on it must offer its source).
Per page: text in reading order without the text of the tables found on it, the tables
as markdown (for the LLM) and as a DataFrame, and OCR only where the page has no text
layer (a scan).
"""

from __future__ import annotations

import re
from dataclasses import replace

from ..config import (
    MAX_IMAGE_PIXELS,
    MAX_OCR_PAGES,
    MAX_PDF_PAGES,
    OCR_DPI,
    OCR_MIN_TEXT_CHARS,
    TABLE_USE_LAYOUT,
)
from ..messages import UserError, msg
from .documents import Page, Progress, Table, short_error, sniff
from .tables import carry_header, make_table
from .unruled import caption_above, find_unruled


def read_pdf(data: bytes, name: str, progress: Progress | None) -> list[Page]:
    import pymupdf

    if b"%PDF-" not in data[:1024]:  # the spec allows junk before the header, within 1 KB
        what = sniff(data)
        hint = msg("pdf.hint_image" if "image" in (what or "") else "pdf.hint_export")
        raise UserError("pdf.not_pdf", name=name, what=what or msg("word.not_a_pdf"), hint=hint)
    try:
        doc = pymupdf.open(stream=data, filetype="pdf")
    except Exception as e:
        raise UserError("pdf.damaged", name=name, error=short_error(e)) from e
    try:
        if doc.needs_pass:
            raise UserError("pdf.password", name=name)
        # MuPDF silently repairs a file cut short and returns whatever pages survived;
        # the missing end marker tells a truncated upload from a merely untidy PDF.
        if doc.is_repaired and b"%%EOF" not in data[-2048:]:
            raise UserError("pdf.truncated", name=name)
        total = doc.page_count
        if total == 0:
            raise UserError("pdf.no_pages", name=name)
        if total > MAX_PDF_PAGES:
            raise UserError("pdf.too_many_pages", name=name, total=total, limit=MAX_PDF_PAGES)
        if total > MAX_OCR_PAGES:  # refuse a long scan at once instead of after minutes of OCR
            scanned = sum(len(doc[i].get_text().strip()) < OCR_MIN_TEXT_CHARS for i in range(total))
            if scanned > MAX_OCR_PAGES:
                raise UserError(
                    "pdf.too_many_scans", name=name, scanned=scanned, limit=MAX_OCR_PAGES
                )
        pages = []
        for index in range(total):
            try:
                pages.append(read_pdf_page(doc[index], index + 1))
            except UserError:
                raise
            except Exception as e:
                raise UserError(
                    "pdf.bad_page", name=name, page=index + 1, error=short_error(e)
                ) from e
            if progress:
                progress(index + 1, total)
        pages = _carry_headers(doc, pages)
    finally:
        doc.close()
    if not any(p.n_chars for p in pages):
        raise UserError("pdf.no_text", name=name)
    return pages


def read_pdf_page(page, number: int) -> Page:
    tables, boxes = page_tables(page, number)
    text, layer_chars = _page_text(page, boxes)
    ocr = False
    if layer_chars < OCR_MIN_TEXT_CHARS and not tables and _has_ink(page):
        from .ocr import ocr_image  # only scans pay for OCR, the slowest step (MAX_OCR_PAGES)

        read = ocr_image(_pixmap_image(page, OCR_DPI))
        if len(read.strip()) > len(text.strip()):
            text, ocr = read, True
    return Page(number=number, text=_tidy(text), tables=tables, ocr=ocr)


def page_tables(page, number: int, unruled: list | None = None) -> tuple[list[Table], list]:
    """Ruled tables, then tables without rules among the other words, top to bottom, each
    captioned by the line above it; and the boxes whose text belongs to them. The tables
    without rules are appended to `unruled` as (bbox, Table) when given (for
    scripts/eval_tables.py)."""
    words = page.get_text("words")
    placed, boxes = _find_tables(page, number)
    found = [
        (bbox, rows) for bbox, rows in find_unruled(words, boxes) if not _preformatted(page, bbox)
    ]
    for bbox, rows in found:
        placed.append((bbox, make_table(number, rows[0], rows[1:])))
        boxes.append(bbox)
    placed = sorted(
        ((bbox, replace(t, caption=caption_above(words, bbox, boxes))) for bbox, t in placed),
        key=lambda p: p[0][1],
    )
    if unruled is not None:
        unruled += [p for p in placed if any(p[0] == bbox for bbox, _ in found)]
    return [t for _, t in placed], boxes


_MONOSPACE = re.compile(r"mono|courier|typewriter|consol|code|^cm(sl)?tt|^sfmono", re.IGNORECASE)
PREFORMATTED_SHARE = 0.97  # a block set (almost) all in a monospaced font is code or program
# output: its columns are spaces, its text reads fine as it is


def _preformatted(page, bbox) -> bool:
    """Is the block's text set in a monospaced font? (Fonts are read only for the rare
    candidate blocks: get_text("dict") costs more than the words.)"""
    import pymupdf

    mono = total = 0
    for block in page.get_text("dict", clip=pymupdf.Rect(bbox))["blocks"]:
        for line in block.get("lines", []):
            for span in line["spans"]:
                size = len(span["text"].strip())
                total += size
                if span["flags"] & 8 or _MONOSPACE.search(span["font"].split("+")[-1]):
                    mono += size
    return total > 0 and mono >= PREFORMATTED_SHARE * total


def _find_tables(page, number: int) -> tuple[list, list]:
    """Ruled tables on the page as (bbox, Table), and the boxes whose text belongs to them."""
    import pymupdf

    rulings = _ruling_box(page)
    if rulings is None:  # "lines" tables need drawn lines: skip the costly search
        return [], []
    # Clip to the drawings (plus room for a header line above them): find_tables turns
    # every character in its area into a Python dict, the page's prose included.
    clip = pymupdf.Rect(rulings.x0 - 2, rulings.y0 - 24, rulings.x1 + 2, rulings.y1 + 2)
    found = page.find_tables(clip=clip, use_layout=TABLE_USE_LAYOUT).tables
    if not found:
        return [], []
    # Cell text from the page's words: Table.extract() drops every space narrower than
    # its 3 pt tolerance (all of them in 8-pt tables), and extract_cells() is slow per cell.
    words = page.get_text("words", clip=clip, sort=True)
    tables, boxes = [], []
    for tab in found:

        def texts(cells):
            return [_words_in(words, c) if c else "" for c in cells]

        rows = [texts(row.cells) for row in tab.rows]
        if tab.header.external:  # header line sits above the ruled box
            header, body = texts(tab.header.cells), rows
        else:
            header, body = (rows[0] if rows else []), rows[1:]
        body = [r for r in body if any(r)]
        if len(header) < 2 or not body:  # a framed paragraph, not a table: keep it as text
            continue
        boxes.append(tab.bbox)
        top = tab.bbox
        if tab.header.external:
            boxes.append(tab.header.bbox)
            top = tab.header.bbox
        tables.append((tuple(top[:2]) + tuple(tab.bbox[2:]), make_table(number, header, body)))
    return tables, boxes


def _carry_headers(doc, pages: list[Page]) -> list[Page]:
    """A table cut by a page break: where a page starts with a table shaped like the one
    that ends the page before, and its first row is not that table's header again, the
    continuation gets the header (and caption) of the table above."""
    out = list(pages)
    for i in range(1, len(out)):
        before, after = out[i - 1].tables, out[i].tables
        if not before or not after:
            continue
        joined = carry_header(before[-1], after[0])
        if (
            joined is not None
            and _at_edge(doc[i - 1], before[-1].rows[-1], top=False)
            and _at_edge(doc[i], after[0].header, top=True)
        ):
            out[i] = replace(out[i], tables=[joined] + after[1:])
    return out


EDGE_MARGIN = 0.1  # lines this close to the page's top or bottom (share of its height) are
# running headers, footers and page numbers, not content


def _at_edge(page, row: list[str], top: bool) -> bool:
    """Is this row the first (top=True) or last content on the page? Only running
    headers or footers (EDGE_MARGIN) may lie between it and the page's edge."""
    cell = next((c for c in row if c and not c.startswith("column ")), "")
    hits = page.search_for(cell) if cell else []
    if not hits:
        return False
    y = min(r.y0 for r in hits) if top else max(r.y1 for r in hits)
    height = page.rect.height
    lo, hi = (EDGE_MARGIN * height, y - 1) if top else (y + 1, (1 - EDGE_MARGIN) * height)
    return not any(lo < (w[1] + w[3]) / 2 < hi for w in page.get_text("words"))


def _ruling_box(page):
    """Bounding box of the page's straight strokes and rectangles; None if there are none.

    Coordinates are unioned by hand: a horizontal or vertical rule drawn as a line is a
    zero-height (or zero-width) rectangle, which PyMuPDF's Rect union drops as empty, so a
    grid of single-line strokes would shrink to one rule and its table would be missed.
    """
    import pymupdf

    boxes = [
        path["rect"]
        for path in page.get_cdrawings()
        if any(item[0] in ("l", "re", "qu") for item in path["items"])
    ]
    if not boxes:
        return None
    xs = [x for box in boxes for x in (box[0], box[2])]
    ys = [y for box in boxes for y in (box[1], box[3])]
    return pymupdf.Rect(min(xs), min(ys), max(xs), max(ys))


def _words_in(words: list, bbox) -> str:
    """The words whose centre lies in bbox, in reading order, joined by single spaces."""
    x0, y0, x1, y1 = bbox
    return " ".join(
        w[4] for w in words if x0 <= (w[0] + w[2]) / 2 < x1 and y0 <= (w[1] + w[3]) / 2 < y1
    )


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
    if pixels > MAX_IMAGE_PIXELS:  # a poster-sized page would render gigapixels
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


def render_highlighted(path: str, page_number: int, quote: str, dpi: int = 72):
    """One page (1-based) with the quoted words marked as a translucent highlight.

    Returns (PIL image, rects): the rectangles highlighted, in PDF points (page.rect's
    coordinates; multiply by dpi / 72 for pixels); [] when the quote was not found on the
    page, whose plain render is returned then. The whole quote is looked for first, then
    each of its sentences, then its first words (SEARCH_WORDS): a passage's text is often
    cut mid-sentence, re-flowed or shortened by the model that quotes it.
    """
    import pymupdf

    with pymupdf.open(str(path)) as doc:
        if not 1 <= page_number <= doc.page_count:
            raise ValueError(f"page {page_number} is outside 1..{doc.page_count}")
        page = doc[page_number - 1]
        quads = find_quote(page, quote)
        if quads:
            page.add_highlight_annot(quads)  # in memory only: the file is not written
        return _pixmap_image(page, dpi), [tuple(q.rect) for q in quads]


SEARCH_WORDS = 8  # a quote not found whole or by sentences: its first words are looked for


def find_quote(page, quote: str) -> list:
    """Quads of the quote on the page: the whole quote, else each sentence found whole or
    by its first SEARCH_WORDS words, else the quote's last words; [] if none is there.
    A markdown table (a table passage) is marked by the first cell of each of its rows."""
    rows = [line.strip() for line in quote.splitlines() if line.strip().startswith("|")]
    if rows:  # a table chunk
        return _table_rows(page, rows)
    text = " ".join(re.sub(r"\[[^\]]{0,80}\]|[\u2026\"\u201c\u201d]|\.\.\.", " ", quote).split())
    if not text:
        return []
    quads = page.search_for(text, quads=True)
    if quads:
        return quads
    for sentence in re.split(r"(?<=[.!?])\s+", text):
        words = sentence.split()
        if len(words) >= 3:
            quads += page.search_for(sentence, quads=True) or page.search_for(
                _words(words[:SEARCH_WORDS]), quads=True
            )
    words = text.split()
    return quads or page.search_for(_words(words[-SEARCH_WORDS:]), quads=True)


def _table_rows(page, rows: list[str]) -> list:
    """Quads of a markdown table's rows on the page: a row is where its first cell and at
    least half of its other cells are found on one line (a lone word elsewhere is not)."""
    import pymupdf

    quads = []
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|") if c.strip()]
        if not cells or not set("".join(cells)) - set("-: "):
            continue  # the |---| line
        others = [page.search_for(c) for c in cells[1:]]
        for start in page.search_for(cells[0]):
            middle = (start.y0 + start.y1) / 2
            found = [next((r for r in hits if r.y0 <= middle <= r.y1), None) for hits in others]
            same_line = [r for r in found if r is not None]
            if 2 * len(same_line) >= len(others):
                box = pymupdf.Rect(start)
                for rect in same_line:
                    box |= rect
                quads.append(box.quad)
    return quads


def _words(words: list[str]) -> str:
    return " ".join(words).strip(" ,;:.!?")


def _tidy(text: str) -> str:
    text = re.sub(r"[ \t]+\n", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()
