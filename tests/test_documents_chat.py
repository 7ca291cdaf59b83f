"""Documents inside the conversation: parse with progress, retrieve, cite, and survive bad files."""

from __future__ import annotations

import pytest

from chatbot.context import build_messages
from chatbot.conversation import Conversation
from tests import docfixtures as df
from tests.helpers import make_photo


def run(pipe, conv, text, files=()):
    replies = [
        (r.steps[-1].key, r.steps[-1].detail) if r.steps else None
        for r in pipe.respond(conv, text, [str(f) for f in files])
    ]
    return conv.turns[-1], replies


def test_pdf_upload_shows_progress_cites_pages_and_a_thumbnail(pipe, tmp_path):
    conv = Conversation()
    reply, seen = run(
        pipe,
        conv,
        "What was the total revenue in 2023?",
        [df.make_report_pdf(tmp_path / "report.pdf")],
    )
    assert reply.error is None
    assert any(s and s[0] == "documents" and s[1].startswith("page ") for s in seen), (
        "page progress streams"
    )
    keys = [s.key for s in reply.steps]
    assert keys[:3] == ["documents", "retrieval", "llm"]
    assert "[p. " in reply.steps[1].detail
    assert reply.files and reply.files[0].endswith(".png"), (
        "a cited page's thumbnail comes with the answer"
    )
    prompt = build_messages(conv, [], True, documents="<documents>X</documents>", question="q")
    assert (
        "untrusted" in prompt[0]["content"][0]["text"].lower()
        or "data" in prompt[0]["content"][0]["text"]
    )


def test_documents_stay_for_later_turns_and_are_not_parsed_again(pipe, tmp_path):
    conv = Conversation()
    pdf = df.make_report_pdf(tmp_path / "report.pdf")
    run(pipe, conv, "Summarise", [pdf])
    reply, _ = run(pipe, conv, "And the table on page 2?")
    assert reply.steps[0].key == "retrieval", "retrieval runs on later turns without a new upload"
    again, _ = run(pipe, conv, "once more", [pdf])
    assert "not parsed again" in again.steps[0].detail


def test_sheet_upload_shows_a_preview_and_photos_mix_with_documents(pipe, tmp_path):
    conv = Conversation()
    reply, _ = run(
        pipe,
        conv,
        "Compare the photo with the table",
        [df.make_csv(tmp_path / "cities.csv"), make_photo(tmp_path / "p.png")],
    )
    assert reply.error is None
    preview = next(s.detail for s in reply.steps if s.key == "documents")
    assert "|" in preview and "Seoul" in preview
    assert any(s.key == "encode" for s in reply.steps) and any(
        s.key == "retrieval" for s in reply.steps
    )


@pytest.mark.parametrize(
    "maker,needle",
    [
        (df.make_encrypted_pdf, "password"),
        (df.make_truncated_pdf, ""),
        (df.make_png_as_pdf, "PNG"),
        (df.make_blank_pdf, ""),
    ],
)
def test_bad_documents_get_a_message_and_the_conversation_continues(pipe, tmp_path, maker, needle):
    conv = Conversation()
    run(pipe, conv, "hello")
    reply, _ = run(pipe, conv, "read this", [maker(tmp_path / "bad.pdf")])
    assert reply.error and needle.lower() in reply.error.lower()
    assert len(conv.model_turns()) == 2
    ok, _ = run(pipe, conv, "are you still there?")
    assert ok.error is None and conv.documents is None or not conv.documents.documents


def test_injected_instructions_are_fenced_as_data(pipe, tmp_path):
    conv = Conversation()
    run(pipe, conv, "What do the notes say?", [df.make_injection_pdf(tmp_path / "notes.pdf")])
    index = conv.documents
    context, _ = index.context("What do the notes say?")
    messages = build_messages(conv, [], True, documents=context, question="What do the notes say?")
    user_text = (
        messages[-2]["content"][-1]["text"]
        if messages[-1]["role"] == "assistant"
        else messages[-1]["content"][-1]["text"]
    )
    assert "<documents>" in context and "<|im_end|>" not in context and "<image>" not in context
    assert user_text.index("</documents>") < user_text.index("Question:")


def test_a_long_scan_is_refused_at_once_naming_the_limit(pipe, tmp_path, monkeypatch):
    import chatbot.ingest.pdf as pdf

    monkeypatch.setattr(pdf, "MAX_OCR_PAGES", 2)
    conv = Conversation()
    reply, _ = run(pipe, conv, "read it", [df.make_blank_pdf(tmp_path / "scan.pdf", pages=3)])
    assert "MAX_OCR_PAGES" in reply.error


def test_the_cited_page_comes_back_with_the_passage_highlighted(pipe, tmp_path):
    """Guards the thumbnail that showed the page but not the sentence: the cited page comes back
    with yellow marks, and the Retrieval step says what served the passages (keywords while
    embeddings run in the background: tests/test_formats.py times that)."""
    import numpy as np
    from PIL import Image

    conv = Conversation()
    reply, _ = run(
        pipe,
        conv,
        "What was the total revenue in 2023?",
        [df.make_report_pdf(tmp_path / "report.pdf")],
    )
    retrieval_step = next(s for s in reply.steps if s.key == "retrieval")
    assert retrieval_step.detail.startswith("served by ")
    assert reply.files, "a cited page comes with the answer"
    pixels = np.asarray(Image.open(reply.files[0]).convert("RGB")).astype(int)
    yellow = (pixels[..., 0] > 200) & (pixels[..., 1] > 200) & (pixels[..., 2] < 170)
    assert yellow.sum() > 50, "the supporting passage is highlighted on the page"
