"""Web pages (.html, .htm) -> one Page per section under a heading, tables as tables.

Beautiful Soup with Python's own html.parser (lenient with the broken HTML that saved
pages are full of; nothing compiled). Scripts, styles and forms are dropped; <h1>-<h6>
start sections ("[§ Installation]"); a <table> with at least two columns and a data row
becomes a Table (a layout table, one column, stays text); everything else is text, with
line breaks where the page has blocks and spaces where it has inline elements.
"""

from __future__ import annotations

from ..messages import UserError, msg
from .documents import Page, Progress, short_error
from .sections import SectionBuilder, decode_text

_DROP = (
    "script",
    "style",
    "noscript",
    "template",
    "svg",
    "iframe",
    "object",
    "head",
    "form",
    "button",
    "select",
    "nav",
)
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_BLOCKS = frozenset(
    "address article aside blockquote dd details dialog div dl dt fieldset figcaption figure "
    "footer header hr li main ol p pre section summary ul tr caption".split()
)


def read_html(data: bytes, name: str, progress: Progress | None = None) -> list[Page]:
    """An HTML page -> sections; the page's <title> heads the text before its first heading."""
    sections = SectionBuilder(name)
    add_html(decode_text(data, name, msg("kind.html")), sections, name, use_title=True)
    return sections.finish()


def add_html(markup: str, sections: SectionBuilder, name: str, use_title: bool = False) -> None:
    """Feed one HTML (or XHTML) document to `sections` in reading order."""
    from bs4 import BeautifulSoup

    try:
        soup = BeautifulSoup(markup, "html.parser")
    except Exception as e:
        raise UserError("html.unreadable", name=name, error=short_error(e)) from e
    title = soup.title.get_text(" ", strip=True) if use_title and soup.title else ""
    for tag in soup.find_all(_DROP):
        tag.decompose()
    if title:
        sections.heading(title)
    line: list[str] = []
    try:
        walk(soup.body or soup, sections, line)
    except RecursionError as e:
        raise UserError("html.too_deep", name=name) from e
    _end_line(sections, line)


def walk(node, sections: SectionBuilder, line: list[str]) -> None:
    """Feed `node`'s content to the builder in order; `line` gathers inline text."""
    from bs4 import Comment, NavigableString, Tag

    for child in node.children:
        if isinstance(child, Comment):
            continue
        if isinstance(child, NavigableString):
            line.append(str(child))
        elif isinstance(child, Tag):
            tag = child.name.lower()
            if tag in _HEADINGS:
                _end_line(sections, line)
                sections.heading(child.get_text(" ", strip=True))
            elif tag == "table":
                _end_line(sections, line)
                sections.table(_rows(child))
            elif tag == "br":
                line.append("\n")
            elif tag == "pre":
                _end_line(sections, line)
                sections.text(child.get_text())
            elif tag in _BLOCKS:
                _end_line(sections, line)
                walk(child, sections, line)
                _end_line(sections, line)
            else:
                walk(child, sections, line)


def _end_line(sections: SectionBuilder, line: list[str]) -> None:
    """The inline text gathered so far as one block (a <br> kept as a line break)."""
    text = "\n".join(" ".join(part.split()) for part in "".join(line).split("\n")).strip()
    line.clear()
    if text:
        sections.text(text)


def _rows(table) -> list[list[str]]:
    """The table's rows of cells (th or td), nested tables' rows left out; a cell spanning
    several columns is repeated so the columns stay aligned."""
    rows = []
    for tr in table.find_all("tr"):
        if tr.find_parent("table") is not table:
            continue
        cells = []
        for cell in tr.find_all(("td", "th"), recursive=False):
            text = cell.get_text(" ", strip=True)
            try:
                span = max(1, min(int(cell.get("colspan", 1)), 50))
            except ValueError:
                span = 1
            cells += [text] * span
        if cells:
            rows.append(cells)
    return rows
