"""Files people actually have, written in-process: PDFs ruled every way tables are ruled,
scans of a sentence, Word, PowerPoint, web pages, Markdown, text and EPUB (tests/test_formats.py).

Beside docfixtures.py (the PDFs, CSVs and spreadsheets); every helper that writes a file
takes the path to write and returns it.
"""

from __future__ import annotations

from pathlib import Path

RULING_STYLES = ("lines", "rects", "filled", "mixed")


def draw_ruled_grid(
    page,
    top_left: tuple[float, float],
    header: list[str],
    rows: list[list[str]],
    style: str,
    col_width: float = 100,
    row_height: float = 20,
    fontsize: float = 10,
) -> float:
    """A table ruled the ways real PDFs rule them, each rule its own drawing; return its bottom y.

    lines: one draw_line stroke per rule; rects: a draw_rect outline per cell; filled: rules
    as thin filled rectangles (what Word and LaTeX exports draw); mixed: a frame outline,
    filled row rules and stroked column rules.
    """
    x0, y0 = top_left
    grid = [header] + rows
    x1, y1 = x0 + len(header) * col_width, y0 + len(grid) * row_height
    ys = [y0 + r * row_height for r in range(len(grid) + 1)]
    xs = [x0 + c * col_width for c in range(len(header) + 1)]

    def hairline(a, b):  # a filled rule 0.6 pt thick, no stroke
        page.draw_rect(
            (a[0] - 0.3, a[1] - 0.3, b[0] + 0.3, b[1] + 0.3), color=None, fill=(0, 0, 0), width=0
        )

    if style == "lines":
        for y in ys:
            page.draw_line((x0, y), (x1, y), width=0.8)
        for x in xs:
            page.draw_line((x, y0), (x, y1), width=0.8)
    elif style == "rects":
        for top, bottom in zip(ys, ys[1:]):
            for left, right in zip(xs, xs[1:]):
                page.draw_rect((left, top, right, bottom), width=0.8)
    elif style == "filled":
        for y in ys:
            hairline((x0, y), (x1, y))
        for x in xs:
            hairline((x, y0), (x, y1))
    elif style == "mixed":
        page.draw_rect((x0, y0, x1, y1), width=0.8)
        for y in ys[1:-1]:
            hairline((x0, y), (x1, y))
        for x in xs[1:-1]:
            page.draw_line((x, y0), (x, y1), width=0.8)
    else:
        raise ValueError(f"unknown ruling style {style!r}")
    for r, row in enumerate(grid):
        for c, cell in enumerate(row):
            page.insert_text((xs[c] + 4, ys[r] + row_height - 6), str(cell), fontsize=fontsize)
    return y1


def make_ruled_styles_pdf(
    path, header: list[str], rows: list[list[str]], styles=RULING_STYLES
) -> Path:
    """One page per ruling style, each with a heading, a paragraph and the same table."""
    import pymupdf

    doc = pymupdf.open()
    for style in styles:
        page = doc.new_page()
        page.insert_text((72, 90), f"Table ruled with {style}", fontsize=14)
        page.insert_text((72, 115), "The figures below are in thousands of units.", fontsize=11)
        draw_ruled_grid(page, (72, 135), header, rows, style)
    doc.save(str(path))
    doc.close()
    return Path(path)


# ---- Word, PowerPoint, web pages, Markdown, text, EPUB ---------------------------------------

GUIDE_TITLE = "Teapot Guide"
GUIDE_SECTIONS = [  # (heading, paragraph): each section answers one question
    ("Installation", "Unpack the kettle and rinse it twice with warm water before first use."),
    ("Brewing", "Steep green tea for two minutes at seventy degrees; black tea takes four."),
    ("Cleaning", "Descale the kettle every month with a spoon of citric acid."),
]
GUIDE_TABLE_HEADER = ["Tea", "Minutes", "Degrees"]
GUIDE_TABLE_ROWS = [["green", "2", "70"], ["black", "4", "95"], ["oolong", "3", "85"]]


def make_docx(
    path,
    title: str = GUIDE_TITLE,
    sections=GUIDE_SECTIONS,
    table=(GUIDE_TABLE_HEADER, GUIDE_TABLE_ROWS),
    table_after: int = 1,
) -> Path:
    """A Word file: a title, a preamble, one Heading 1 per section; the table goes after
    section `table_after` (0-based)."""
    import docx

    document = docx.Document()
    document.add_heading(title, level=0)
    document.add_paragraph("This guide explains the kettle from unpacking to cleaning.")
    for i, (heading, body) in enumerate(sections):
        document.add_heading(heading, level=1)
        document.add_paragraph(body)
        if table and i == table_after:
            header, rows = table
            grid = document.add_table(rows=1 + len(rows), cols=len(header))
            for r, row in enumerate([header] + rows):
                for c, cell in enumerate(row):
                    grid.cell(r, c).text = cell
    document.save(str(path))
    return Path(path)


SLIDE_TABLE_HEADER = ["Region", "Q1", "Q2", "Total"]
SLIDE_TABLE_ROWS = [["Seoul", "120", "135", "255"], ["Busan", "80", "95", "175"]]
SLIDES = [  # (title, body, notes)
    ("Quarterly review", "Northwind Tea, second quarter", ""),
    ("Revenue", "Revenue rose in every region", "Mention the Jeju pop-up store."),
    ("Next steps", "Hire 35 engineers for the bottling line", "Ask finance about the budget."),
]


