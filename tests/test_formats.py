"""Documents as people have them: every kind of table ruling, scans, Word, PowerPoint, web
pages, Markdown, text and EPUB files written in-process; citation units; BM25-first
retrieval while embeddings compute in the background; highlighted quotes on a page."""

from __future__ import annotations

import threading
import zipfile

import docfixtures as fx
import formatfixtures as ff
import numpy as np
import pytest

from chatbot.config import WHOLE_DOCUMENT_CHARS, RetrievalConfig
from chatbot.ingest import documents, office, sections
from chatbot.ingest.documents import ingest_document
from chatbot.ingest.ocr import Piece, group_lines, join_line
from chatbot.ingest.pdfpages import render_highlighted, render_page
from chatbot.messages import UserError
from chatbot.retrieval import DocumentIndex, Passage

HEADER = ["Item", "Spring", "Autumn"]
ROWS = [["tea bags", "120", "135"], ["green tea", "80", "95"], ["iced tea", "40", "52"]]
GUIDE_LABELS = ["Teapot Guide", "Installation", "Brewing", "Cleaning"]


@pytest.fixture(autouse=True)
def _fresh_cache():
    documents.clear_cache()
    yield
    documents.clear_cache()


# ---- ruled tables ---------------------------------------------------------------------


def test_every_kind_of_ruling_makes_a_table(tmp_path):
    """Separate line strokes (each rule a zero-height drawing), cell outlines, thin filled
    rectangles and a mix: each gives the same 3x3 table, and its cells leave the text."""
    doc = ingest_document(str(ff.make_ruled_styles_pdf(tmp_path / "t.pdf", HEADER, ROWS)), "t.pdf")
    assert len(doc.pages) == len(ff.RULING_STYLES)
    for page, style in zip(doc.pages, ff.RULING_STYLES):
        assert len(page.tables) == 1, style
        (table,) = page.tables
        assert table.shape == (3, 3), style
        assert table.header == HEADER and table.rows == ROWS, style
        assert table.df["Spring"].sum() == 240, style
        assert "green tea" not in page.text and "thousands of units" in page.text, style


# ---- OCR: lines and word spacing -------------------------------------------------------

SENTENCE = "The quick brown fox jumps over the lazy dog near the river bank"


def test_scanned_sentence_keeps_its_spaces(tmp_path):
    """A line the detector splits into overlapping pieces comes back as one spaced line."""
    path = ff.make_image_pdf(tmp_path / "scan.pdf", ff.render_sentence_image(SENTENCE, 48))
    (page,) = ingest_document(str(path), "scan.pdf").pages
    assert page.ocr
    text = " ".join(page.text.lower().split())
    assert "quick brown fox" in text and "lazy dog" in text and "river bank" in text


def test_pieces_become_lines():
    """Pieces sort into lines by vertical overlap, left to right, joined by a space; what
    two overlapping pieces both read is kept once ('brown f' + 'n fox')."""
    pieces = [
        Piece(400, 52, 600, 88, "over the dog"),
        Piece(10, 110, 300, 150, "second line"),
        Piece(10, 50, 210, 90, "The quick brown f"),
        Piece(180, 55, 390, 95, "n fox jumps"),
    ]
    lines = group_lines(pieces)
    assert [[p.text for p in line] for line in lines] == [
        ["The quick brown f", "n fox jumps", "over the dog"],
        ["second line"],
    ]
    assert join_line(lines[0]) == "The quick brown fox jumps over the dog"
    # no overlap: nothing is dropped even where the text repeats
    assert (
        join_line([Piece(0, 0, 50, 9, "the end"), Piece(60, 0, 99, 9, "end  game")])
        == "the end end game"
    )


# ---- formats as files --------------------------------------------------------------------


def _write(tmp_path, kind: str):
    path = (
        tmp_path
        / {
            "docx": "guide.docx",
            "html": "guide.html",
            "markdown": "guide.md",
            "text": "guide.txt",
            "epub": "guide.epub",
        }[kind]
    )
    if kind == "docx":
        return ff.make_docx(path)
    if kind == "epub":
        return ff.make_epub(path)
    path.write_text(ff.guide_html() if kind == "html" else ff.guide_markdown(), encoding="utf-8")
    return path


