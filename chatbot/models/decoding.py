"""Token-by-token decoding with a KV prefix cache kept per conversation.

Why not `model.generate` + TextIteratorStreamer: every turn would re-run the
whole history (and, for a VLM, every image) through the model, so turn 5 is
slower than turn 1. Here each conversation keeps its KV cache; a new turn only
runs the tokens after the longest prefix it shares with the cached sequence.
The loop also checks the stop event between tokens, so Stop really stops.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable, Iterator

from ..config import KV_CACHE_MB, KV_CACHE_SESSIONS, MAX_NEW_TOKENS

SHARED_PREFIX_MIN_TOKENS = (
    32  # a shorter common start is not worth copying another conversation's cache
)


@dataclass
class Sampling:
    max_new_tokens: int = MAX_NEW_TOKENS
    temperature: float = 0.0  # 0 = greedy
    top_p: float = 0.9
    repetition_penalty: float = 1.0
    min_new_tokens: int = 0  # tests use it for a fixed length
    seed: int = 0

    @classmethod
    def of(cls, llm) -> "Sampling":
        """The app's sampling for a config.ModelConfig: its limits and settings; a text LM gets
        a repetition penalty of 1.1 unless the config names one (small ones loop without)."""
        penalty = llm.repetition_penalty
        if penalty is None:
            penalty = 1.1 if llm.kind == "text" else 1.0
        return cls(
            max_new_tokens=llm.max_new_tokens,
            min_new_tokens=llm.min_new_tokens,
            temperature=llm.temperature,
            top_p=llm.top_p,
            repetition_penalty=penalty,
        )


@dataclass
class GenStats:
    prompt_tokens: int = 0
    reused_tokens: int = 0  # served from the conversation's KV cache
    new_tokens: int = 0
    ttft_s: float = 0.0  # request -> first token (includes prefill)
    decode_s: float = 0.0  # first token -> last token
    stopped: bool = False

    @property
    def tokens_per_s(self) -> float:
        return (
            (self.new_tokens - 1) / self.decode_s
            if self.new_tokens > 1 and self.decode_s > 0
            else 0.0
        )


def cache_bytes(cache) -> int:
    """Memory held by a transformers KV cache (keys and values of every layer)."""
    total = 0
    for layer in getattr(cache, "layers", None) or []:
        for t in (getattr(layer, "keys", None), getattr(layer, "values", None)):
            if hasattr(t, "numel"):
                total += t.numel() * t.element_size()
    return total


class PrefixCache:
    """conversation id -> (token ids the cache holds, DynamicCache); least recently used evicted
    when the caches hold more than budget_mb (KV_CACHE_MB) or more than `capacity` entries.
    Sized by memory: 20 short conversations share what one long one would take."""

    def __init__(self, capacity: int = KV_CACHE_SESSIONS, budget_mb: float = KV_CACHE_MB):
        self.capacity, self.budget = capacity, int(budget_mb * 2**20)
        self._entries: OrderedDict[str, tuple[list[int], object, int]] = OrderedDict()

    @property
    def bytes(self) -> int:
        return sum(size for *_, size in self._entries.values())

    def take(self, key: str):
        entry = self._entries.pop(key, None)
        return None if entry is None else entry[:2]

    def put(self, key: str, ids: list[int], cache, size: int | None = None) -> None:
        """size: the bytes the cache holds, when it is not a transformers cache (llama.cpp's
        state)."""
        self._entries[key] = (ids, cache, cache_bytes(cache) if size is None else size)
        while len(self._entries) > self.capacity or (
            len(self._entries) > 1 and self.bytes > self.budget
        ):
            self._entries.popitem(last=False)

    def shared(self, ids: list[int], limit: int, config):
        """(prefix ids, a new cache of those positions) from the entry sharing the longest prefix
        with ids, up to `limit` tokens: every conversation starts with the same system prompt, so a
        new one need not prefill it again (a photo turn 1 on CPU: bench_photo). None below
        SHARED_PREFIX_MIN_TOKENS."""
        from transformers import DynamicCache

        best, n = None, 0
        for cached_ids, cache, _ in list(
            self._entries.values()
        ):  # a snapshot: a cancelled reply may still put
            common = min(_common_prefix(cached_ids, ids), limit)
            if common > n:
                best, n = cache, common
        if best is None or n < SHARED_PREFIX_MIN_TOKENS:
            return None
        copy = DynamicCache(config=config)  # the shared positions only; the source stays as it is
        for i, layer in enumerate(best.layers):
            copy.update(layer.keys[:, :, :n].clone(), layer.values[:, :, :n].clone(), i)
        return ids[:n], copy

    def drop(self, key: str) -> None:
        """Forget a conversation: its chat cache and its side caches ('<key>:prompt')."""
        for k in [k for k in self._entries if k == key or k.startswith(key + ":")]:
            del self._entries[k]


def _common_prefix(a: list[int], b: list[int]) -> int:
    n = min(len(a), len(b))
    for i in range(n):
        if a[i] != b[i]:
            return i
    return n


def _pick(logits, seen, s: Sampling, gen, step: int, eos: set[int]):
    """Next token from the last position's logits [vocab]."""
    import torch

    if s.repetition_penalty != 1.0 and seen is not None:
        vals = logits[seen]
        logits[seen] = torch.where(
            vals > 0, vals / s.repetition_penalty, vals * s.repetition_penalty
        )
    if step < s.min_new_tokens:
        logits[list(eos)] = float("-inf")
    if s.temperature <= 0:
        return int(torch.argmax(logits))
    probs = torch.softmax(logits.float() / s.temperature, dim=-1)
    if s.top_p < 1.0:
        sorted_p, idx = torch.sort(probs, descending=True)
        keep = torch.cumsum(sorted_p, 0) - sorted_p < s.top_p
        probs = torch.zeros_like(probs).scatter(0, idx[keep], sorted_p[keep])
    return int(torch.multinomial(probs, 1, generator=gen))


