"""The vision toolkit in the chat (tiny CLIP): "which photos show X?" ranks the conversation's
photos and returns them as a gallery with scores; "what is this?" gives zero-shot labels; the
results reach the LLM as marked context; offline says plainly that it has no CLIP."""

from __future__ import annotations

import pytest

from chatbot.context import build_messages
from chatbot.conversation import Conversation
from chatbot.pipeline import Pipeline
from chatbot.profiles import build_config
from tests.helpers import ask, make_photo


def test_find_ranks_the_photos_and_returns_a_gallery_embedding_each_once(
    pipe, tmp_path, monkeypatch
):
    conv = Conversation()
    photos = [
        make_photo(tmp_path / f"holiday{i}.png", (i * 40, 120, 200 - i * 30)) for i in range(5)
    ]
    ask(pipe, conv, "here are my holiday photos", photos)
    reply = ask(pipe, conv, "which ones show the sea?")
    step = next(s for s in reply.steps if s.key == "vision")
    assert (
        reply.error is None and "5 photos ranked" in step.detail and "5 embedded now" in step.detail
    )
    assert reply.tools["tool"] == "find" and len(reply.tools["hits"]) == 5
    scores = [h["score"] for h in reply.tools["hits"]]
    assert scores == sorted(scores, reverse=True) and len(reply.files) == 5
    import chatbot.ingest.images as images

    reads = []
    real = images.load_image
    monkeypatch.setattr(images, "load_image", lambda *a: reads.append(a) or real(*a))
    again = ask(pipe, conv, "/find a beach")
    assert not reads, "cached embeddings: no photo is read from disk again"
    assert "0 embedded now" in next(s for s in again.steps if s.key == "vision").detail


def test_labels_use_softmax_and_reach_the_llm_as_marked_context(pipe, tmp_path):
    conv = Conversation()
    ask(pipe, conv, "look", [make_photo(tmp_path / "pet.png")])
    reply = ask(pipe, conv, "is it a cat, a dog or a fox?")
    assert reply.tools["tool"] == "labels" and {x["label"] for x in reply.tools["labels"]} <= {
        "cat",
        "dog",
        "fox",
    }
    assert abs(sum(x["score"] for x in reply.tools["labels"]) - 1) < 1e-3, (
        "CLIP: a softmax over the set"
    )
    assert "softmax" in next(s for s in reply.steps if s.key == "vision").detail
    messages = build_messages(
        conv, [], True, tools="<vision-results>x</vision-results>", question="q"
    )
    assert "<vision-results>" in messages[-1]["content"][-1]["text"]


def test_offline_says_it_has_no_clip(tiny_models, tmp_path):
    p = Pipeline(build_config("offline", model=str(tiny_models["tiny-text"]), max_new_tokens=3))
    conv = Conversation()
    ask(p, conv, "look", [make_photo(tmp_path / "a.png")])
    reply = ask(p, conv, "/labels")
    step = next(s for s in reply.steps if s.key == "vision")
    assert reply.error is None and "Not available here" in step.detail and "PyPI" in step.detail


@pytest.mark.app
def test_search_over_the_api_returns_the_gallery_as_files_and_scores_in_info(tiny_app, tmp_path):
    from gradio_client import handle_file

    c = tiny_app.client()
    photos = [
        handle_file(str(make_photo(tmp_path / f"p{i}.png", (i * 60, 100, 100)))) for i in range(3)
    ]
    c.predict({"text": "my photos", "files": photos}, api_name="/chat")
    text, files, info = c.predict({"text": "/find the sea", "files": []}, api_name="/chat")
    assert info["tools"]["tool"] == "find" and len(info["tools"]["hits"]) == 3 and len(files) == 3


def test_a_zip_of_holiday_photos_is_searched_as_many_photos(pipe, tmp_path):
    import zipfile

    archive = tmp_path / "holiday.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for i in range(10):
            z.write(
                make_photo(tmp_path / f"day{i}.jpg", (i * 25, 150, 255 - i * 20)),
                f"holiday/day{i}.jpg",
            )
        z.writestr("holiday/notes.txt", "not a photo")
    conv = Conversation()
    assert ask(pipe, conv, "my holiday", [archive]).error is None
    assert [a.name for a in conv.images()] == [f"day{i}.jpg" for i in range(10)]
    reply = ask(pipe, conv, "which ones show the sea?")
    assert len(reply.tools["hits"]) == 6 and len(reply.files) == 6, "a gallery of the best matches"
    empty = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty, "w") as z:
        z.writestr("a.txt", "x")
    assert "holds no photos" in ask(pipe, conv, "more", [empty]).error
