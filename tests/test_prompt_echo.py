"""Replies never show the prompt's markup: a small model answering from fenced excerpts copies
their tags, the context itself and the "Question:" line (issue 21, real SmolLM2 replies such as
`<excerpt cite="[p. 10]" kind="text">`, "the answer is: <excerpt ...>", "question: in the
camlidl base-types table, which caml type ..."). retrieval/fence.unfenced hides them, and the LLM
stage stops the model where it starts copying the context."""

from __future__ import annotations

import re

import pytest

from chatbot.conversation import Conversation
from chatbot.quotes import own_words
from chatbot.retrieval.fence import CONTEXT_HEADER, copying, unfenced
from chatbot.retrieval.fence import PROMPT_MARKUP as MARKUP
from tests import docfixtures as df

QUESTION = "In the camlidl base-types table, which caml type does int map to?"
# Shapes of real replies of the offline model (SmolLM2-135M) to document questions.
REAL_SHAPES = [
    '<excerpt cite="[p. 10]" kind="text">\nThe int type maps to int [p. 10].\n</excerpt>',
    'The answer is: <excerpt cite="[p. 3]" kind="table"> int [p. 3]',
    "question: in the camlidl base-types table, which caml type does int map to?\n"
    "It maps to int [p. 10].",
    QUESTION + " It maps to int [p. 10].",
    "It maps to int [p. 10].\n\n" + CONTEXT_HEADER + "\n<documents>\n<excerpt cite=...",
    "It maps to int [p. 10].\n\nQuestion: What size does the table list for int?",
]


@pytest.mark.parametrize("reply", REAL_SHAPES)
def test_real_reply_shapes_lose_their_markup_and_keep_the_answer(reply):
    shown = unfenced(reply, QUESTION)
    assert not MARKUP.search(shown), shown
    assert "int" in shown and QUESTION.lower() not in shown.lower()


def test_no_prefix_of_a_streaming_reply_shows_a_tag():
    """Every partial text a reader sees while it streams, down to one character at a time."""
    reply = 'Sure. <excerpt cite="[p. 2]" kind="text">Revenue was 5 million.</excerpt> Done.'
    for end in range(len(reply) + 1):
        shown = unfenced(reply[:end], QUESTION)
        assert not re.search(r"<\s*/?\s*[a-z]*$|<[/a-z]", shown, re.I), (end, shown)
    assert unfenced(reply, QUESTION) == "Sure. Revenue was 5 million. Done."


def test_plain_replies_are_left_as_they_are():
    text = "Use a < b in the test, or <b>bold</b>; the question is a good one."
    assert unfenced(text, QUESTION) == text and copying(text) is None


def test_the_llm_stage_hides_copied_markup_and_stops_at_a_copy_of_the_context(
    pipe, monkeypatch, tmp_path
):
    """Through the pipeline: a model that restates the question, wraps its answer in a fence
    tag, then starts copying the context. No partial reply shows markup, the model's stream is
    closed at the copy (the rest is never generated), and the reply is not marked stopped."""
    pieces = [
        "Question: what was the total revenue?\n",
        '<excerpt cite="[p. 2]" kind="text">',
        "Revenue was 5 million [p. 2].",
        "</excerpt>\n",
        CONTEXT_HEADER,
        "\n<documents>",
        "never generated",
    ]
    consumed = []

    def stream(messages, encodings, key, sampling, stats=None, **kw):
        for piece in pieces:
            consumed.append(piece)
            yield piece

    monkeypatch.setattr(pipe.models.backend, "stream", stream)
    pdf = df.make_report_pdf(tmp_path / "report.pdf")
    replies = [
        r.text for r in pipe.respond(Conversation(), "what was the total revenue?", [str(pdf)])
    ]
    assert all(not MARKUP.search(text) for text in replies), replies
    answer = own_words(replies[-1])  # (a quote of the document may lead it: quotes.lead_quote)
    assert answer.startswith("Revenue was 5 million [p. 2].") and "never" not in replies[-1]
    assert consumed[-1] == CONTEXT_HEADER, "the stream ends where the copy begins"


def test_without_fenced_context_the_reply_is_untouched(pipe, monkeypatch):
    text = "Tags like <documents> are fine here: no excerpt was in the prompt."

    def stream(messages, encodings, key, sampling, stats=None, **kw):
        yield text

    monkeypatch.setattr(pipe.models.backend, "stream", stream)
    replies = list(pipe.respond(Conversation(), "what does <documents> mean in HTML?"))
    assert replies[-1].text == text and not replies[-1].stopped
