"""pipeline.respond(): the chain in order, state across turns, and every bad input as a chat
message."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from chatbot.config import MAX_FILES_PER_MESSAGE, MAX_IMAGE_PIXELS, MAX_MESSAGE_CHARS
from chatbot.context import build_messages
from chatbot.conversation import Conversation
from chatbot.ingest.images import pixels
from chatbot.models.decoding import Sampling
from chatbot.pipeline import Pipeline
from chatbot.profiles import build_config
from tests.helpers import ask, make_photo


def encoder_counter(pipe, monkeypatch):
    calls = []
    model = pipe.models.backend.model
    real = model.get_image_features
    monkeypatch.setattr(model, "get_image_features", lambda **kw: calls.append(1) or real(**kw))
    return calls


def test_two_photos_then_a_follow_up_reuses_both_encodings(pipe, photos, monkeypatch):
    calls = encoder_counter(pipe, monkeypatch)
    conv = Conversation()
    r1 = ask(pipe, conv, "Compare these two photos", photos)
    assert r1.error is None and r1.text and len(calls) == 2
    assert [s.key for s in r1.steps] == ["encode", "llm"]
    assert "CLIPVisionModel → LlavaMultiModalProjector" in r1.steps[0].title
    assert all(s.done for s in r1.steps) and "16 tokens" in r1.steps[0].detail
    r2 = ask(pipe, conv, "and the first photo?")
    assert len(calls) == 2, "images from earlier turns must come from the conversation's cache"
    assert (
        r2.steps[0].detail.count("cached") == 2
        and "reused from this conversation's cache" in r2.steps[-1].detail
    )
    assert len(conv.turns) == 4 and len(conv.images()) == 2


def test_images_across_turns_accumulate(pipe, tmp_path, monkeypatch):
    calls = encoder_counter(pipe, monkeypatch)
    conv = Conversation()
    for i in range(3):
        ask(pipe, conv, f"photo {i}", [make_photo(tmp_path / f"p{i}.png", (i * 80, 10, 10))])
    assert len(conv.images()) == 3 and len(calls) == 3
    messages = build_messages(conv, conv.images(), True)
    assert sum(p["type"] == "image" for m in messages for p in m["content"]) == 3


@pytest.mark.parametrize(
    "make,needle",
    [
        (lambda d: [], "empty"),
        (lambda d: ["x" * (MAX_MESSAGE_CHARS + 1)], "MAX_MESSAGE_CHARS"),
    ],
)
def test_bad_messages(pipe, make, needle, tmp_path):
    conv = Conversation()
    ask(pipe, conv, "hello")
    before = [t.text for t in conv.turns]
    args = make(tmp_path)
    r = ask(pipe, conv, args[0] if args else "   ")
    assert needle in r.error and not r.text
    assert [t.text for t in conv.turns][:2] == before, "earlier turns stay intact"
    assert len(conv.model_turns()) == 2, "a rejected message is not sent to the model later"


def _corrupt(d: Path) -> Path:
    good = make_photo(d / "ok.png")
    bad = d / "broken.png"
    bad.write_bytes(good.read_bytes()[:60])
    return bad


def _text_as_jpg(d: Path) -> Path:
    p = d / "notes.jpg"
    p.write_text("this is a text file, not a photo")
    return p


def _bomb(d: Path) -> Path:
    p = d / "bomb.png"
    Image.new("1", (20000, 20000)).save(p)  # tiny file, 400 megapixels once decoded
    return p


def _huge_file(d: Path) -> Path:
    p = d / "huge.png"
    with open(p, "wb") as f:
        f.truncate(25 * 2**20)
    return p


def _unsupported(d: Path) -> Path:
    p = d / "tool.exe"
    p.write_bytes(b"MZ\x00\x00")
    return p


@pytest.mark.parametrize(
    "make,needle",
    [
        (_corrupt, "corrupt or truncated"),
        (_text_as_jpg, "is not an image (its content is text)"),
        (_bomb, f"{MAX_IMAGE_PIXELS:,}"),
        (_huge_file, "MAX_FILE_MB"),
        (_unsupported, "not supported"),
    ],
)
def test_bad_files_get_a_clear_message_and_keep_the_conversation(pipe, tmp_path, make, needle):
    conv = Conversation()
    ask(pipe, conv, "first question", [make_photo(tmp_path / "fine.png")])
    r = ask(pipe, conv, "look at this", [make(tmp_path)])
    assert needle in r.error
    assert len(conv.turns) == 4 and len(conv.images()) == 1
    ok = ask(pipe, conv, "still there?")
    assert ok.error is None and ok.text


def test_too_many_images_in_one_message(pipe, tmp_path):
    files = [make_photo(tmp_path / f"{i}.png") for i in range(MAX_FILES_PER_MESSAGE + 1)]
    r = ask(pipe, Conversation(), "all of them", files)
    assert "MAX_FILES_PER_MESSAGE" in r.error


def test_gif_uses_the_first_frame(pipe, tmp_path):
    frames = [Image.new("RGB", (40, 40), c) for c in ("red", "green")]
    p = tmp_path / "anim.gif"
    frames[0].save(p, save_all=True, append_images=frames[1:])
    conv = Conversation()
    r = ask(pipe, conv, "what is it", [p])
    assert r.error is None and pixels(conv.images()[0]).getpixel((5, 5))[0] > 200


def test_a_model_that_raises_keeps_the_conversation(pipe, monkeypatch):
    conv = Conversation()
    ask(pipe, conv, "first")
    backend = pipe.models.backend

    def boom(*a, **k):
        yield "partial "
        raise RuntimeError("CUDA error: device-side assert")

    monkeypatch.setattr(backend, "stream", boom)
    r = ask(pipe, conv, "second")
    assert (
        "failed while answering" in r.error and "RuntimeError" in r.error and r.text == "partial "
    )
    monkeypatch.undo()
    ok = ask(pipe, conv, "third")
    assert ok.error is None and len(conv.turns) == 6


def test_out_of_memory_names_the_cause_and_what_to_do(pipe, monkeypatch):
    import torch

    def oom(*a, **k):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        yield

    monkeypatch.setattr(pipe.models.backend, "stream", oom)
    r = ask(pipe, Conversation(), "hi")
    assert "ran out of memory" in r.error and "--quantize" in r.error


def test_stop_mid_stream_keeps_the_partial_reply(pipe):
    conv = Conversation()
    pipe_long = Pipeline(pipe.cfg, Sampling(max_new_tokens=400, min_new_tokens=400))
    pipe_long.models = pipe.models
    seen = 0
    for reply in pipe_long.respond(conv, "tell me a long story"):
        if reply.text:
            seen += 1
            if seen == 3:
                conv.stop_event.set()
    assert reply.stopped and reply.text and "stopped" in reply.steps[-1].detail
    assert len(conv.turns) == 2
    nxt = ask(pipe, conv, "next")
    assert nxt.error is None and not nxt.stopped, "the next message is served normally"


def test_loading_failure_is_reported_in_the_chat(tmp_path):
    cfg = build_config("hub", model=str(tmp_path / "missing-model"))
    p = Pipeline(cfg)
    r = list(p.respond(Conversation(), "hi"))[-1]
    assert "could not be loaded" in r.error and "--profile offline" in r.error


def test_korean_message_asks_for_a_korean_answer(pipe):
    conv = Conversation()
    ask(pipe, conv, "이 사진에 무엇이 있나요?")
    system = build_messages(conv, [], True)[0]["content"][0]["text"]
    assert "Korean" in system


def test_a_hub_model_that_cannot_be_reached_fails_fast_and_says_what_to_do(monkeypatch):
    """Guards the 90 s of silent retries: an id that is neither cached nor reachable (the tests run
    with HF_HUB_OFFLINE=1) is refused by the check before any backend tries to load (and retry)
    it, and reported in the chat with the way out."""
    import chatbot.models

    created = []
    real = chatbot.models.create_backend
    monkeypatch.setattr(
        chatbot.models, "create_backend", lambda *a, **k: created.append(a) or real(*a, **k)
    )
    p = Pipeline(build_config("hub", model="nobody/no-such-model"))
    r = list(p.respond(Conversation(), "hi"))[-1]
    assert created == [], "refused before a backend was created: nothing was downloaded or retried"
    assert (
        "could not be loaded" in r.error
        and "--profile offline" in r.error
        and "no-such-model" in r.error
    )