@pytest.mark.parametrize("kind", ["docx", "html", "markdown", "epub"])
def test_headings_become_sections_and_tables_stay_tables(tmp_path, kind):
    doc = ingest_document(str(_write(tmp_path, kind)))
    assert doc.kind == kind and doc.unit == "§"
    labels = [p.label for p in doc.pages]
    assert labels == (GUIDE_LABELS[1:] if kind == "epub" else GUIDE_LABELS)
    brewing = doc.pages[labels.index("Brewing")]
    assert "seventy degrees" in brewing.text
    (table,) = doc.tables
    assert table.shape == (3, 3) and table.header == ff.GUIDE_TABLE_HEADER
    assert table.rows == ff.GUIDE_TABLE_ROWS and table.page == brewing.number
    assert table.df["Minutes"].sum() == 9
    whole = "\n".join(p.text for p in doc.pages)
    assert "secret" not in whole and "p {" not in whole and "Home" not in whole  # no script/nav
    assert kind == "epub" or "kettle from unpacking" in " ".join(whole.split())
    assert f"{len(doc.pages)} sections, 1 table" in doc.summary()


def test_markdown_code_is_not_a_heading_and_text_keeps_pipes_as_text(tmp_path):
    md = ingest_document(str(_write(tmp_path, "markdown")))
    assert "# not a heading: code" in md.pages[-1].text
    txt = ingest_document(str(_write(tmp_path, "text")))
    assert [p.label for p in txt.pages] == GUIDE_LABELS and not txt.tables
    assert "| green | 2 | 70 |" in txt.pages[2].text


def test_plain_text_without_headings_is_cut_into_numbered_sections(tmp_path, monkeypatch):
    monkeypatch.setattr(sections, "SECTION_CHARS", 100)
    paragraphs = [
        f"Paragraph {i} talks about topic {i} at some length, enough to fill a line."
        for i in range(6)
    ]
    path = tmp_path / "notes.txt"
    path.write_bytes("\n\n".join(paragraphs).encode("cp949"))
    doc = ingest_document(str(path))
    assert len(doc.pages) == 3 and all(p.label == "" for p in doc.pages)
    index = DocumentIndex("unused")
    index.add(doc)
    text, passages = index.context("topic 3")
    assert [p.cite() for p in passages] == ["[§ 1]", "[§ 2]", "[§ 3]"]


def test_slides_notes_and_tables(tmp_path):
    doc = ingest_document(str(ff.make_pptx(tmp_path / "deck.pptx")), "deck.pptx")
    assert doc.kind == "pptx" and doc.unit == "slide"
    assert [(p.number, p.label) for p in doc.pages] == [
        (1, "Quarterly review"),
        (2, "Revenue"),
        (3, "Next steps"),
    ]
    assert "Speaker notes: Ask finance about the budget." in doc.pages[2].text
    assert doc.pages[2].text.startswith("Next steps\n\nHire 35 engineers")
    (table,) = doc.pages[1].tables
    assert table.header == ff.SLIDE_TABLE_HEADER and table.rows == ff.SLIDE_TABLE_ROWS
    assert doc.summary().startswith("deck.pptx: presentation, 3 slides, 1 table")


def test_citation_units_follow_the_document_kind(tmp_path):
    index = DocumentIndex("unused")
    index.add(ingest_document(str(ff.make_pptx(tmp_path / "deck.pptx")), "deck.pptx"))
    index.add(ingest_document(str(ff.make_docx(tmp_path / "g.docx")), "guide.docx"))
    text, _ = index.context("anything")
    assert '<excerpt cite="[deck.pptx slide 2]"' in text
    assert '<excerpt cite="[guide.docx § Installation]"' in text
    assert Passage("g.md", 4, "t", unit="§", label="Set-up [beta]").cite() == "[§ Set-up _beta_]"
    assert Passage("g.txt", 4, "t", unit="§").cite() == "[§ 4]"
    assert Passage("d.pptx", 3, "t", unit="slide", label="Revenue").cite() == "[slide 3]"
    assert Passage("r.pdf", 3, "t", label="ignored").cite() == "[p. 3]"
    chunks = index.chunks
    table = next(c for c in chunks if c.kind == "table" and c.file == "deck.pptx")
    assert table.text.startswith("Table on slide 2") and table.cite() == "[slide 2]"
    table = next(c for c in chunks if c.kind == "table" and c.file == "guide.docx")
    assert table.text.startswith("Table in section 'Brewing'")


