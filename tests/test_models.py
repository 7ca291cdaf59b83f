"""The LLM box: VLM encode-once path, KV prefix cache, loaders and profiles, on tiny models."""

from __future__ import annotations

import hashlib

import pytest
import torch
from PIL import Image

from chatbot.config import ModelConfig
from chatbot.conversation import Attachment
from chatbot.models import create_backend
from chatbot.models.base import load_kwargs
from chatbot.models.decoding import GenStats, PrefixCache, Sampling
from chatbot.profiles import build_config

FIXED = Sampling(max_new_tokens=6, min_new_tokens=6)


def photo(color) -> Attachment:
    img = Image.new("RGB", (70, 50), color)
    return Attachment(
        "image", f"{color}.png", "", hashlib.sha256(str(color).encode()).hexdigest(), image=img
    )


def user(*parts):
    return {
        "role": "user",
        "content": [{"type": "image"} if p is None else {"type": "text", "text": p} for p in parts],
    }


@pytest.fixture(params=["tiny-llava", "tiny-idefics3"])
def vlm(request, tiny_models):
    b = create_backend(ModelConfig(kind="vlm", model=str(tiny_models[request.param])))
    b.load()
    return b


def test_scattered_features_match_the_reference_forward(vlm):
    """Guards the encode-once path: our prompt (cached projected features scattered into the
    token embeddings) must give the same logits as the model's own forward with pixel_values."""
    img = photo("red")
    enc = vlm.encode_images([img], {})
    ids, embed_from = vlm.prompt([user(None, "What is this?")], enc)
    ours = vlm.model(inputs_embeds=embed_from(0)).logits
    text = vlm.processor.apply_chat_template(
        [user(None, "What is this?")], add_generation_prompt=True, tokenize=False
    )
    ref_in = vlm.processor(
        text=text,
        images=[img.image],
        return_tensors="pt",
        add_special_tokens=False,
        **vlm.proc_kwargs,
    )
    assert ref_in["input_ids"][0].tolist() == ids
    ref = vlm.model(**ref_in).logits
    torch.testing.assert_close(ours, ref, rtol=1e-4, atol=1e-4)


def test_each_image_is_encoded_once_per_cache(vlm, monkeypatch):
    calls = []
    real = vlm.model.get_image_features
    monkeypatch.setattr(vlm.model, "get_image_features", lambda **kw: calls.append(1) or real(**kw))
    cache = {}
    a, b = photo("red"), photo("blue")
    first = vlm.encode_images([a, b], cache)
    again = vlm.encode_images([a, b], cache)
    assert (
        len(calls) == 2
        and [e.cached for e in first] == [False, False]
        and [e.cached for e in again] == [True, True]
    )
    assert first[0].n_tokens > 0 and first[0].features.shape[0] == first[0].n_tokens
    vlm.encode_images([a], {})  # another conversation's cache: encoded again, never shared
    assert len(calls) == 3


def test_prefix_cache_gives_identical_tokens_and_reuses_the_prompt(vlm):
    """Guards the KV reuse across turns: same output as a cold start, and the old prompt is not
    re-run."""
    enc = vlm.encode_images([photo("red"), photo("blue")], {})
    turn1 = [user(None, None, "compare them")]
    r1 = "".join(vlm.stream(turn1, enc, key="c", sampling=FIXED))
    turn2 = turn1 + [
        {"role": "assistant", "content": [{"type": "text", "text": r1}]},
        user("and the first?"),
    ]
    warm = GenStats()
    r2 = "".join(vlm.stream(turn2, enc, key="c", sampling=FIXED, stats=warm))
    vlm.prefix = PrefixCache()
    cold = GenStats()
    r2_cold = "".join(vlm.stream(turn2, enc, key="c", sampling=FIXED, stats=cold))
    assert r2 == r2_cold
    assert cold.reused_tokens == 0 and warm.reused_tokens >= len(vlm.prompt(turn1, enc)[0]) - 1
    assert warm.new_tokens == FIXED.max_new_tokens


def test_a_new_conversation_reuses_the_shared_system_prompt_but_never_anothers_photo(vlm):
    """Guards cross-conversation prefix sharing: the system prompt's KV comes from another
    conversation, the photo never does (its placeholder ids are alike for every photo), and the
    reply is what a cold start writes."""
    system = {
        "role": "system",
        "content": [{"type": "text", "text": "You are a careful assistant. " * 12}],
    }
    msgs = [system, user(None, "what colour is it?")]
    red, blue = vlm.encode_images([photo("red")], {}), vlm.encode_images([photo("blue")], {})
    "".join(vlm.stream(msgs, red, key="a", sampling=FIXED))
    warm = GenStats()
    got = "".join(vlm.stream(msgs, blue, key="b", sampling=FIXED, stats=warm))
    ids = vlm.prompt(msgs, blue)[0]
    assert 32 <= warm.reused_tokens <= ids.index(vlm.image_token_id)
    vlm.prefix = PrefixCache()
    cold = GenStats()
    assert (
        "".join(vlm.stream(msgs, blue, key="c", sampling=FIXED, stats=cold)) == got
        and cold.reused_tokens == 0
    )


