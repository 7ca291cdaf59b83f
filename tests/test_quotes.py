"""The reply quotes the sentence that supports each citation, and the page thumbnail highlights
exactly that sentence (chatbot/quotes.py, steps.checkable)."""

from __future__ import annotations

import re

from chatbot.conversation import Conversation
from chatbot.quotes import (
    SOURCES_HEADING,
    cited,
    lead_block,
    lead_quote,
    own_words,
    sources_block,
    support_quotes,
    units,
    without_sources,
)
from chatbot.retrieval import Passage
from tests import docfixtures as df

PAGE_TEXT = (
    "Company overview\nNorthwind Tea was founded in 1998 in Busan by two sisters who imported\n"
    "green tea from Jeju island. The company now employs 240 people across three countries."
)
TABLE = (
    "Table on page 2 (Quarterly revenue)\n| Region | Q1 | Q2 | Total |\n|---|---|---|---|\n"
    "| Seoul | 120 | 135 | 255 |\n| Busan | 80 | 95 | 175 |"
)


def squash(text: str) -> str:
    return " ".join(text.split())


def test_units_are_sentences_and_table_rows_without_headings_or_caption():
    assert units(
        Passage("r.pdf", 1, PAGE_TEXT)
    ) == [  # the heading ends a sentence; too short to quote
        "Northwind Tea was founded in 1998 in Busan by two sisters who imported green tea "
        "from Jeju island.",
        "The company now employs 240 people across three countries.",
    ]
    assert units(Passage("r.pdf", 2, TABLE, kind="table")) == [
        "| Seoul | 120 | 135 | 255 |",
        "| Busan | 80 | 95 | 175 |",
    ]


def test_cited_passages_match_the_unit_exactly_with_or_without_the_file():
    passages = [
        Passage("r.pdf", 1, PAGE_TEXT),
        Passage("r.pdf", 12, TABLE, kind="table"),
        Passage("s.pptx", 2, "x", unit="slide", show_file=True),
    ]
    assert cited("It was founded in 1998 [p. 12].", passages) == [passages[1]]
    assert cited("See [s.pptx slide 2] and [slide 2].", passages) == [passages[2]]
    assert cited("See [p. 112] and [slide 22].", passages) == []


def test_each_citation_gets_the_sentence_sharing_most_words_with_the_reply():
    passages = [Passage("r.pdf", 1, PAGE_TEXT), Passage("r.pdf", 2, TABLE, kind="table")]
    quotes = support_quotes(
        "About 240 people work there, in three countries [p. 1]. Seoul made 255 [p. 2].",
        "How big is it?",
        passages,
    )
    assert [(q.passage.page, q.text, q.matched) for q in quotes] == [
        (1, "The company now employs 240 people across three countries.", "reply"),
        (2, "| Seoul | 120 | 135 | 255 |", "reply"),
    ]
    assert (
        quotes[0].info()["cite"] == "[r.pdf p. 1]" and quotes[0].info()["quote"] == quotes[0].text
    )


def test_a_reply_without_citations_or_shared_words_is_supported_through_the_question():
    passages = [Passage("r.pdf", 2, TABLE, kind="table"), Passage("r.pdf", 1, PAGE_TEXT)]
    quotes = support_quotes("zq zq zq", "When was Northwind Tea founded?", passages)
    assert [(q.passage.page, q.matched) for q in quotes] == [(1, "question")]
    assert support_quotes("zq", "zq?", passages) == []


def test_the_sentence_answering_the_question_leads_a_reply_that_does_not_state_it():
    passages = [Passage("r.pdf", 1, PAGE_TEXT), Passage("r.pdf", 2, TABLE, kind="table")]
    question = "In which year was Northwind Tea founded?"
    lead = lead_quote("The company is old [p. 1].", question, passages)
    assert lead is not None and lead.passage.page == 1 and lead.text.startswith("Northwind Tea was")
    block = lead_block(lead, "en")
    assert block.startswith("**The document says** [r.pdf p. 1]:") and f'> "{lead.text}"' in block
    reply = block + "The company is old [p. 1]." + sources_block([lead], "en")
    assert own_words(reply) == "The company is old [p. 1]."  # the model's words, labelled apart
    assert lead.text in without_sources(reply)  # what the reader sees first
    # a reply that states what the sentence adds to the question needs no lead
    said = "It was founded in 1998 in Busan by two sisters, importing green tea from Jeju [p. 1]."
    assert lead_quote(said, question, passages) is None
    assert lead_quote("zq", "zq zq?", passages) is None  # nothing shares a word with the question
    assert lead_block(None) == ""


