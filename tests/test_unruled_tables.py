"""Tables without rules (aligned columns) in PDFs: found between prose, not found in prose
or code, and a table cut by a page break keeps its header. PDFs are written in-process."""

from __future__ import annotations

import json

import pymupdf
import pytest

from chatbot.ingest.documents import ingest_document
from chatbot.retrieval import Passage, chunk_document, with_page_tables
from tests.docfixtures import write_paragraph

COLUMNS = (72, 190, 330)  # x of each column: gaps of 40+ pt between cells
HEADER = ["Command", "Package", "Description"]
ROWS = [
    ["ls", "coreutils", "list directory contents"],
    ["grep", "grep", "print lines that match patterns"],
    ["tar", "tar", "an archiving utility"],
    ["rsync", "rsync", "fast remote file copy program"],
    ["sed", "sed", "stream editor for filtering text"],
]
BEFORE = (
    "The tools below come with every installation. Each one is small and does one "
    "job well, which is why the table lists the package that ships it."
)
INTRO = "The following commands are always installed:"
AFTER = (
    "Other tools are optional. Install them with the package manager when a task "
    "needs them, and remove them again when it is done."
)


def draw_aligned_rows(
    page, y: float, rows: list[list[str]], fontsize: float = 10, step: float = 15
) -> float:
    """Rows of cells at fixed column positions, no lines drawn; return the y below them."""
    for row in rows:
        for x, cell in zip(COLUMNS, row):
            page.insert_text((x, y), cell, fontsize=fontsize, fontname="helv")
        y += step
    return y


def table_page_pdf(path):
    doc = pymupdf.open()
    page = doc.new_page()
    y = write_paragraph(page, 72, BEFORE)
    y = write_paragraph(page, y, INTRO)
    y = draw_aligned_rows(page, y + 10, [HEADER] + ROWS)
    write_paragraph(page, y + 10, AFTER)
    doc.save(str(path))
    return path


def test_aligned_columns_between_prose_become_a_table(tmp_path):
    (page,) = ingest_document(str(table_page_pdf(tmp_path / "t.pdf")), "t.pdf").pages
    (table,) = page.tables
    assert table.header == HEADER
    assert table.rows == ROWS
    assert table.shape == (5, 3)
    assert table.caption == INTRO
    assert "Other tools are optional" in page.text and "The tools below" in page.text
    assert "rsync" not in page.text  # the table's text is left to the table


CODE = [
    "def copy(src, dst):          # copy one file",
    "    with open(src) as f:      # read it whole",
    "        data = f.read()",
    "    with open(dst, 'w') as g:",
    "        g.write(data)         # and write it back",
]
RAGGED = [
    "This paragraph is set ragged right, so its lines end",
    "wherever the words run out,",
    "and some are short while others run almost the whole width of the page.",
    "    An indented line follows, as in a quotation or a list item,",
    "and the paragraph goes on for a while before it ends.",
]


def test_ragged_prose_and_indented_code_are_not_tables(tmp_path):
    doc = pymupdf.open()
    page = doc.new_page()
    y = 72
    for line in RAGGED:
        page.insert_text((72, y), line, fontsize=11, fontname="helv")
        y += 15
    y += 20
    for line in CODE:
        page.insert_text((72, y), line, fontsize=10, fontname="cour")
        y += 13
    y += 20
    for i, item in enumerate(
        ["first point, said briefly", "second point, longer than the first", "third"]
    ):
        page.insert_text((72, y), f"{i + 1}.", fontsize=11, fontname="helv")
        page.insert_text((92, y), item, fontsize=11, fontname="helv")
        y += 15
    doc.save(str(tmp_path / "p.pdf"))
    (read,) = ingest_document(str(tmp_path / "p.pdf"), "p.pdf").pages
    assert read.tables == []
    assert "almost the whole width" in read.text and "g.write(data)" in read.text


