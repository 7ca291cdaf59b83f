"""A long PDF answers its first question from its text layer: the sorted text is PyMuPDF's,
faster; the draft's retrieved pages are read in full at once, the rest after the turn, and the
whole Document then takes the draft's place (its chunks, tables and vectors)."""

from __future__ import annotations

import threading

import docfixtures as fx
import formatfixtures as ff
import pytest

from chatbot.config import TEXT_FIRST_PAGES, RetrievalConfig
from chatbot.embeddings import TurnGate
from chatbot.ingest.documents import clear_cache, ingest_document
from chatbot.ingest.pdf import _ruling_box, ingest_text_first, read_pdf_layer
from chatbot.ingest.pdftext import sorted_text
from chatbot.profiles import embeddings_for_profile
from chatbot.retrieval import DocumentIndex
from chatbot.retrieval.chunks import chunk_document

PAGES = TEXT_FIRST_PAGES + 6


@pytest.fixture(autouse=True)
def _fresh_cache():
    clear_cache()


@pytest.fixture(scope="module")
def manual(tmp_path_factory):
    """(path, tables drawn) of a generated manual longer than TEXT_FIRST_PAGES."""
    path = tmp_path_factory.mktemp("manual") / "manual.pdf"
    return path, fx.make_synthetic_pdf(path, PAGES)


def _pdfs(folder, manual_path):
    header, rows = ["Name", "Qty", "Price"], [["apple", "3", "1.20"], ["fig", "2", "2.10"]]
    return [
        manual_path,
        fx.make_report_pdf(folder / "report.pdf"),
        fx.make_table_pdf(folder / "table.pdf", [[(header, rows)], [(header, rows)] * 2]),
        ff.make_ruled_styles_pdf(folder / "styles.pdf", header, rows),
        fx.make_text_pdf(folder / "korean.pdf", [("보고서", "한국어 문장입니다. 두 번째 줄.")]),
    ]


def test_sorted_text_is_pymupdfs(tmp_path, manual):
    import pymupdf

    pages = 0
    for path in _pdfs(tmp_path, manual[0]):
        with pymupdf.open(str(path)) as doc:
            for page in doc:
                assert sorted_text(page) == page.get_text(sort=True), (path.name, page.number)
                pages += 1
    assert pages > PAGES


def test_header_and_footer_rules_alone_skip_the_table_search(tmp_path):
    import pymupdf

    doc = pymupdf.open()
    page = doc.new_page()
    page.draw_line((72, 50), (540, 50))  # running header's rule
    page.draw_line((72, 740), (540, 740))  # footer's
    page.insert_text((72, 100), "Prose only.")
    assert _ruling_box(page) is None
    page.draw_rect((72, 200, 300, 260))  # a frame gives find_tables upright edges to try
    assert _ruling_box(page) is not None


def test_only_a_long_pdf_with_much_text_comes_as_its_text_layer(tmp_path, manual):
    path, _ = manual
    draft = ingest_text_first(str(path), "manual.pdf", 6000)
    assert draft is not None and not draft.complete and len(draft.pages) == PAGES
    assert not draft.tables and all(p.text for p in draft.pages)
    assert "text layer first" in draft.summary()
    assert [p.text for p in draft.pages] == [p.text for p in read_pdf_layer(path.read_bytes(), "")]
    assert ingest_text_first(str(path), "manual.pdf", 10**9) is None  # would fit whole
    short = fx.make_synthetic_pdf(tmp_path / "short.pdf", TEXT_FIRST_PAGES)
    assert ingest_text_first(str(tmp_path / "short.pdf"), "short.pdf", 100) is None and short
    ingest_document(str(path), "manual.pdf")
    assert ingest_text_first(str(path), "manual.pdf", 6000) is None  # parsed before: cached


def _table_question(drawn):
    """A question naming one cell of a table, and the table's page."""
    page, header, rows = drawn[len(drawn) // 2]
    return f"{rows[1][0]} {header[1]} {rows[1][1]}", page


def test_the_first_answer_reads_its_pages_in_full_and_the_rest_waits_for_the_turn(manual):
    path, drawn = manual
    gate = TurnGate(yield_s=3600)  # deterministic: the full read only runs between turns
    index = DocumentIndex(embeddings_for_profile("tiny"), RetrievalConfig(), gate)
    question, page = _table_question(drawn)
    with gate.answering():
        draft = ingest_text_first(str(path), "manual.pdf", index.cfg.whole_document_chars)
        index.add(draft)
        assert index.start_embedding() is None  # nothing of a draft is embedded
        text, passages = index.context(question)
        assert index.last_mode == "bm25" and index.reading
        done, _ = index.reading_progress.get(draft.sha256, (0, PAGES))
        assert done <= 1  # gave way to the turn after at most one page
        assert any(p.page == page and p.kind == "table" for p in passages)  # read in full now
        assert f"| {' | '.join(drawn[len(drawn) // 2][1])} |" in text
        assert not index.documents[0].complete
    assert index.wait_embedded(120)
    full = ingest_document(str(path), "manual.pdf")
    doc = index.documents[0]
    assert doc.complete and not index.reading and index.parse_error is None
    assert [t.markdown for t in doc.tables] == [t.markdown for t in full.tables]
    assert [c.text for c in index.chunks] == [c.text for c in chunk_document(full)]
    assert index.embedding_progress == (len(index.chunks), len(index.chunks))


def test_an_index_without_keywords_waits_for_the_full_read_then_the_vectors(manual):
    path, _ = manual
    cfg = RetrievalConfig(use_bm25=False)
    index = DocumentIndex(embeddings_for_profile("tiny"), cfg, TurnGate(3600))
    index.add(ingest_text_first(str(path), "manual.pdf", 6000))
    index.start_embedding()
    with index.gate.answering():  # the turn that needs the vectors does not hold them up
        assert index.search("zzzz qqqq")
    assert index.last_mode == "dense" and index.documents[0].complete and index.embedded


def test_a_full_read_that_fails_leaves_the_draft_serving(manual, monkeypatch):
    import chatbot.ingest.documents as documents

    path, _ = manual
    failed = threading.Event()

    def broken(*args):
        failed.set()
        raise RuntimeError("page 7 is damaged")

    monkeypatch.setattr(documents, "read_pages", broken)
    index = DocumentIndex(embeddings_for_profile("tiny"))
    draft = ingest_text_first(str(path), "manual.pdf", 6000)
    index.add(draft)
    index.start_embedding()
    assert index.wait_embedded(120) and failed.is_set()
    assert isinstance(index.parse_error, RuntimeError) and not index.reading
    assert index.documents[0].complete and len(index.documents[0].pages) == PAGES
    assert index.search("Section") and index.last_mode == "hybrid"
