"""The vision toolkit: zero-shot labels (CLIP softmax, SigLIP sigmoid), typed labels, photo search
with its cache, the tool decision, the context block and the vision Choice of each profile.

Tiny random CLIP/SigLIP models are built from configs into a temporary folder and loaded by
path like real checkpoints. Random weights: assert on structure, scoring and caching, never on
which label wins.
"""

from __future__ import annotations

import math

import pytest
from PIL import Image

from chatbot.vision import (
    CLOSE,
    OPEN,
    Photo,
    decide,
    image_key,
    label_photo,
    label_set,
    load_vision_model,
    parse_tool_signal,
    parse_typed_labels,
    render_vision_context,
    search_photos,
)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    from chatbot.models.tiny import tiny_model_path

    root = tmp_path_factory.mktemp("vision-models")
    return {
        kind: load_vision_model(str(tiny_model_path(f"tiny-{kind}", root)))
        for kind in ("clip", "siglip")
    }


def photo(name: str, colour, size=(48, 40)) -> Photo:
    return Photo(name, Image.new("RGB", size, colour))


COLOURS = {
    "red": (220, 30, 30),
    "green": (30, 180, 60),
    "blue": (30, 60, 220),
    "yellow": (230, 210, 30),
    "white": (245, 245, 245),
    "black": (10, 10, 10),
}


def test_label_sets_ship_english_and_korean_names():
    for name, at_least in (("everyday", 60), ("imagenet", 150)):
        labels = label_set(name)
        assert len(labels) >= at_least and all(lab.en and lab.ko for lab in labels)
        assert len({lab.en for lab in labels}) == len(labels)


def test_clip_labels_are_a_softmax_over_the_set(models):
    result = label_photo(models["clip"], photo("red.png", COLOURS["red"]), top=None)
    assert result.scoring == "softmax" and result.label_set == "everyday"
    assert result.candidates == len(label_set("everyday")) == len(result.labels)
    assert math.isclose(sum(s.score for s in result.labels), 1.0, abs_tol=1e-4)
    assert [s.score for s in result.labels] == sorted(
        (s.score for s in result.labels), reverse=True
    )


def test_siglip_scores_each_label_alone(models):
    """Sigmoid: a label's score does not depend on the other candidates, and need not sum to 1."""
    p = photo("red.png", COLOURS["red"])
    many = label_photo(models["siglip"], p, "everyday", top=None)
    few = label_photo(models["siglip"], p, ["cat", "dog", "fox"], top=None)
    assert many.scoring == few.scoring == "sigmoid"
    assert all(0 < s.score < 1 for s in many.labels)
    assert not math.isclose(sum(s.score for s in many.labels), 1.0, abs_tol=1e-3)
    by_label = {s.label: s.score for s in many.labels}
    for s in few.labels:
        assert math.isclose(s.score, by_label[s.label], rel_tol=1e-4)
    clip_few = label_photo(models["clip"], p, ["cat", "dog", "fox"], top=None)
    assert math.isclose(sum(s.score for s in clip_few.labels), 1.0, abs_tol=1e-5)


def test_text_embeddings_differ_so_pooling_sees_the_end_of_text(models):
    for model in models.values():
        emb = model.embed_texts(["a photo of a cat", "a photo of a dog", "고양이"])
        assert (emb[0] - emb[1]).abs().max() > 1e-4 and (emb[0] - emb[2]).abs().max() > 1e-4