def make_pptx(
    path, slides=SLIDES, table_slide: int = 2, table=(SLIDE_TABLE_HEADER, SLIDE_TABLE_ROWS)
) -> Path:
    """A deck: a title and a text box per slide, speaker notes, a table on `table_slide`."""
    import pptx
    from pptx.util import Inches

    deck = pptx.Presentation()
    for number, (title, body, notes) in enumerate(slides, start=1):
        slide = deck.slides.add_slide(deck.slide_layouts[5])  # title only
        slide.shapes.title.text = title
        box = slide.shapes.add_textbox(Inches(1), Inches(1.6), Inches(8), Inches(1))
        box.text_frame.text = body
        if notes:
            slide.notes_slide.notes_text_frame.text = notes
        if table and number == table_slide:
            header, rows = table
            shape = slide.shapes.add_table(
                1 + len(rows), len(header), Inches(1), Inches(3), Inches(8), Inches(2)
            )
            for r, row in enumerate([header] + rows):
                for c, cell in enumerate(row):
                    shape.table.cell(r, c).text = cell
    deck.save(str(path))
    return Path(path)


def guide_html(title: str = GUIDE_TITLE) -> str:
    """The guide as a web page with the clutter real pages have (scripts, nav, inline tags)."""
    cells = "".join(f"<th>{h}</th>" for h in GUIDE_TABLE_HEADER)
    rows = "".join(
        "<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in GUIDE_TABLE_ROWS
    )
    parts = [
        f"<h2>{h}</h2><p>{b.replace('kettle', '<b>kettle</b>')}</p>" for h, b in GUIDE_SECTIONS
    ]
    parts.insert(2, f"<table><thead><tr>{cells}</tr></thead><tbody>{rows}</tbody></table>")
    return (
        f"<!DOCTYPE html><html><head><title>{title}</title><style>p {{color: red}}</style>"
        f"<script>var secret = 'do not index';</script></head><body>"
        f"<nav><a href='/'>Home</a></nav><h1>{title}</h1>"
        f"<p>This guide explains the<br>kettle from unpacking to cleaning.</p>"
        + "".join(parts)
        + "</body></html>"
    )


def guide_markdown(title: str = GUIDE_TITLE) -> str:
    lines = [f"# {title}", "", "This guide explains the kettle from unpacking to cleaning.", ""]
    for i, (heading, body) in enumerate(GUIDE_SECTIONS):
        lines += [f"## {heading}", "", body, ""]
        if i == 1:
            lines += [
                "| " + " | ".join(GUIDE_TABLE_HEADER) + " |",
                "|" + "---|" * len(GUIDE_TABLE_HEADER),
            ]
            lines += ["| " + " | ".join(row) + " |" for row in GUIDE_TABLE_ROWS] + [""]
    lines += ["```", "# not a heading: code", "```"]
    return "\n".join(lines)


def make_epub(path, chapters=GUIDE_SECTIONS, title: str = GUIDE_TITLE) -> Path:
    """A minimal EPUB 2 book, one XHTML file per chapter (written as a zip by hand)."""
    import zipfile

    container = (
        '<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:'
        'opendocument:xmlns:container"><rootfiles><rootfile full-path="OEBPS/content.opf"'
        ' media-type="application/oebps-package+xml"/></rootfiles></container>'
    )
    items = "".join(
        f'<item id="c{i}" href="c{i}.xhtml" media-type="application/xhtml+xml"/>'
        for i in range(len(chapters))
    )
    spine = "".join(f'<itemref idref="c{i}"/>' for i in range(len(chapters)))
    opf = (
        '<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="2.0" '
        'unique-identifier="id"><metadata xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f'<dc:title>{title}</dc:title><dc:identifier id="id">guide-1</dc:identifier>'
        "<dc:language>en</dc:language></metadata><manifest>"
        '<item id="ncx" href="toc.ncx" media-type="application/x-dtbncx+xml"/>'
        f'{items}</manifest><spine toc="ncx">{spine}</spine></package>'
    )
    points = "".join(
        f'<navPoint id="n{i}" playOrder="{i + 1}"><navLabel><text>{h}</text>'
        f'</navLabel><content src="c{i}.xhtml"/></navPoint>'
        for i, (h, _) in enumerate(chapters)
    )
    ncx = (
        '<?xml version="1.0"?><ncx xmlns="http://www.daisy.org/z3986/2005/ncx/" version="2005-1">'
        f"<head/><docTitle><text>{title}</text></docTitle><navMap>{points}</navMap></ncx>"
    )
    with zipfile.ZipFile(str(path), "w") as z:
        z.writestr(zipfile.ZipInfo("mimetype"), "application/epub+zip")
        z.writestr("META-INF/container.xml", container)
        z.writestr("OEBPS/content.opf", opf)
        z.writestr("OEBPS/toc.ncx", ncx)
        for i, (heading, body) in enumerate(chapters):
            table = guide_html().split("<table>")[1].split("</table>")[0] if i == 1 else ""
            z.writestr(
                f"OEBPS/c{i}.xhtml",
                '<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><head>'
                f"<title>{title}</title></head><body><h1>{heading}</h1><p>{body}</p>"
                + (f"<table>{table}</table>" if table else "")
                + "</body></html>",
            )
    return Path(path)


def render_sentence_image(text: str, size: int = 48):
    """A PIL image of one line of text in Pillow's own font, as big as `size` pixels."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default(size=size)
    left, top, right, bottom = font.getbbox(text)
    image = Image.new("RGB", (right + 2 * size, bottom + 2 * size), "white")
    ImageDraw.Draw(image).text((size, size), text, fill="black", font=font)
    return image


def make_image_pdf(path, image, width: float = 500) -> Path:
    """One page holding only a picture (no text layer): a scan, `width` points wide."""
    import io

    import pymupdf

    png = io.BytesIO()
    image.save(png, format="PNG")
    height = width * image.height / image.width
    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_image(pymupdf.Rect(50, 100, 50 + width, 100 + height), stream=png.getvalue())
    doc.save(str(path))
    doc.close()
    return Path(path)
