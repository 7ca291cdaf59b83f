"""Documents ingestion on real PDFs, CSVs and XLSX files written in-process."""

from __future__ import annotations

import docfixtures as fx
import pytest

from chatbot.config import MAX_PDF_PAGES, MAX_TABLE_CELLS
from chatbot.ingest import documents, pdf
from chatbot.ingest import sheets as spreadsheets
from chatbot.ingest.documents import ingest_document
from chatbot.ingest.pdfpages import render_page
from chatbot.messages import UserError


@pytest.fixture(autouse=True)
def _fresh_cache():
    documents.clear_cache()
    yield
    documents.clear_cache()


def test_report_pdf_pages_text_and_ruled_table(tmp_path):
    """Page numbers are 1-based, text keeps reading order, the ruled table becomes a table."""
    doc = ingest_document(str(fx.make_report_pdf(tmp_path / "r.pdf")), "report.pdf")
    assert doc.kind == "pdf" and doc.name == "report.pdf" and len(doc.sha256) == 64
    assert [p.number for p in doc.pages] == [1, 2, 3, 4]
    for page, (title, _) in zip(doc.pages, fx.REPORT_PAGES):
        assert page.text.startswith(title)
    assert "35 engineers" in doc.pages[3].text
    (table,) = doc.pages[fx.REPORT_TABLE_PAGE - 1].tables
    assert table.page == fx.REPORT_TABLE_PAGE
    assert table.header == fx.REPORT_TABLE_HEADER
    assert table.rows == fx.REPORT_TABLE_ROWS
    assert table.markdown.splitlines()[0] == "| Region | Q1 | Q2 | Total |"
    assert "| Busan | 80 | 95 | 175 |" in table.markdown
    assert table.df["Total"].sum() == 255 + 175 + 92  # numeric columns are numbers
    # the table's cells are not repeated in the page text
    assert "Seoul" not in doc.pages[1].text and "revenue per region" in doc.pages[1].text
    assert doc.n_chars == sum(p.n_chars for p in doc.pages) > 0
    assert doc.summary().startswith("report.pdf: PDF, 4 pages, 1 table")


def test_only_pages_without_text_layer_are_ocrd(tmp_path, monkeypatch):
    """A scanned page is read by OCR; pages with a text layer never pay for OCR."""
    from chatbot.ingest import ocr

    calls = []
    real = ocr.ocr_image
    monkeypatch.setattr(ocr, "ocr_image", lambda image: calls.append(image.size) or real(image))
    doc = ingest_document(str(fx.make_scanned_pdf(tmp_path / "s.pdf")), "scan.pdf")
    assert len(calls) == 1
    assert [p.ocr for p in doc.pages] == [False, True, False]
    assert "4711" in doc.pages[1].text and "INVOICE" in doc.pages[1].text.upper()
    assert "1 page read by OCR" in doc.summary()


def test_progress_reports_every_page(tmp_path):
    seen = []
    ingest_document(
        str(fx.make_report_pdf(tmp_path / "r.pdf")),
        "r.pdf",
        progress=lambda done, total: seen.append((done, total)),
    )
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]


def test_same_bytes_are_parsed_once(tmp_path, monkeypatch):
    """Re-uploading a file (even renamed) hits the sha256 cache instead of re-parsing."""
    calls = []
    real = pdf.read_pdf
    monkeypatch.setattr(pdf, "read_pdf", lambda *a: calls.append(1) or real(*a))
    path = fx.make_report_pdf(tmp_path / "r.pdf")
    copy = tmp_path / "copy.pdf"
    copy.write_bytes(path.read_bytes())
    first = ingest_document(str(path), "report.pdf")
    second = ingest_document(str(copy), "report (1).pdf")
    assert len(calls) == 1
    assert second.name == "report (1).pdf" and second.path == str(copy)
    assert second.sha256 == first.sha256 and second.pages is first.pages


@pytest.mark.parametrize(
    "make, expected",
    [
        (fx.make_encrypted_pdf, "password-protected"),
        (fx.make_truncated_pdf, "truncated"),
        (lambda p: fx.make_truncated_pdf(p, keep=0.3), "damaged"),
        (fx.make_png_as_pdf, "PNG image"),
        (fx.make_zero_page_pdf, "no pages"),
        (fx.make_blank_pdf, "no text"),
    ],
)
def test_unreadable_pdfs_say_why(tmp_path, make, expected):
    path = make(tmp_path / "bad.pdf")
    with pytest.raises(UserError, match=expected) as info:
        ingest_document(str(path), "bad.pdf")
    assert "bad.pdf" in str(info.value)


