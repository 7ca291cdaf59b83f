"""Output projector: draw or not, the LLM's <draw> signal, the prompt (the classifier itself:
test_draw_classifier.py)."""

from __future__ import annotations

import json

import pytest

from chatbot.config import GenerationSettings
from chatbot.generator import ImageRequest
from chatbot.messages import UserError
from chatbot.output_projector import (
    Decision,
    DrawClassifier,
    decide,
    explicit_request,
    fallback_prompt,
    hide_signal,
    parse_llm_signal,
    parse_prompt_reply,
    prompt_messages,
    write_prompt,
)

REQUESTS = [
    "/imagine a lighthouse at dusk",
    "draw a cat wearing a space suit",
    "Please draw me a horse",
    "Can you generate an image of a futuristic city?",
    "I want a picture of a red bicycle",
    "Paint a watercolor of a mountain lake",
    "고양이 그려줘",
    "우주복 입은 고양이 그림 그려 주세요",
    "그림 그려",
    "노을 지는 바다 이미지 만들어줘",
    "벚꽃 일러스트 하나 생성해 줄래?",
]
HARD_NEGATIVES = [
    "describe this drawing",
    "what is drawn in this photo?",
    "draw a conclusion from the table",
    "Can you draw some conclusions from these results?",
    "Draw attention to the key risks",
    "How do I draw a realistic eye?",
    "Can you generate images?",
    "Draw a line chart of monthly sales",
    "그림에 뭐가 있어?",
    "이 그림 설명해줘",
    "이 사진에 무엇이 그려져 있나요?",
    "이 그림 누가 그렸어?",
    "그림 그리는 방법 알려줘",
    "매출 그래프 그려줘",
    "이미지 생성 모델은 어떻게 작동해?",
]


class _always(DrawClassifier):
    """A stand-in classifier with a fixed probability (no embedder)."""

    def __init__(self, p: float):
        super().__init__(coef=[], intercept=0.0, embedder="none")
        self.p = p

    def probabilities(self, texts):
        import numpy as np

        return np.full(len(texts), self.p)


@pytest.mark.parametrize("text", REQUESTS)
def test_explicit_requests_draw(text):
    assert explicit_request(text) is True
    assert decide(text).draw


@pytest.mark.parametrize("text", HARD_NEGATIVES)
def test_hard_negatives_never_draw(text):
    """'draw' in another sense, or a question about an existing picture, must not draw,
    even when a trigger-happy classifier or an LLM signal says otherwise."""
    assert explicit_request(text) is False
    d = decide(text, llm_signal=True, classifier=_always(0.99))
    assert not d.draw and d.source == "explicit", d


def test_unclear_messages_are_left_to_the_classifier():
    assert explicit_request("now make it blue") is None
    assert explicit_request("hello") is None
    d = decide("now make it blue", classifier=_always(0.9))
    assert (d.draw, d.source, d.score) == (
        True,
        "classifier",
        pytest.approx(0.9),
    ) and "p=0.90" in d.reason
    assert not decide("hello", classifier=_always(0.1)).draw
    # the committed threshold, not 0.5: precision matters more (an unwanted picture costs seconds)
    assert not decide("hello", classifier=_always(0.55)).draw


def test_decision_order_command_toggle_llm():
    assert decide("/imagine a fox").source == "command"
    assert decide("what is this?", toggle=True) == Decision(True, "toggle", 1.0, "image mode is on")
    d = decide("show it to me", llm_signal=True, classifier=_always(0.0))
    assert d.draw and d.source == "llm"
    # False is not a veto: small models rarely emit the line at all
    assert decide("show it to me", llm_signal=False, classifier=_always(0.95)).draw
    assert decide("show it to me") == Decision(False, "none", 0.0, "no explicit request")


def test_parse_llm_signal():
    text, sig = parse_llm_signal(
        'Here you go!\n<draw>{"prompt": "a blue cat", "negative_prompt": "blurry"}</draw>'
    )
    assert text == "Here you go!" and sig == {"prompt": "a blue cat", "negative_prompt": "blurry"}
    assert parse_llm_signal("No picture needed.") == ("No picture needed.", None)
    assert parse_llm_signal("ok <draw>a red fox in snow</draw>")[1] == {
        "prompt": "a red fox in snow"
    }
    assert parse_llm_signal("sure <DRAW>{}</DRAW>")[1] == {}
    # cut off mid-signal (max tokens): still a signal, and hidden from the user
    text, sig = parse_llm_signal('Drawing it now. <draw>{"prompt": "a whale"')
    assert text == "Drawing it now." and sig == {"prompt": '{"prompt": "a whale"'}