def test_a_table_question_is_led_by_the_row_under_its_header_in_the_readers_language():
    passages = [Passage("r.pdf", 2, TABLE, kind="table"), Passage("r.pdf", 1, PAGE_TEXT)]
    lead = lead_quote("몰라요", "What was the Busan total?", passages)
    assert lead is not None and lead.text == "| Busan | 80 | 95 | 175 |"
    block = lead_block(lead, "ko")
    assert block.startswith("**문서 내용** [r.pdf p. 2]:") and "**모델의 답변:**" in block
    assert (
        "> | Region | Q1 | Q2 | Total |\n> |---|---|---|---|\n> | Busan | 80 | 95 | 175 |" in block
    )
    assert own_words(block + "몰라요") == "몰라요"


def test_a_document_answer_quotes_a_verbatim_sentence_highlighted_on_its_page(pipe, tmp_path):
    """Tiny profile (random weights: the reply's own words are noise, the question picks the
    sentence). The quote is a sentence of the cited page, the API info carries it, and the
    thumbnail's yellow lies on that sentence's words and hardly anywhere else."""
    import numpy as np
    import pymupdf
    from PIL import Image

    from chatbot.ingest.pdfpages import render_highlighted
    from chatbot.stages.cite import THUMBNAIL_DPI
    from chatbot.ui.handlers import api_reply

    pdf = df.make_report_pdf(tmp_path / "report.pdf")
    conv = Conversation()
    list(pipe.respond(conv, "When was Northwind Tea founded, and by whom?", [str(pdf)]))
    reply = conv.turns[-1]
    assert reply.error is None and SOURCES_HEADING in reply.text
    block = reply.text[len(without_sources(reply.text)) :]
    quoted = re.findall(r'^> "(.+)" — \[report\.pdf p\. (\d+)\]$', block, re.M)
    assert quoted, block
    quote, page = quoted[0][0], int(quoted[0][1])
    with pymupdf.open(pdf) as doc:
        page_text, words = doc[page - 1].get_text(), doc[page - 1].get_text("words")
    assert quote in squash(page_text) and len(quote.split()) >= 3, (
        "a verbatim sentence of the cited page"
    )
    assert api_reply(reply)[2]["sources"][0]["quote"] == quote
    korean = reply.text.replace(SOURCES_HEADING, "**출처**")  # a Korean reader's heading
    assert without_sources(korean) == without_sources(reply.text) != reply.text

    _, rects = render_highlighted(str(pdf), page, quote)
    boxes = [pymupdf.Rect(r) for r in rects]
    first = next(i for i in range(len(words)) if words[i][4] == quote.split()[0])
    run = words[first : first + len(quote.split())]
    assert [w[4] for w in run] == quote.split()
    for w in run:  # every quoted word lies inside the highlight
        assert any(
            b.contains(pymupdf.Point((w[0] + w[2]) / 2, (w[1] + w[3]) / 2)) for b in boxes
        ), w[4]

    pixels = np.asarray(Image.open(reply.files[0]).convert("RGB")).astype(int)
    yellow = (pixels[..., 0] > 200) & (pixels[..., 1] > 200) & (pixels[..., 2] < 170)
    inside = np.zeros_like(yellow)
    scale = THUMBNAIL_DPI / 72
    for b in boxes:
        inside[
            int(b.y0 * scale) - 1 : int(b.y1 * scale) + 2,
            int(b.x0 * scale) - 1 : int(b.x1 * scale) + 2,
        ] = True
    assert yellow[inside].sum() > 50, "the quoted sentence is highlighted"
    assert yellow[~inside].sum() < 0.05 * yellow.sum(), (
        "only the quoted sentence, not the whole passage"
    )
