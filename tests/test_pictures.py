"""The chain's last two boxes inside the app: output projector -> generator, on the tiny profile."""

from __future__ import annotations

import re

import numpy as np
import pytest
from PIL import Image

from chatbot.conversation import Conversation
from chatbot.generator import ImageRequest, read_provenance
from chatbot.models.decoding import Sampling
from chatbot.pipeline import Pipeline
from chatbot.profiles import build_config


def last(gen):
    *_, reply = gen
    return reply


def keys(reply):
    return [s.key for s in reply.steps]


@pytest.mark.parametrize(
    "text",
    [
        "/imagine a cat in a space suit",
        "고양이가 우주복을 입은 그림 그려줘",
        "Draw a lighthouse at night",
    ],
)
def test_explicit_requests_draw_with_progress_and_provenance(pipe, text):
    progress = []
    conv = Conversation()
    for reply in pipe.respond(conv, text):
        if reply.steps and reply.steps[-1].key == "draw":
            progress.append(reply.steps[-1].detail)
    assert reply.error is None and keys(reply)[-3:] == ["llm", "output_projector", "draw"]
    step = (
        r"\d+/\d+단계" if conv.language == "ko" else r"step \d+/\d+"
    )  # the steps speak the user's language
    assert any(re.fullmatch(step, p) for p in progress), "per-step progress is streamed"
    assert len(reply.files) == 1 and reply.card["prompt"]
    prov = read_provenance(reply.files[0])
    assert prov["seed"] == reply.card["seed"] and prov["prompt"] == reply.card["prompt"]
    assert not any("\uac00" <= ch <= "\ud7a3" for ch in reply.card["prompt"]), (
        "generator prompts are English"
    )


@pytest.mark.parametrize(
    "text", ["그림에 뭐가 있어?", "describe this drawing", "draw a conclusion from the table"]
)
def test_questions_about_pictures_do_not_draw(pipe, text):
    reply = last(pipe.respond(Conversation(), text))
    assert "output_projector" not in keys(reply) and not reply.files


def test_toggle_draws_and_redraw_with_the_same_seed_gives_the_same_image(pipe):
    conv = Conversation()
    first = last(pipe.respond(conv, "a quiet harbour", draw=True))
    assert first.files
    req = ImageRequest.from_dict(first.card)
    again = last(pipe.redraw(conv, req))
    assert np.array_equal(
        np.asarray(Image.open(first.files[0])), np.asarray(Image.open(again.files[0]))
    )
    other = last(pipe.redraw(conv, ImageRequest.from_dict({**first.card, "seed": req.seed + 1})))
    assert not np.array_equal(
        np.asarray(Image.open(first.files[0])), np.asarray(Image.open(other.files[0]))
    )
    assert len(conv.model_turns()) == 2, "redrawn pictures add no turns for the LLM"


def test_follow_up_keeps_the_seed_of_the_previous_picture(pipe):
    conv = Conversation()
    a = last(pipe.respond(conv, "/imagine a cat wearing a space suit"))
    b = last(pipe.respond(conv, "/imagine same cat, but blue"))
    assert b.card["seed"] == a.card["seed"] and "blue" in b.card["prompt"]


def test_stop_while_drawing_keeps_the_text(pipe, monkeypatch):
    conv = Conversation()
    gen = pipe.models.generator()
    real = gen.generate

    def slow(req, on_step=None, stop_event=None):
        conv.stop_event.set()  # the user presses Stop as the first step starts
        return real(ImageRequest.from_dict({**req.to_dict(), "steps": 20}), on_step, stop_event)

    monkeypatch.setattr(gen, "generate", slow)
    reply = last(pipe.respond(conv, "/imagine a long drawing"))
    assert reply.stopped and not reply.files and reply.text and "stopped" in reply.steps[-1].detail


def test_a_generator_that_raises_keeps_the_text_reply(pipe, monkeypatch):
    monkeypatch.setattr(pipe.models.generator(), "generate", lambda *a, **k: 1 / 0)
    conv = Conversation()
    reply = last(pipe.respond(conv, "/imagine a tree"))
    assert "image generator failed" in reply.error and reply.text and not reply.files


def test_offline_says_it_cannot_draw_and_what_to_do(tiny_models):
    p = Pipeline(
        build_config("offline", model=str(tiny_models["tiny-text"])), Sampling(max_new_tokens=4)
    )
    reply = last(p.respond(Conversation(), "/imagine a cat"))
    assert "PyPI" in reply.error and "hub profile" in reply.error and not reply.files


def test_a_photo_with_a_draw_request_becomes_an_image_to_image_variation(pipe, tmp_path):
    from tests.helpers import make_photo

    photo = make_photo(tmp_path / "me.png", (120, 160, 200), size=(96, 96))
    reply = last(
        pipe.respond(Conversation(), "/imagine this photo as a watercolour painting", [str(photo)])
    )
    assert reply.error is None and reply.files
    assert reply.card["init_image"] == str(photo) and read_provenance(reply.files[0])["prompt"]


def test_redraw_without_a_generator_says_why(tiny_models):
    p = Pipeline(
        build_config("offline", model=str(tiny_models["tiny-text"])), Sampling(max_new_tokens=4)
    )
    conv = Conversation()
    reply = last(p.redraw(conv, ImageRequest(prompt="a cat")))
    assert "PyPI" in reply.error and not reply.files
