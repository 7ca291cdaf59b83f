"""PDF -> Pages: text in reading order, ruled tables, OCR for scans; and page thumbnails.

PDFs are read with PyMuPDF (AGPL-3.0: a service built on it must offer its source).
Per page: text in reading order without the text of the tables found on it, the tables
as markdown (for the LLM) and as a DataFrame, and OCR only where the page has no text
layer (a scan).
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from ..config import (
    MAX_IMAGE_PIXELS,
    MAX_OCR_PAGES,
    MAX_PDF_PAGES,
    OCR_DPI,
    OCR_MIN_TEXT_CHARS,
    TABLE_USE_LAYOUT,
    TEXT_FIRST_PAGES,
)
from ..messages import UserError, msg
from .documents import (
    Document,
    Page,
    Progress,
    Table,
    cached_document,
    read_upload,
    short_error,
    sniff,
)
from .pdftext import sorted_text
from .tables import carry_header, make_table
from .unruled import caption_above, find_unruled


@contextmanager
def open_pdf(data: bytes, name: str):
    """The PDF, open, once it passed every check a whole upload gets (a PDF at all, readable,
    no password, not cut short, pages within MAX_PDF_PAGES, scans within MAX_OCR_PAGES)."""
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
        yield doc
    finally:
        doc.close()


def read_pdf(data: bytes, name: str, progress: Progress | None) -> list[Page]:
    with open_pdf(data, name) as doc:
        total, pages = doc.page_count, []
        for index in range(total):
            pages.append(_read_page(doc, index, name))
            if progress:
                progress(index + 1, total)
        pages = _carry_headers(doc, pages)
    if not any(p.n_chars for p in pages):
        raise UserError("pdf.no_text", name=name)
    return pages


def read_pdf_layer(data: bytes, name: str) -> list[Page]:
    """Every page's text layer alone, in reading order: no tables, no OCR. The first answer on
    a long PDF reads this (a few ms a page) while read_pdf runs later (tables can cost a
    quarter of a second a page); a page without a text layer is empty here."""
    with open_pdf(data, name) as doc:
        return [Page(number=i + 1, text=_tidy(sorted_text(page))) for i, page in enumerate(doc)]


def ingest_text_first(path: str, name: str, min_chars: int) -> Document | None:
    """A long PDF's text layer alone, as a Document that is not complete, where reading it in
    full would keep the first answer waiting: more than TEXT_FIRST_PAGES pages and more than
    min_chars of text (what would not go whole into the prompt anyway). None where the whole
    parse should run now: other formats, short or scanned PDFs, a file parsed before (its
    Document is cached). The checks are those of ingest_document, with the same messages."""
    path, name, ext, data, key = read_upload(path, name)
    if ext != ".pdf" or cached_document(key) is not None:
        return None
    pages = read_pdf_layer(data, name)
    if len(pages) <= TEXT_FIRST_PAGES or sum(len(p.text) for p in pages) <= min_chars:
        return None
    return Document(name, path, key[0], "pdf", pages, complete=False)


def read_pdf_pages(path: str, numbers: list[int]) -> dict[int, Page]:
    """Some pages (1-based) read in full, as read_pdf reads them: tables and OCR included."""
    import pymupdf

    name = Path(path).name
    with pymupdf.open(path) as doc:
        return {n: _read_page(doc, n - 1, name) for n in numbers if 1 <= n <= doc.page_count}


def _read_page(doc, index: int, name: str) -> Page:
    try:
        return read_pdf_page(doc[index], index + 1)
    except UserError:
        raise
    except Exception as e:
        raise UserError("pdf.bad_page", name=name, page=index + 1, error=short_error(e)) from e


def read_pdf_page(page, number: int) -> Page:
    tables, boxes = page_tables(page, number)
    text, layer_chars = _page_text(page, boxes)
    ocr = False
    if layer_chars < OCR_MIN_TEXT_CHARS and not tables and _has_ink(page):
        from .ocr import ocr_image  # only scans pay for OCR, the slowest step (MAX_OCR_PAGES)

        read = ocr_image(page_image(page, OCR_DPI))
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
    """Bounding box of the page's straight strokes and rectangles; None if there are none, or
    if none of them runs up the page: table cells need vertical edges, and a page whose only
    strokes are its running header's and footer's rules (most pages of most manuals) would
    otherwise send the whole page through find_tables, the costliest step of a parse.

    Coordinates are unioned by hand: a horizontal or vertical rule drawn as a line is a
    zero-height (or zero-width) rectangle, which PyMuPDF's Rect union drops as empty, so a
    grid of single-line strokes would shrink to one rule and its table would be missed.
    """
    import pymupdf

    paths = [p for p in page.get_cdrawings() if any(i[0] in ("l", "re", "qu") for i in p["items"])]
    if not any(_upright(item) for path in paths for item in path["items"]):
        return None
    boxes = [path["rect"] for path in paths]
    xs = [x for box in boxes for x in (box[0], box[2])]
    ys = [y for box in boxes for y in (box[1], box[3])]
    return pymupdf.Rect(min(xs), min(ys), max(xs), max(ys))


SNAP = 3  # points: find_tables' snap tolerance; a stroke leaning less than this is upright


def _upright(item) -> bool:
    """Does this drawing item give find_tables a vertical edge? A line whose ends lie within
    SNAP across and apart up the page, or a rectangle (or quad) with height that is not a
    thin horizontal bar."""
    kind = item[0]
    if kind == "l":
        (x0, y0), (x1, y1) = item[1], item[2]
        return abs(x1 - x0) <= SNAP and y0 != y1
    if kind == "re":
        x0, y0, x1, y1 = item[1]
    elif kind == "qu":
        xs, ys = [pt[0] for pt in item[1]], [pt[1] for pt in item[1]]
        x0, y0, x1, y1 = min(xs), min(ys), max(xs), max(ys)
    else:
        return False
    width, height = abs(x1 - x0), abs(y1 - y0)
    return height > 0 and (height > SNAP or height >= width)


def _words_in(words: list, bbox) -> str:
    """The words whose centre lies in bbox, in reading order, joined by single spaces."""
    x0, y0, x1, y1 = bbox
    return " ".join(
        w[4] for w in words if x0 <= (w[0] + w[2]) / 2 < x1 and y0 <= (w[1] + w[3]) / 2 < y1
    )


def _page_text(page, boxes: list) -> tuple[str, int]:
    """Text in reading order minus lines inside `boxes`; and how much text the layer has."""
    if not boxes:
        text = sorted_text(page)
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


def page_image(page, dpi: int):
    from PIL import Image

    pixels = page.rect.width * page.rect.height * (dpi / 72) ** 2
    if pixels > MAX_IMAGE_PIXELS:  # a poster-sized page would render gigapixels
        dpi = max(1, int(dpi * (MAX_IMAGE_PIXELS / pixels) ** 0.5))
    pix = page.get_pixmap(dpi=dpi, alpha=False)
    return Image.frombytes("RGB", (pix.width, pix.height), pix.samples)


def _tidy(text: str) -> str:
    text = re.sub(r"[ \t]+\n", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()
