"""Generator on the tiny random Stable Diffusion pipeline, loaded by path like a hub model."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from chatbot.config import MAX_GENERATION_SIDE, MAX_GENERATION_STEPS, MIN_GENERATION_SIDE
from chatbot.generator import (
    GenerationStopped,
    Generator,
    ImageRequest,
    check_request,
    read_provenance,
)
from chatbot.messages import UserError
from chatbot.profiles import generation_settings, generator_for_profile, why_no_generator


@pytest.fixture(scope="module")
def gen(tmp_path_factory):
    g = Generator(generator_for_profile("tiny"), output_dir=tmp_path_factory.mktemp("images"))
    g.load()
    return g


def req(**kw) -> ImageRequest:
    base = dict(prompt="a red fox in the snow", seed=1, steps=3, guidance=0.0, width=64, height=64)
    return ImageRequest(**{**base, **kw})


def pixels(img) -> np.ndarray:
    return np.asarray(img, dtype=np.int16)


def test_loads_through_the_auto_pipeline_without_a_safety_checker(gen):
    pipe = gen.load()
    assert type(pipe).__name__ == "StableDiffusionPipeline"
    assert pipe.safety_checker is None and gen.device == "cpu"


def test_clip_tokenizer_has_eos_so_prompts_embed_differently(gen):
    """A BPE tokenizer without an end-of-text token makes every prompt embed the same."""
    import torch

    pipe = gen.load()
    ids = pipe.tokenizer(
        ["a cat", "a dog"], padding="max_length", max_length=77, return_tensors="pt"
    ).input_ids
    assert (ids == pipe.tokenizer.eos_token_id).any(dim=1).all()
    with torch.no_grad():
        pooled = pipe.text_encoder(ids).pooler_output
    assert not torch.allclose(pooled[0], pooled[1])


def test_image_shape_and_progress(gen):
    calls = []
    out = gen.generate(req(steps=3, width=96, height=64), on_step=lambda i, n: calls.append((i, n)))
    assert out.image.size == (96, 64) and out.image.mode == "RGB"
    assert calls == [(1, 3), (2, 3), (3, 3)]


def test_same_seed_same_pixels_different_seed_different(gen):
    a = gen.generate(req(seed=7)).image
    b = gen.generate(req(seed=7)).image
    c = gen.generate(req(seed=8)).image
    assert np.array_equal(pixels(a), pixels(b))
    assert np.abs(pixels(a) - pixels(c)).mean() > 1


def test_provenance_round_trips_through_the_png(gen):
    r = req(negative_prompt="blurry", seed=99, steps=2, guidance=1.5)
    out = gen.generate(r)
    saved = read_provenance(out.path)
    assert saved == out.provenance
    assert {
        k: saved[k]
        for k in ("prompt", "negative_prompt", "seed", "steps", "guidance", "width", "height")
    } == {
        "prompt": r.prompt,
        "negative_prompt": "blurry",
        "seed": 99,
        "steps": 2,
        "guidance": 1.5,
        "width": 64,
        "height": 64,
    }
    assert saved["model"] == gen.model and saved["mode"] == "text-to-image"
    from PIL import Image

    with Image.open(out.path) as im:
        assert "Seed: 99" in im.info["parameters"]


def test_stop_mid_generation(gen):
    """Stop must stop: the loop ends after the step in progress, no picture is saved."""
    stop = threading.Event()
    calls = []

    def on_step(i, n):
        calls.append(i)
        if i == 2:
            stop.set()

    files_before = set(gen.output_dir.iterdir())
    with pytest.raises(GenerationStopped):
        gen.generate(req(steps=5), on_step=on_step, stop_event=stop)
    assert calls == [1, 2]
    assert set(gen.output_dir.iterdir()) == files_before
    with pytest.raises(GenerationStopped):  # already stopped: no step at all
        gen.generate(req(), on_step=lambda i, n: calls.append(i), stop_event=stop)
    assert calls == [1, 2]
    assert gen.generate(req(steps=2)).image.size == (64, 64)  # the pipeline still works


def test_image_to_image_variation(gen, tmp_path):
    from PIL import Image

    photo = tmp_path / "photo.jpg"
    Image.new("RGB", (120, 80), (200, 40, 40)).save(photo)  # 3:2, larger than requested
    calls = []
    out = gen.generate(
        req(init_image=str(photo), strength=0.5, steps=4, width=96, height=96),
        on_step=lambda i, n: calls.append((i, n)),
    )
    assert out.image.size == (96, 64)  # aspect kept, longer side = 96
    assert calls == [(1, 2), (2, 2)]  # steps * strength
    p = out.provenance
    assert p["mode"] == "image-to-image" and p["init_image"] == "photo.jpg" and p["strength"] == 0.5
    again = gen.generate(
        req(init_image=str(photo), strength=0.5, steps=4, width=96, height=96)
    ).image
    assert np.array_equal(pixels(out.image), pixels(again))
    # turbo settings (1 step) still run one step at strength 0.6
    one = gen.generate(req(init_image=str(photo), strength=0.6, steps=1))
    assert one.provenance["denoising_steps"] == 1


@pytest.mark.parametrize(
    "bad, match",
    [
        (dict(steps=0), "MAX_GENERATION_STEPS"),
        (dict(steps=MAX_GENERATION_STEPS + 1), "MAX_GENERATION_STEPS"),
        (dict(width=MAX_GENERATION_SIDE + 8), "MAX_GENERATION_SIDE"),
        (dict(height=MIN_GENERATION_SIDE - 8), "MIN_GENERATION_SIDE"),
        (dict(prompt="  "), "Nothing to draw"),
        (dict(seed=-1), "seed"),
        (dict(init_image="/nonexistent/photo.png"), "no longer available"),
    ],
)
def test_limits_are_user_errors(gen, bad, match):
    with pytest.raises(UserError, match=match):
        gen.generate(req(**bad))


def test_sides_round_down_to_multiples_of_8():
    assert (
        check_request(req(width=100, height=70)).width,
        check_request(req(width=100, height=70)).height,
    ) == (96, 64)


def test_out_of_memory_is_a_user_error(tmp_path, monkeypatch):
    import torch

    g = Generator(generator_for_profile("tiny"), output_dir=tmp_path)
    pipe = g.load()

    def oom(*a, **k):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")

    monkeypatch.setattr(type(pipe), "__call__", oom)
    with pytest.raises(UserError, match="Out of memory drawing 64x64"):
        g.generate(req())


def test_two_sessions_at_once_both_get_their_picture(gen):
    results, errors = {}, []

    def run(seed):
        try:
            results[seed] = pixels(gen.generate(req(seed=seed, steps=2)).image)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(s,)) for s in (3, 4)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert not errors and set(results) == {3, 4}
    assert np.array_equal(results[3], pixels(gen.generate(req(seed=3, steps=2)).image))


def test_profiles_and_defaults(monkeypatch):
    assert generator_for_profile("offline") is None and "PyPI" in why_no_generator("offline")
    import chatbot.profiles as g

    monkeypatch.setattr(g, "resolve_device", lambda d="auto": "cpu")
    assert generator_for_profile("hub") == "stabilityai/sd-turbo"
    s = generation_settings("hub", "stabilityai/sd-turbo", "cpu")
    assert (s.steps, s.guidance, s.width) == (1, 0.0, 512)
    monkeypatch.setattr(g, "resolve_device", lambda d="auto": "cuda")
    assert generator_for_profile("hub") == "stabilityai/sdxl-turbo"
    assert generation_settings("hub", "stabilityai/sdxl-turbo", "cuda").steps == 4
    with pytest.raises(ValueError):
        generator_for_profile("auto")