def test_the_system_prompt_warmed_at_load_starts_the_first_conversation(vlm):
    system = {
        "role": "system",
        "content": [{"type": "text", "text": "You are a careful assistant. " * 12}],
    }
    msgs = [system, user(None, "what colour is it?")]
    red = vlm.encode_images([photo("red")], {})
    vlm.warm(system["content"][0]["text"])  # what the loader does once the model is loaded
    warm = GenStats()
    got = "".join(vlm.stream(msgs, red, key="first", sampling=FIXED, stats=warm))
    assert 32 <= warm.reused_tokens <= vlm.prompt(msgs, red)[0].index(vlm.image_token_id)
    vlm.prefix = PrefixCache()
    assert "".join(vlm.stream(msgs, red, key="cold", sampling=FIXED)) == got


def test_stop_event_ends_decoding_between_tokens(vlm):
    import threading

    stop = threading.Event()
    stats = GenStats()
    pieces = []
    for piece in vlm.stream(
        [user("hello")],
        [],
        key="s",
        sampling=Sampling(max_new_tokens=200, min_new_tokens=200),
        stop_event=stop,
        stats=stats,
    ):
        pieces.append(piece)
        stop.set()
    # a piece may wait for a multi-byte character to complete, so allow a few tokens, not 200
    assert stats.stopped and stats.new_tokens <= 4


def test_prefix_cache_is_bounded():
    cache = PrefixCache(capacity=2)
    for k in "abc":
        cache.put(k, [1], object())
    assert cache.take("a") is None and cache.take("c") is not None
    cache.put("c:prompt", [1], object())
    cache.drop("c")
    assert cache.take("c:prompt") is None


def test_text_backend_streams(tiny_models):
    b = create_backend(ModelConfig(kind="text", model=str(tiny_models["tiny-text"])))
    b.load()
    stats = GenStats()
    out = "".join(
        b.stream(
            [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
            [],
            key="t",
            sampling=FIXED,
            stats=stats,
        )
    )
    assert stats.new_tokens == 6 and isinstance(out, str) and not b.sees_images


def test_quantization_needs_cuda_and_says_so():
    with pytest.raises(RuntimeError, match="needs a CUDA GPU"):
        load_kwargs(ModelConfig(device="cpu", quantize="4bit"))
    kwargs, device = load_kwargs(ModelConfig(device="cpu"))
    assert device == "cpu" and kwargs["dtype"] == torch.float32 and "device_map" not in kwargs


def test_auto_profile_falls_back_to_offline_with_a_reason(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    cfg = build_config("auto")
    assert cfg.profile == "offline" and "HF_HUB_OFFLINE" in cfg.profile_reason
    assert cfg.llm.kind == "text" and cfg.llm.gguf_file.endswith(".gguf")


def test_hub_profile_accepts_a_local_checkpoint_path(tiny_models):
    cfg = build_config("hub", model=str(tiny_models["tiny-idefics3"]))
    assert cfg.llm.kind == "vlm"
    cfg = build_config("hub", model=str(tiny_models["tiny-text"]))
    assert cfg.llm.kind == "text"


def test_prefix_cache_is_sized_by_memory_so_many_short_conversations_fit():
    """Twenty interleaved clients with short caches all stay resident; one big cache pushes the
    oldest out once the memory budget is spent (the 4-slot count never reused any of them)."""
    from types import SimpleNamespace

    def kv(n_floats):
        t = torch.zeros(n_floats // 2)
        return SimpleNamespace(layers=[SimpleNamespace(keys=t, values=t.clone())])

    cache = PrefixCache(budget_mb=1)
    for i in range(20):
        cache.put(f"c{i}", [i], kv(2_000))  # 8 kB each
    assert all(cache.take(f"c{i}") is not None for i in range(20))
    for i in range(20):
        cache.put(f"c{i}", [i], kv(2_000))
    cache.put("big", [0], kv(240_000))  # 960 kB: the oldest small ones go
    assert cache.bytes <= 2**20 and cache.take("big") is not None and cache.take("c0") is None


def test_the_int8_cpu_engine_quantizes_linear_layers_and_still_streams(tiny_models):
    """--engine int8: PyTorch dynamic int8 Linear layers on CPU, same backend interface."""
    from chatbot.models.text_lm import TransformersLM

    b = TransformersLM(ModelConfig(kind="text", model=str(tiny_models["tiny-text"]), engine="int8"))
    b.load()
    assert not any(type(m) is torch.nn.Linear for m in b.model.modules())
    assert any(
        type(m).__module__.startswith("torch.ao.nn.quantized.dynamic") for m in b.model.modules()
    )
    text = "".join(
        b.stream(
            [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
            [],
            key="q",
            sampling=Sampling(max_new_tokens=5, min_new_tokens=5),
        )
    )
    assert isinstance(text, str) and "int8" in b.describe()