def _zip(path, members: dict[str, str]):
    with zipfile.ZipFile(str(path), "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


@pytest.mark.parametrize(
    "name, make, expected",
    [
        ("a.docx", lambda p: p.write_bytes(b"hello"), "not a Word document"),
        (
            "a.docx",
            lambda p: p.write_bytes(fx.make_report_pdf(p.with_suffix(".pdf")).read_bytes()),
            "its contents are a PDF",
        ),
        (
            "a.docx",
            lambda p: p.write_bytes(b"\xd0\xcf\x11\xe0" + b"\0" * 600),
            "password-protected",
        ),
        (
            "a.docx",
            lambda p: p.write_bytes(ff.make_docx(p).read_bytes()[:900]),
            "damaged or cut short",
        ),
        ("a.docx", lambda p: fx.make_xlsx(p), "without word/document.xml"),
        ("a.pptx", lambda p: ff.make_docx(p), "not a PowerPoint presentation"),
        ("a.epub", lambda p: _zip(p, {"mimetype": "application/epub+zip"}), "not a EPUB"),
        ("a.epub", lambda p: _zip(p, {"META-INF/container.xml": "<container"}), "not a valid EPUB"),
        (
            "a.txt",
            lambda p: p.write_bytes(fx.render_text_image("x").tobytes()[:50] + b"\0"),
            "binary",
        ),
        ("a.md", lambda p: fx.make_png_as_pdf(p), "PNG image"),
        ("a.html", lambda p: p.write_text("<html><script>x()</script></html>"), "contains no text"),
    ],
)
def test_unreadable_files_say_why(tmp_path, name, make, expected):
    path = tmp_path / name
    make(path)
    with pytest.raises(UserError, match=expected) as info:
        ingest_document(str(path), name)
    assert name in str(info.value)


def test_drm_epub_is_refused(tmp_path):
    path = ff.make_epub(tmp_path / "b.epub")
    with zipfile.ZipFile(str(path), "a") as z:
        z.writestr("META-INF/encryption.xml", "<encryption><CipherReference URI='OEBPS/c1.xhtml'/>")
    with pytest.raises(UserError, match="DRM"):
        ingest_document(str(path), "b.epub")


def test_limits_are_named(tmp_path, monkeypatch):
    monkeypatch.setattr(sections, "MAX_DOCUMENT_CHARS", 100)
    with pytest.raises(UserError, match="MAX_DOCUMENT_CHARS"):
        ingest_document(str(ff.make_docx(tmp_path / "g.docx")))
    path = tmp_path / "g.md"
    path.write_text(ff.guide_markdown())
    with pytest.raises(UserError, match="limit is 100 per document"):
        ingest_document(str(path))
    monkeypatch.setattr(office, "MAX_SLIDES", 2)
    with pytest.raises(UserError, match=r"3 slides; the limit is 2 .*MAX_SLIDES"):
        ingest_document(str(ff.make_pptx(tmp_path / "d.pptx")))


# ---- BM25 first, embeddings in the background ------------------------------------------------


class SlowEmbedder:
    """Stands in for a sentence-transformer: chunk batches wait until `go` is set."""

    def __init__(self):
        self.go = threading.Event()

    def encode(self, texts, **kwargs):
        if threading.current_thread().name == "document-embedding":
            assert self.go.wait(30)
        rng = [np.random.default_rng(abs(hash(t)) % 2**32) for t in texts]
        vectors = np.stack([r.standard_normal(8) for r in rng]).astype(np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_keywords_answer_while_embeddings_compute(tmp_path, monkeypatch):
    import chatbot.embeddings

    model = SlowEmbedder()
    monkeypatch.setattr(chatbot.embeddings, "load_embedder", lambda path: model)
    index = DocumentIndex("slow")
    index.add(ingest_document(str(fx.make_report_pdf(tmp_path / "r.pdf")), "report.pdf"))
    assert index.start_embedding() is None  # small enough to go whole: nothing to embed
    index = DocumentIndex("slow", RetrievalConfig(whole_document_chars=100))  # as if it were long
    index.add(ingest_document(str(fx.make_report_pdf(tmp_path / "r.pdf")), "report.pdf"))
    thread = index.start_embedding()
    assert thread is not None and index.start_embedding() is None  # one thread at a time
    found = index.search("How many engineers will be hired?", k=2)
    assert index.last_mode == "bm25" and found[0].page == 4 and found[0].score == 1.0
    text, passages = index.context("engineers", budget_chars=700)
    assert index.last_mode == "bm25" and passages[0].page == 4
    assert index.embedding_progress == (0, len(index.chunks))
    model.go.set()
    assert index.wait_embedded(30) and index.embedded
    index.search("engineers")
    assert index.last_mode == "hybrid"
    index.context("engineers", budget_chars=WHOLE_DOCUMENT_CHARS)
    assert index.last_mode == "whole"
    # a document added later is embedded in the background too
    model.go.clear()
    index.add(ingest_document(str(fx.make_csv(tmp_path / "c.csv")), "cities.csv"))
    assert not index.embedded and index.search("population")[0].file == "cities.csv"
    assert index.last_mode == "bm25"
    model.go.set()
    assert index.wait_embedded(30)


def test_no_shared_word_gets_the_opening_chunks_without_waiting_for_the_embeddings(
    tmp_path, monkeypatch
):
    import chatbot.embeddings

    model = SlowEmbedder()  # its batches wait until `go`: nothing gets embedded here
    monkeypatch.setattr(chatbot.embeddings, "load_embedder", lambda path: model)
    index = DocumentIndex("slow", RetrievalConfig(whole_document_chars=100))
    index.add(ingest_document(str(fx.make_report_pdf(tmp_path / "r.pdf")), "report.pdf"))
    table = fx.make_table_pdf(tmp_path / "t.pdf", [[(["Item", "Qty"], [["fig", "2"]])]])
    index.add(ingest_document(str(table), "t.pdf"))
    assert index.start_embedding() is not None
    found = index.search("zzzz qqqq", k=3)  # no keyword anywhere: at once, not dense
    assert index.last_mode == "opening" and not index.embedded
    first = [c for c in index.chunks if c.file == "report.pdf"][0]
    assert found[0].text == first.text and found[1].file == "t.pdf"  # each document's start
    assert [p.score for p in found] == sorted((p.score for p in found), reverse=True)
    model.go.set()
    assert index.wait_embedded(30)
    index.search("zzzz qqqq")
    assert index.last_mode == "dense"  # once the vectors are there, they rank it


# ---- highlights -------------------------------------------------------------------------------

QUOTE = (
    "The roasting plant runs on solar panels installed on the warehouse roof, which cover "
    "60 percent of its power."
)


def test_highlight_covers_the_quoted_words(tmp_path):
    import pymupdf

    path = fx.make_report_pdf(tmp_path / "r.pdf")
    image, rects = render_highlighted(str(path), 3, QUOTE, dpi=72)
    plain = render_page(str(path), 3, dpi=72)
    assert image.size == plain.size == (595, 842)
    with pymupdf.open(str(path)) as doc:
        page = doc[2]
        assert rects == [tuple(r) for r in page.search_for(QUOTE)] and len(rects) == 2
        for word in ("roasting", "warehouse", "power"):
            (hit,) = page.search_for(word)
            assert any(pymupdf.Rect(r).contains(hit) for r in rects), word
        (outside,) = page.search_for("compostable")
    x0, y0, x1, y1 = (int(v) for v in rects[1])
    marked = np.asarray(image)[y0 + 2 : y1 - 2, x0 + 2 : x1 - 2].reshape(-1, 3)
    background = marked[marked[:, :2].min(axis=1) > 200]  # not the glyphs
    assert len(background) > 100 and (background[:, 2] < 100).mean() > 0.9  # yellow
    assert np.asarray(image)[int(outside.y0) + 2, int(outside.x0) - 3].tolist() == [255, 255, 255]


def test_highlight_falls_back_to_sentences_and_first_words(tmp_path):
    path = fx.make_report_pdf(tmp_path / "r.pdf")
    _, rects = render_highlighted(str(path), 3, "[p. 3] It says so. " + QUOTE + " Not on the page.")
    assert len(rects) == 2  # the sentence that is there
    _, rects = render_highlighted(
        str(path),
        3,
        "All packaging switched to compostable paper in 2022, and nothing else here matches",
    )
    assert len(rects) == 1  # its first words
    image, rects = render_highlighted(str(path), 3, "words that are nowhere")
    assert rects == [] and image.tobytes() == render_page(str(path), 3).tobytes()
    _, rects = render_highlighted(str(path), 2, "| Region | Q1 |\n|---|---|\n| Busan | 80 |")
    assert len(rects) == 2  # a table passage: first cells
    with pytest.raises(ValueError):
        render_highlighted(str(path), 9, QUOTE)
