"""A PDF page shown to the reader: the page itself (thumbnails, a cited page) and the same page
with the quoted words highlighted (the Sources block's thumbnails, chatbot/quotes.py)."""

from __future__ import annotations

import re

from .pdf import page_image


def render_page(path: str, page_number: int, dpi: int = 72):
    """A PIL image of one page (1-based), for thumbnails and for showing a cited page."""
    import pymupdf

    with pymupdf.open(str(path)) as doc:
        if not 1 <= page_number <= doc.page_count:
            raise ValueError(f"page {page_number} is outside 1..{doc.page_count}")
        return page_image(doc[page_number - 1], dpi)


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
        return page_image(page, dpi), [tuple(q.rect) for q in quads]


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