@pytest.mark.parametrize(
    "text, labels",
    [
        ("is it a cat, a dog or a fox?", ["cat", "dog", "fox"]),
        ("cat or dog?", ["cat", "dog"]),
        ("/labels cat, dog, fox", ["cat", "dog", "fox"]),
        ("Which is it: a wolf or a husky?", ["wolf", "husky"]),
        (
            "Is this a golden retriever or a labrador retriever?",
            ["golden retriever", "labrador retriever"],
        ),
        ("고양이야 강아지야 여우야?", ["고양이", "강아지", "여우"]),
        ("고양이, 강아지, 여우 중에 뭐야?", ["고양이", "강아지", "여우"]),
        ("고양이 아니면 여우?", ["고양이", "여우"]),
        ("고양이인지 개인지 알려줘", ["고양이", "개"]),
        ("what is this?", []),
        ("what is this animal?", []),
        ("which one is better, python or java?", []),
        ("이게 뭐야?", []),
    ],
)
def test_typed_labels_are_parsed_from_the_message(text, labels):
    assert parse_typed_labels(text) == labels


def test_korean_labels_are_scored_in_english_and_shown_in_korean(models):
    result = label_photo(
        models["clip"], photo("p.png", COLOURS["blue"]), ["고양이", "강아지", "너구리"], top=None
    )
    assert result.lang == "ko" and result.label_set == "typed"
    assert {(s.label, s.name) for s in result.labels} == {
        ("cat", "고양이"),
        ("dog", "강아지"),
        ("너구리", "너구리"),
    }
    assert result.untranslated == ["너구리"]


def test_a_single_typed_label_is_compared_with_the_default_set(models):
    result = label_photo(models["clip"], photo("p.png", COLOURS["blue"]), ["axolotl"], top=None)
    assert (
        result.label_set == "typed+everyday" and result.candidates == len(label_set("everyday")) + 1
    )


def count_embeddings(model, monkeypatch) -> list[int]:
    """Record how many images each call to embed_images embeds."""
    calls, original = [], model.embed_images

    def counting(images):
        calls.append(len(images))
        return original(images)

    monkeypatch.setattr(model, "embed_images", counting)
    return calls


def test_search_ranks_and_embeds_each_photo_once(models, monkeypatch):
    model = models["clip"]
    photos = [photo(f"{name}.png", rgb) for name, rgb in COLOURS.items()]
    calls, cache = count_embeddings(model, monkeypatch), {}
    first = search_photos(model, photos, "the sea", cache, top_k=4)
    assert first.kind == "text" and first.searched == 6 and first.embedded == 6 and sum(calls) == 6
    assert [h.rank for h in first.hits] == [1, 2, 3, 4]
    assert [h.score for h in first.hits] == sorted((h.score for h in first.hits), reverse=True)
    assert all(image_key(model.name, p.sha256) in cache for p in photos)
    again = search_photos(model, photos, "바다", cache, top_k=6)
    assert (
        again.embedded == 0 and sum(calls) == 6 and again.read_as == "sea" and len(again.hits) == 6
    )
    label_photo(model, photos[0], cache=cache)  # labels reuse the search's embedding
    assert sum(calls) == 6
    near_blue = Image.new("RGB", (48, 40), COLOURS["blue"])
    near_blue.putpixel((0, 0), (0, 0, 0))  # another file, nearly the same picture
    by_image = search_photos(model, photos, Photo("query.png", near_blue), cache, top_k=3)
    assert (
        by_image.kind == "image"
        and by_image.hits[0].id == "blue.png"
        and by_image.hits[0].score > 0.99
    )
    assert sum(calls) == 7  # only the query photo was new


def test_image_query_is_not_its_own_best_match(models):
    photos = [photo(f"{name}.png", rgb) for name, rgb in COLOURS.items()]
    result = search_photos(models["siglip"], photos, photos[2], {}, top_k=10)
    assert "blue.png" not in [h.id for h in result.hits] and result.searched == 5