def test_hide_signal_while_streaming():
    assert hide_signal('Here you go! <draw>{"prompt": "a c') == "Here you go!"
    assert hide_signal("Here you go! <dr") == "Here you go! "
    assert hide_signal("a < b") == "a < b"
    assert hide_signal("") == ""


def test_image_request_dict_round_trip():
    req = ImageRequest(
        "a cat",
        "blurry",
        seed=7,
        steps=2,
        guidance=1.5,
        width=256,
        height=128,
        init_image="/tmp/x.png",
        strength=0.4,
    )
    assert ImageRequest.from_dict(json.loads(json.dumps(req.to_dict()))) == req
    # from the UI card: numbers arrive as floats/strings, empty file box as ""
    ui = {
        "prompt": "a cat",
        "seed": 7.0,
        "steps": "2",
        "width": 256.0,
        "height": 128,
        "init_image": "",
        "guidance": "1.5",
        "unknown": 1,
    }
    assert ImageRequest.from_dict(ui) == ImageRequest(
        "a cat", seed=7, steps=2, guidance=1.5, width=256, height=128
    )


# ---- write_prompt -------------------------------------------------------------------------

SETTINGS = GenerationSettings(steps=2, guidance=0.0, width=64, height=64, seed=123)


def _fake(reply: str, calls: list | None = None):
    def complete(messages):
        if calls is not None:
            calls.append(messages)
        return reply

    return complete


def test_write_prompt_uses_the_llms_json():
    calls = []
    reply = (
        'Sure! ```json\n{"prompt": "a cat in a space suit, stars", "negative_prompt": "blurry", '
        '"new_seed": false}\n```'
    )
    req = write_prompt(
        _fake(reply, calls),
        [("user", "hi"), ("assistant", "hello <draw>{}</draw>")],
        "우주복 입은 고양이 그려줘",
        None,
        SETTINGS,
    )
    assert req == ImageRequest(
        "a cat in a space suit, stars",
        "blurry",
        seed=123,
        steps=2,
        guidance=0.0,
        width=64,
        height=64,
    )
    system, user = calls[0]
    assert system["role"] == "system" and "English" in system["content"]
    assert "우주복 입은 고양이 그려줘" in user["content"] and "<draw>" not in user["content"]


def test_write_prompt_garbage_falls_back_to_the_users_words():
    """Random-weight models return noise: the picture must still match the request."""
    garbage = 'ĠĠ<|im_end|> 그림 {"prompt": "\u0000\ufffd"} ]]}{ lorem'
    req = write_prompt(
        _fake(garbage), [], "/imagine a lighthouse on a cliff, please", None, SETTINGS
    )
    assert req.prompt == "a lighthouse on a cliff" and req.seed == 123
    req = write_prompt(
        _fake(garbage), [], "Can you draw me a picture of two penguins dancing?", None, SETTINGS
    )
    assert req.prompt == "two penguins dancing"
    req = write_prompt(_fake(garbage), [], "우주복 입은 고양이 그려줘", None, SETTINGS)
    assert req.prompt == "space suit, cat"  # glossary words, in the order they appear


def test_write_prompt_follow_up_keeps_seed_and_builds_on_previous():
    previous = ImageRequest(
        "a cat in a space suit", "blurry", seed=42, steps=1, width=64, height=64
    )
    for text in ("same cat, but blue", "now make it blue"):
        req = write_prompt(_fake("garbage"), [], text, previous, SETTINGS)
        assert req.prompt == "a cat in a space suit, blue", text
        assert req.seed == 42 and req.negative_prompt == "blurry"
    req = write_prompt(_fake("garbage"), [], "같은 고양이인데 파란색으로", previous, SETTINGS)
    assert req.prompt == "a cat in a space suit, blue" and req.seed == 42
    # the LLM sees the previous prompt and rewrites it
    calls = []
    req = write_prompt(
        _fake('{"prompt": "a blue cat in a space suit"}', calls),
        [],
        "same cat, but blue",
        previous,
        SETTINGS,
    )
    assert req.prompt == "a blue cat in a space suit" and req.seed == 42
    assert "a cat in a space suit" in calls[0][1]["content"]


