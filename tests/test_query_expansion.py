"""Korean questions about English documents: the search query gets English terms
(chatbot/query.py)."""

from __future__ import annotations

import random

from chatbot.conversation import Conversation
from chatbot.query import expand_query, glossary
from chatbot.retrieval import keyword_tokens
from tests import docfixtures as df

QUESTION = "플러그인 설치 디렉터리는 어디인가요?"  # where is the plugin installation directory?
ANSWER_PAGE = 5
ANSWER = (
    "Plugins. To install a plugin, copy its package into the installation directory "
    "named /opt/acme/plugins and restart the service."
)


def manual_pdf(path):
    """An English manual too long to go whole into the context: seven pages of report prose,
    one of them about installing plugins."""
    rng = random.Random(7)
    pages = [
        (f"Chapter {n}", ANSWER if n == ANSWER_PAGE else df.synthetic_page_text(rng, 12))
        for n in range(1, 8)
    ]
    return df.make_text_pdf(path, pages)


def test_korean_words_get_english_terms_in_the_questions_order():
    e = expand_query(QUESTION)
    assert e.added == (("설치", "install installation"), ("디렉터리", "directory"))
    assert e.text == QUESTION + " install installation directory"
    assert "설치 → install installation" in e.describe()


def test_english_questions_and_unknown_korean_words_are_left_alone():
    assert (
        expand_query("Where is the installation directory?").text
        == "Where is the installation directory?"
    )
    assert expand_query("안녕하세요").added == ()


def test_longer_entries_win_spacing_is_optional_and_expanding_twice_changes_nothing():
    assert expand_query("작업 디렉터리").added == (("작업 디렉터리", "working directory"),)
    assert (
        expand_query("운영체제").added
        == expand_query("운영 체제").added
        == (("운영 체제", "operating system"),)
    )
    once = expand_query(QUESTION).text
    assert expand_query(once).text == once and expand_query(once).added == ()
    assert expand_query("설치 directory").added == (("설치", "install installation"),)


def test_the_glossary_has_no_single_syllables_and_no_duplicates():
    korean = [ko for _, ko, _ in glossary()]
    assert len(korean) == len(set(korean)) > 200
    assert all(len(ko.replace(" ", "")) >= 2 for ko in korean), (
        "one syllable hides inside other words"
    )


def test_bm25_finds_the_english_page_only_through_the_added_terms(tmp_path):
    from chatbot.ingest.documents import ingest_document
    from chatbot.profiles import embeddings_for_profile
    from chatbot.retrieval import DocumentIndex

    index = DocumentIndex(embeddings_for_profile("tiny"))
    index.add(ingest_document(str(manual_pdf(tmp_path / "manual.pdf"))))
    assert not set(keyword_tokens(QUESTION)) & {
        t for c in index.chunks for t in keyword_tokens(c.text)
    }
    index.start_embedding()  # keywords serve while the (random tiny) embedder runs
    found = index.search(expand_query(QUESTION).text)
    assert found[0].page == ANSWER_PAGE
    index.wait_embedded()  # no import of transformers left running beside the next test's


def test_the_retrieval_step_says_the_query_was_expanded(pipe, tmp_path):
    conv = Conversation()
    list(pipe.respond(conv, QUESTION, [str(manual_pdf(tmp_path / "manual.pdf"))]))
    reply = conv.turns[-1]
    step = next(s for s in reply.steps if s.key == "retrieval")
    assert reply.error is None and "설치 → install installation" in step.detail
    assert "[p. 5]" in step.detail.split("\n\n", 1)[1]  # among the passages given to the LLM