def reuse_prefix(entry, ids: list[int]):
    """(cache cropped to the longest prefix it shares with ids, its length) or None without one."""
    if entry is None:
        return None
    cached_ids, cache = entry
    start = min(_common_prefix(cached_ids, ids), len(ids) - 1)  # feed at least one token
    if cache.get_seq_length() > start:
        cache.crop(start - cache.get_seq_length())  # negative: tokens to remove
    return cache, start


def stream_tokens(
    model,
    ids: list[int],
    embed_from: Callable[[int], object] | None,
    *,
    prefix: PrefixCache,
    key: str,
    eos: set[int],
    sampling: Sampling,
    stop_event=None,
    stats: GenStats | None = None,
    shareable: int | None = None,
) -> Iterator[int]:
    """Yield new token ids for the prompt `ids` ([T] ints, batch of one).

    embed_from(start) -> inputs_embeds [1, T-start, hidden] for prompts with images
    (cached image features scattered in); None for text-only prompts.
    shareable: how many leading tokens mean the same in any conversation (up to the first image,
    whose placeholder ids are alike for every photo); a new conversation may start from another's
    cache.
    """
    import torch
    from transformers import DynamicCache

    stats = stats if stats is not None else GenStats()
    stats.prompt_tokens = len(ids)
    t0 = time.perf_counter()
    cache, start = (
        reuse_prefix(prefix.take(key), ids)
        or reuse_prefix(
            prefix.shared(ids, len(ids) if shareable is None else shareable, model.config), ids
        )
        or (DynamicCache(config=model.config), 0)
    )
    stats.reused_tokens = start
    device = model.get_input_embeddings().weight.device
    gen = torch.Generator(device="cpu").manual_seed(sampling.seed)
    seen = (
        torch.tensor(sorted(set(ids)), device=device)
        if sampling.repetition_penalty != 1.0
        else None
    )
    out_ids: list[int] = []
    consistent = True
    try:
        with torch.inference_mode():
            if embed_from is not None:
                step_in = dict(inputs_embeds=embed_from(start))
            else:
                step_in = dict(input_ids=torch.tensor([ids[start:]], device=device))
            for step in range(sampling.max_new_tokens):
                out = model(**step_in, past_key_values=cache, use_cache=True, logits_to_keep=1)
                tok = _pick(out.logits[0, -1].float(), seen, sampling, gen, step, eos)
                if step == 0:
                    stats.ttft_s = time.perf_counter() - t0
                    t_first = time.perf_counter()
                if tok in eos:
                    break
                out_ids.append(tok)
                stats.new_tokens = len(out_ids)
                stats.decode_s = time.perf_counter() - t_first
                yield tok
                if stop_event is not None and stop_event.is_set():
                    stats.stopped = True
                    break
                if seen is not None:
                    seen = torch.unique(torch.cat([seen, torch.tensor([tok], device=device)]))
                step_in = dict(input_ids=torch.tensor([[tok]], device=device))
    except BaseException as exc:
        # A consumer that stops iterating (GeneratorExit) leaves a valid cache; a model
        # error may leave a layer half-updated, so that cache is dropped.
        consistent = isinstance(exc, GeneratorExit)
        raise
    finally:
        if consistent:
            prefix.put(key, (list(ids) + out_ids)[: cache.get_seq_length()], cache)