def test_write_prompt_new_seed_only_when_asked():
    previous = ImageRequest("a fox", seed=42)
    assert write_prompt(_fake("x"), [], "another one please", previous, SETTINGS).seed != 42
    assert (
        write_prompt(
            _fake('{"prompt": "a fox", "new_seed": true}'), [], "make it red", previous, SETTINGS
        ).seed
        != 42
    )
    assert write_prompt(_fake("x"), [], "make it red, seed 7", previous, SETTINGS).seed == 7
    # a new subject is a new picture: the settings' seed, not the previous one
    assert write_prompt(_fake("x"), [], "draw a dog", previous, SETTINGS).seed == 123


def test_write_prompt_takes_the_signal_without_another_llm_call():
    calls = []
    req = write_prompt(
        _fake("unused", calls),
        [],
        "draw a whale",
        None,
        SETTINGS,
        signal={"prompt": "a whale flying over Seoul", "negative_prompt": ""},
    )
    assert req.prompt == "a whale flying over Seoul" and calls == []


def test_write_prompt_carries_the_init_image_on_follow_ups():
    previous = ImageRequest("a dog, watercolor", seed=5, init_image="/tmp/dog.jpg")
    assert (
        write_prompt(_fake("x"), [], "make it darker", previous, SETTINGS).init_image
        == "/tmp/dog.jpg"
    )
    assert (
        write_prompt(
            _fake("x"), [], "draw a cat", None, SETTINGS, init_image="/tmp/a.png"
        ).init_image
        == "/tmp/a.png"
    )


def test_write_prompt_falls_back_to_the_conversation_for_ok_draw_it():
    history = [
        ("user", "I picture a red dragon over a castle"),
        ("assistant", "Nice idea!"),
        ("user", "ok, draw it"),
    ]
    req = write_prompt(_fake("garbage"), history, "ok, draw it", None, SETTINGS)
    assert req.prompt == "I picture a red dragon over a castle"


def test_write_prompt_with_nothing_to_draw_is_a_user_error():
    with pytest.raises(UserError, match="Nothing to draw"):
        write_prompt(_fake("garbage"), [], "/imagine", None, SETTINGS)


def test_parse_prompt_reply_is_robust():
    assert parse_prompt_reply('{"prompt": "a red fox"}')["prompt"] == "a red fox"
    assert (
        parse_prompt_reply('blah {"prompt": "a red fox", "negative_prompt": "text"} blah')[
            "negative_prompt"
        ]
        == "text"
    )
    assert (
        parse_prompt_reply('{"prompt": "a red fox, snowy for')["prompt"] == "a red fox, snowy for"
    )  # cut off
    assert parse_prompt_reply('{"prompt": "고양이"}') is None  # CLIP reads English
    assert parse_prompt_reply('{"prompt": ""}') is None
    assert parse_prompt_reply("") is None
    assert len(parse_prompt_reply(json.dumps({"prompt": "cat " * 500}))["prompt"]) <= 400


def test_prompt_messages_are_bounded():
    history = [("user", "x" * 5000)] * 50
    msgs = prompt_messages(history, "draw it", None)
    assert len(msgs[1]["content"]) < 6 * 320 + 2000


def test_fallback_prompt():
    assert (
        fallback_prompt("Generate an image of a koala eating eucalyptus")
        == "a koala eating eucalyptus"
    )
    assert fallback_prompt("/imagine cyberpunk street, neon") == "cyberpunk street, neon"
    assert fallback_prompt("그려줘") == ""
    assert fallback_prompt("I'd like an illustration of a samurai cat") == "a samurai cat"
    previous = ImageRequest("a fox")
    assert (
        fallback_prompt("하나 더 그려줘", previous) == "a fox"
    )  # untranslatable Korean is dropped
    assert fallback_prompt("now a version with two cats", previous) == "a fox, with two cats"