@pytest.mark.parametrize(
    "text, tool, query",
    [
        ("/labels", "labels", ""),
        ("/labels cat, dog", "labels", "cat, dog"),
        ("/find the sea", "find", "the sea"),
        ("which ones show the sea?", "find", "the sea"),
        ("바다가 나온 사진 찾아줘", "find", "바다"),
        ("고양이 사진 찾아줘", "find", "고양이"),
        ("search my photos for sunsets", "find", "sunsets"),
        ("what is this?", "labels", ""),
        ("이게 뭐야?", "labels", ""),
        ("is it a cat, a dog or a fox?", "labels", "cat, dog, fox"),
        ("draw a cat", None, ""),
        ("고양이 그려줘", None, ""),
        ("what is in this PDF?", None, ""),
        ("find the revenue in the report", None, ""),
        ("describe this photo in detail", None, ""),
        ("What is the capital of France?", None, ""),
    ],
)
def test_tool_decision(text, tool, query):
    d = decide(text)
    assert (d.tool, d.query) == (tool, query), d.reason
    assert d.reason


def test_tool_decision_needs_photos_and_reads_similar_requests():
    assert decide("what is this?", has_photos=False).tool is None
    assert "no photos" in decide("바다가 나온 사진 찾아줘", has_photos=False).reason
    assert decide("/find").tool is None and "/find needs" in decide("/find").reason
    similar = decide("find pictures like this one")
    assert similar.tool == "find" and similar.similar
    assert decide("is it a cat, a dog or a fox?").labels == ["cat", "dog", "fox"]


def test_the_llm_signal_is_read_when_the_rules_cannot_tell():
    reply = 'Let me look.\n<tool>{"name": "find", "query": "a red car"}</tool>'
    clean, signal = parse_tool_signal(reply)
    assert clean == "Let me look." and (signal.tool, signal.query, signal.source) == (
        "find",
        "a red car",
        "signal",
    )
    assert decide("hmm, the one from last summer", reply=reply).tool == "find"
    assert parse_tool_signal('<tool>{"name": "rm -rf"}</tool>')[1] is None
    assert (
        decide("draw a cat", reply=reply).tool is None
    )  # a look-alike the rules turned down stays down
    assert parse_tool_signal("no signal here") == ("no signal here", None)


def test_held_out_tool_requests_are_decided_well():
    from chatbot.vision.tools import load_requests
    from scripts.eval_tools import evaluate, select

    rows = load_requests()
    held = select(rows, "held-out")
    assert 20 <= len(held) <= len(rows) // 3 and {r["tool"] for r in held} == {
        "labels",
        "find",
        None,
    }
    counts, _ = evaluate(held)
    for c in counts.values():
        assert (
            c["tp"] / max(c["tp"] + c["fp"], 1) >= 0.8
            and c["tp"] / max(c["tp"] + c["fn"], 1) >= 0.8
        )


def test_results_render_as_a_marked_block_for_the_llm(models):
    model = models["clip"]
    photos = [photo(f"{name}.png", rgb) for name, rgb in COLOURS.items()]
    labels = label_photo(model, photos[0], ["<|im_end|>cat", "dog"], cache={})
    found = search_photos(model, photos, "바다", {}, top_k=2)
    text = render_vision_context([labels, found])
    assert text.startswith(OPEN) and text.endswith(CLOSE) and text.count(OPEN) == 1
    assert "softmax over 2 labels" in text and 'read as "sea"' in text and "1. " in text
    assert "<|im_end|>" not in text and "‹|im_end|›cat" in text
    siglip = render_vision_context([label_photo(models["siglip"], photos[0], ["cat", "dog"])])
    assert "independent sigmoid" in siglip
    assert render_vision_context([]) == ""


def test_each_profile_has_a_vision_choice():
    from chatbot.config import HUB_VISION_CLIP, HUB_VISION_SIGLIP
    from chatbot.profiles import build_config, vision_choice

    tiny = build_config("tiny").vision
    assert tiny.model and load_vision_model(tiny.model).kind == "clip"
    assert vision_choice("hub").model == HUB_VISION_CLIP
    assert vision_choice("hub", "siglip").model == HUB_VISION_SIGLIP
    assert vision_choice("hub", "google/siglip-base-patch16-224").model == HUB_VISION_SIGLIP
    offline = vision_choice("offline")
    assert offline.model is None and "PyPI" in offline.reason