def test_empty_file_and_unknown_extension(tmp_path):
    (tmp_path / "e.pdf").write_bytes(b"")
    with pytest.raises(UserError, match="empty"):
        ingest_document(str(tmp_path / "e.pdf"), "e.pdf")
    (tmp_path / "x.pages").write_bytes(b"hello")
    with pytest.raises(UserError, match="not supported"):
        ingest_document(str(tmp_path / "x.pages"), "x.pages")


def test_page_limit_is_quoted(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(pdf, "read_pdf_page", lambda *a: calls.append(1))
    path = fx.make_many_pages_pdf(tmp_path / "big.pdf", MAX_PDF_PAGES + 1)
    with pytest.raises(UserError, match=f"limit is {MAX_PDF_PAGES} pages"):
        ingest_document(str(path), "big.pdf")
    assert calls == []  # refused before reading a single page


def test_csv_types_encoding_and_delimiter(tmp_path):
    doc = ingest_document(str(fx.make_csv(tmp_path / "c.csv")), "cities.csv")
    assert doc.kind == "table" and len(doc.pages) == 1
    (table,) = doc.tables
    assert table.header == ["city", "population", "country"]
    assert table.df["population"].max() == 9411000
    assert "| Lyon | 522000 | FR |" in table.markdown
    # Korean Excel exports CSV as cp949, often with semicolons
    path = tmp_path / "k.csv"
    path.write_bytes("도시;인구\n서울;941만\n부산;334만\n".encode("cp949"))
    (table,) = ingest_document(str(path), "k.csv").tables
    assert table.header == ["도시", "인구"] and table.rows[1] == ["부산", "334만"]


def test_xlsx_sheets_become_pages(tmp_path):
    doc = ingest_document(str(fx.make_xlsx(tmp_path / "w.xlsx")), "book.xlsx")
    assert [(p.number, p.label) for p in doc.pages] == [(1, "Sales"), (2, "Staff")]
    sales = doc.pages[0].tables[0]
    assert sales.header == ["product", "units", "price"] and sales.df["price"].sum() == 4.5 + 3.2
    assert sales.title == "Sales"
    assert "2 sheets (Sales 2x3, Staff 2x2)" in doc.summary()


@pytest.mark.parametrize("sheets", [{"Empty": []}, {"OnlyHeader": [["a", "b"]]}])
def test_spreadsheet_without_rows(tmp_path, sheets):
    path = fx.make_xlsx(tmp_path / "e.xlsx", sheets)
    with pytest.raises(UserError, match="no data rows"):
        ingest_document(str(path), "e.xlsx")
    (tmp_path / "h.csv").write_text("a,b\n")
    with pytest.raises(UserError, match="no data rows"):
        ingest_document(str(tmp_path / "h.csv"), "h.csv")


def test_sheet_over_cell_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(spreadsheets, "MAX_TABLE_CELLS", 10)
    path = fx.make_xlsx(tmp_path / "big.xlsx", {"Big": [["a", "b", "c"]] + [[1, 2, 3]] * 5})
    with pytest.raises(UserError, match="limit is 10 per sheet"):
        ingest_document(str(path), "big.xlsx")
    path = fx.make_csv(tmp_path / "big.csv", rows=[["x", "1", "y"]] * 5)
    with pytest.raises(UserError, match="limit is 10 per sheet"):
        ingest_document(str(path), "big.csv")
    assert MAX_TABLE_CELLS > 10  # the real limit is untouched


def test_pdf_renamed_xlsx_is_refused(tmp_path):
    path = tmp_path / "fake.xlsx"
    path.write_bytes(fx.make_report_pdf(tmp_path / "r.pdf").read_bytes())
    with pytest.raises(UserError, match="not an .xlsx workbook: its contents are a PDF"):
        ingest_document(str(path), "fake.xlsx")


def test_render_page_thumbnail(tmp_path):
    path = fx.make_report_pdf(tmp_path / "r.pdf")
    image = render_page(str(path), 2)
    assert image.size == (595, 842) and image.mode == "RGB"
    assert render_page(str(path), 1, dpi=36).size == (298, 421)
    with pytest.raises(ValueError):
        render_page(str(path), 5)
