"""Hostile or careless input over the API: each value is refused with a message naming its limit,
before anything is kept, and the conversation goes on (the next picture and turn still work).
Guards the bug where /redraw with seed 2**64 was stored and broke every later picture."""

from __future__ import annotations

import pytest

from chatbot.config import MAX_IMAGE_PROMPT_CHARS, MAX_SEED


@pytest.fixture
def drawn(tiny_app):
    """A client whose conversation has one picture (so a card exists to edit)."""
    c = tiny_app.client()
    _, files, info = c.predict({"text": "/imagine a red kite", "files": []}, api_name="/chat")
    assert files and info["image_request"]
    return c, info["image_request"]


@pytest.mark.app
@pytest.mark.parametrize(
    "edits,needle",
    [
        ({"seed": 2**64}, "MAX_SEED"),
        ({"seed": "lots"}, "whole number"),
        ({"seed": -1}, "MAX_SEED"),
        ({"steps": 0}, "MAX_GENERATION_STEPS"),
        ({"steps": "many"}, "whole number"),
        ({"width": 10**6}, "MAX_GENERATION_SIDE"),
        ({"height": 3}, "MIN_GENERATION_SIDE"),
        ({"prompt": "x" * (MAX_IMAGE_PROMPT_CHARS + 1)}, "MAX_IMAGE_PROMPT_CHARS"),
    ],
)
def test_a_bad_redraw_is_refused_and_does_not_poison_later_pictures(drawn, edits, needle):
    c, card = drawn
    text, files, info = c.predict({**card, **edits}, api_name="/redraw")
    assert needle in (info["error"] or "") and not files
    _, files, info = c.predict({**card, "seed": MAX_SEED}, api_name="/redraw")
    assert files and info["error"] is None, "the stored request was not replaced by the bad one"
    _, files, info = c.predict(
        {"text": "/imagine the same kite, but blue", "files": []}, api_name="/chat"
    )
    assert files and info["error"] is None and info["image_request"]["seed"] == MAX_SEED


@pytest.mark.app
@pytest.mark.parametrize("request_value", ["not a dict", 42, ["prompt"]])
def test_a_redraw_request_that_is_not_an_object_gets_a_message(drawn, request_value):
    c, _ = drawn
    text, files, info = c.predict(request_value, api_name="/redraw")
    assert "JSON object" in info["error"] and not files


@pytest.mark.app
@pytest.mark.parametrize(
    "message",
    [
        {"text": 5, "files": []},
        {"text": "hi", "files": "a.png"},
        {"text": "hi", "files": [{"nothing": 1}]},
    ],
)
def test_malformed_messages_are_refused_and_nothing_is_added(tiny_app, message):
    """Gradio's multimodal box refuses these before the app sees them (validate.message covers the
    UI and in-process callers): the client gets an error, the conversation is unchanged."""
    c = tiny_app.client("validation-owner-secret-1")
    c.predict({"text": "first", "files": []}, api_name="/chat")
    (conv,) = c.predict(api_name="/conversations")
    before = len(c.predict(conv["id"], api_name="/open"))
    with pytest.raises(Exception):
        c.predict(message, api_name="/chat")
    assert len(c.predict(conv["id"], api_name="/open")) == before
    _, _, info = c.predict({"text": "still fine?", "files": []}, api_name="/chat")
    assert info["error"] is None and len(c.predict(conv["id"], api_name="/open")) == before + 2
    c.predict(conv["id"], api_name="/delete")


def test_validate_message_names_what_is_wrong():
    from chatbot import validate
    from chatbot.messages import UserError

    for value, needle in (
        ({"text": 5}, "must be a string"),
        ({"files": "a.png"}, "must be a list"),
        ({"files": [{"nothing": 1}]}, "uploaded file"),
        (42, "not int"),
    ):
        with pytest.raises(UserError, match=needle):
            validate.message(value)


@pytest.mark.app
@pytest.mark.parametrize("bad_id", ["../../etc/passwd", "", "0" * 31, 12])
def test_conversation_ids_that_cannot_exist_are_not_found(tiny_app, bad_id):
    with pytest.raises(Exception, match="not found"):
        tiny_app.client().predict(bad_id, api_name="/open")
