"""The UI's handlers are plain methods over the pipeline: driven here without Gradio's server
or a browser. Guards against UI code reaching into pipeline internals or dropping state."""

from __future__ import annotations

from chatbot import validate
from chatbot.ui.handlers import Handlers, header, render


def last(gen):
    *_, item = gen
    return item


def test_chat_undo_retry_and_clear_act_on_the_session_conversation(pipe, photos):
    h = Handlers(pipe)
    text, files, info, conv = last(
        h.chat_api({"text": "what is this?", "files": [{"path": str(photos[0])}]}, None)
    )
    assert conv is not None and len(conv.turns) == 2 and info["error"] is None
    assert [s["key"] for s in info["steps"]][-1] == "llm" and info["metrics"]["new_tokens"] > 0
    shown = render(conv)
    assert (
        shown[0]["content"] == {"path": str(photos[0])} and shown[1]["content"] == "what is this?"
    )
    history, conv = last(h.retry(conv))
    assert len(conv.turns) == 2 and history[0]["content"] == {"path": str(photos[0])}
    history, box, conv = h.undo(conv)
    assert history == [] and box == {"text": "what is this?", "files": [str(photos[0])]}
    last(h.chat_api({"text": "again", "files": []}, conv))
    history, box, same = h.clear(conv)
    assert (
        history == [] and box is None and same is conv and not conv.turns and not conv.image_cache
    )


def test_the_card_follows_the_last_picture_and_redraw_uses_its_edits(pipe):
    h = Handlers(pipe)
    *_, conv = last(h.chat_api({"text": "/imagine a red boat", "files": []}, None))
    prompt, negative, seed, steps = h.card(conv)
    assert "boat" in prompt and conv.image_request.seed == seed
    text, files, info, conv = last(h.redraw_api({"prompt": "a blue boat", "seed": seed + 1}, conv))
    assert (
        files
        and info["image_request"]["prompt"] == "a blue boat"
        and info["image_request"]["seed"] == seed + 1
    )
    assert h.card(conv)[0] == "a blue boat" and h.card(None) is None


def test_header_and_status_come_from_the_pipeline_status(pipe):
    h = Handlers(pipe)
    status = h.status()
    assert status["profile"] == "tiny" and status["progress"] == "ready" and status["generator"]
    text = h.header()
    assert "Profile `tiny`" in text and "LlavaMultiModalProjector" in text
    offline = header(
        {**status, "generator": None, "generator_reason": "no weights", "sees_images": False}
    )
    assert "none on this profile (no weights)" in offline and "OCR" in offline
    korean = header(
        {**status, "generator": None, "generator_reason": "no weights", "sees_images": False},
        "ko-KR",
    )
    assert (
        "프로필 `tiny`" in korean
        and "이 프로필에는 없습니다 (no weights)" in korean
        and "engine" not in korean
    )
    assert (
        "engine: " in text and status["engine_reason"] in text
    )  # the CPU engine and why, in the header


def test_uploads_from_the_ui_and_the_api_are_normalised():
    files = ["/a.png", {"path": "/b.pdf"}, {"name": "/c.csv"}]
    assert validate.message({"text": "hi", "files": files}) == (
        "hi",
        ["/a.png", "/b.pdf", "/c.csv"],
    )
    assert validate.message(None) == ("", []) and validate.message("just text") == ("just text", [])


def test_stop_pressed_while_a_message_waits_in_the_queue_cancels_it(pipe):
    """The model slot is busy: the message waits; Stop then cancels it before any token.
    A Stop pressed before the message was sent does not cut it short."""
    h = Handlers(pipe)
    _, _, conv = last(h.chat_ui({"text": "first", "files": []}, None, False))
    h.mark_queued(conv)  # submitted: waiting for the model
    h.stop(conv)  # ... and stopped before it started
    last(h.chat_ui({"text": "never mind", "files": []}, conv, False))
    reply = conv.turns[-1]
    assert reply.stopped and "queue" in reply.error and not reply.text and not reply.metrics
    h.stop(conv)  # a stale Stop ...
    h.mark_queued(conv)  # ... then a new message
    last(h.chat_ui({"text": "go on", "files": []}, conv, False))
    assert not conv.turns[-1].stopped and conv.turns[-1].text


def test_the_last_reply_is_read_aloud_by_the_machines_synthesiser(pipe, monkeypatch):
    import shutil
    import wave

    import gradio as gr

    h = Handlers(pipe)
    _, _, conv = last(h.chat_ui({"text": "hello", "files": []}, None, False))
    conv.turns[-1].text = "The meeting is on Tuesday."  # random weights: give it words to say
    with wave.open(h.read_aloud(conv)) as w:
        assert w.getnframes() > w.getframerate() // 2, "half a second of speech at least"
    monkeypatch.setattr(shutil, "which", lambda name: None)
    conv.turns[-1].text = "Something else."
    try:
        h.read_aloud(conv)
        raise AssertionError("expected a message")
    except gr.Error as exc:
        assert "espeak-ng" in str(exc)