def split_table_pdf(path, repeat_header: bool):
    """Page 1: prose, then the table's header and first rows down to the page's end;
    page 2: the remaining rows at the top (the header repeated or not), then prose."""
    doc = pymupdf.open()
    page = doc.new_page()
    y = write_paragraph(page, 72, BEFORE)
    y = write_paragraph(page, y, INTRO)
    first = [[f"cmd{i}", f"pkg{i}", f"does thing {i}"] for i in range(1, 41)]
    draw_aligned_rows(page, y + 10, [HEADER] + first)  # down to the page's foot
    page = doc.new_page()
    rest = [[f"cmd{i}", f"pkg{i}", f"does thing {i}"] for i in range(41, 46)]
    y = draw_aligned_rows(page, 72, ([HEADER] if repeat_header else []) + rest)
    write_paragraph(page, y + 10, AFTER)
    doc.save(str(path))
    return path


def test_a_table_cut_by_a_page_break_keeps_its_header(tmp_path):
    doc = ingest_document(str(split_table_pdf(tmp_path / "s.pdf", False)), "s.pdf")
    (top,), (rest,) = doc.pages[0].tables, doc.pages[1].tables
    assert top.header == HEADER and top.shape == (40, 3) and top.caption == INTRO
    assert rest.header == HEADER  # carried from page 1
    assert rest.rows[0] == ["cmd41", "pkg41", "does thing 41"]
    assert rest.shape == (5, 3)
    assert rest.caption.startswith(INTRO)
    (chunk,) = [c for c in chunk_document(doc) if c.kind == "table" and c.page == 2]
    assert "| Command | Package | Description |" in chunk.text and "cmd45" in chunk.text


def test_a_repeated_header_is_not_carried_twice(tmp_path):
    doc = ingest_document(str(split_table_pdf(tmp_path / "r.pdf", True)), "r.pdf")
    (rest,) = doc.pages[1].tables
    assert rest.header == HEADER
    assert rest.rows[0][0] == "cmd41" and rest.shape == (5, 3)


def _passage(page: int, kind: str, score: float, file: str = "a.pdf") -> Passage:
    return Passage(file, page, f"{kind} of page {page}", score=score, kind=kind)


def test_a_retrieved_page_brings_its_table():
    ranked = [
        _passage(3, "text", 1.5),
        _passage(7, "text", 1.2),
        _passage(3, "text", 1.1),
        _passage(9, "table", 1.0),
        _passage(4, "text", 0.6),
        _passage(3, "table", 0.4),
        _passage(7, "table", 0.3),
        _passage(7, "table", 0.2),
        _passage(5, "table", 0.1),
    ]
    got = with_page_tables(ranked, 4)
    assert [(p.page, p.kind) for p in got] == [
        (3, "text"),
        (3, "table"),
        (7, "text"),
        (7, "table"),
        (3, "text"),
        (9, "table"),
    ]
    assert got[3].score == 0.3  # the page's best-ranked table chunk
    other_file = [_passage(3, "text", 1.0), _passage(3, "table", 0.5, file="b.pdf")]
    assert with_page_tables(other_file, 1) == other_file[:1]


def test_eval_tables_reports_precision_from_labels(tmp_path, capsys):
    from scripts import eval_tables

    table_page_pdf(tmp_path / "t.pdf")
    eval_tables.main(["--docs", str(tmp_path), "--out", str(tmp_path / "d.jsonl"), "t.pdf"])
    (found,) = [json.loads(line) for line in (tmp_path / "d.jsonl").read_text().splitlines()]
    assert found["page"] == 1 and found["shape"] == [5, 3] and found["rows"][0] == HEADER
    label = {"doc": "t.pdf", "page": 1, "bbox": found["bbox"], "is_table": True, "note": ""}
    (tmp_path / "l.jsonl").write_text(json.dumps(label) + "\n")
    eval_tables.main(
        [
            "--docs",
            str(tmp_path),
            "--out",
            str(tmp_path / "d.jsonl"),
            "--labels",
            str(tmp_path / "l.jsonl"),
            "t.pdf",
        ]
    )
    assert "precision 1.00 (1 of 1 labelled" in capsys.readouterr().out


@pytest.mark.parametrize(
    "words, expect",
    [
        ([], []),
        ([(72, 100, 90, 110, "one", 0, 0, 0)], []),
    ],
)
def test_find_unruled_on_nearly_empty_pages(words, expect):
    from chatbot.ingest.unruled import find_unruled

    assert find_unruled(words) == expect
