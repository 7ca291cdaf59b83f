"""A GGUF text LM run by llama.cpp (llama-cpp-python) in this process: the `--engine llama.cpp` CPU
engine.

llama.cpp runs small GGUFs from a Q8_0 copy (the bundled 4-bit values, exactly; see q8_copy) with
its int8 kernels: it decodes several times faster than transformers fp32 on a CPU and nearly
always picks the same next tokens (bench/bench_engine.py; figures in bench/RESULTS.md). The
Backend contract is kept: streaming, Stop between tokens, and a KV prefix per conversation:
llama.cpp reuses the longest prefix of the sequence it holds, and each conversation's state is
saved when another conversation takes the model (in a PrefixCache, bounded by KV_CACHE_MB and
KV_CACHE_SESSIONS like the transformers caches).
"""

from __future__ import annotations

import codecs
import os
import time
from pathlib import Path

from ..config import ModelConfig, cache_dir
from .base import Backend, Progress
from .decoding import GenStats, PrefixCache, Sampling
from .text_lm import flatten

CONTEXT_TOKENS = 8192  # llama.cpp's context window for the offline model (SmolLM2: 8k positions)
REPACK_MAX_MB = 500  # GGUF files up to this size run from a Q8_0 copy (see q8_copy)
STOP_TOKENS = ("<|im_end|>", "<|endoftext|>", "<|eot_id|>", "<end_of_utterance>")


def open_llama(path: Path, n_ctx: int = CONTEXT_TOKENS, **extra):
    """llama.cpp on a GGUF with the app's settings (the benchmarks open it the same way): every core
    for prefill and decode (llama-cpp-python's default is half; one decode thread left a core to the
    server streaming the reply but was slower through the app), flash attention (a shorter
    prefill); see bench/RESULTS.md."""
    from llama_cpp import Llama

    cores = max(1, os.cpu_count() or 1)
    return Llama(
        model_path=str(path),
        n_ctx=n_ctx,
        n_threads=cores,
        n_threads_batch=cores,
        n_batch=512,
        flash_attn=True,
        verbose=False,
        **extra,
    )


def q8_copy(src: Path, folder: Path | None = None, progress: Progress = lambda s: None) -> Path:
    """A Q8_0 copy of a small GGUF, written once. On a CPU llama.cpp prefills SmolLM2 from Q8_0
    faster than from the bundled Q4_1 (its int8 matrix kernels take Q8_0; see bench/RESULTS.md)
    and decodes as fast, since a 135M model is not bandwidth-bound here.
    The Q4_1 values fit Q8_0 almost exactly, so the answers are the bundled model's."""
    import gguf
    import numpy as np
    from gguf import GGMLQuantizationType as Q

    dest = (folder or cache_dir() / "converted") / (src.stem + ".Q8_0-repack.gguf")
    if dest.exists() or src.stat().st_size > REPACK_MAX_MB * 2**20:
        return dest if dest.exists() else src
    progress(f"repacking {src.name} as Q8_0 for llama.cpp (first start only)")
    reader = gguf.GGUFReader(src)
    tmp = dest.with_suffix(".tmp")
    tmp.parent.mkdir(parents=True, exist_ok=True)
    writer = gguf.GGUFWriter(tmp, reader.fields["general.architecture"].contents())
    for name, f in reader.fields.items():
        if not name.startswith("GGUF.") and name != "general.architecture":
            sub = f.types[-1] if f.types[0] == gguf.GGUFValueType.ARRAY else None
            writer.add_key_value(name, f.contents(), f.types[0], sub_type=sub)
    for t in reader.tensors:
        data = gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float32)
        if data.ndim == 1 or t.tensor_type == Q.F32:  # norms stay float
            writer.add_tensor(t.name, data, raw_dtype=Q.F32)
        else:
            packed = gguf.quants.quantize(data, Q.Q8_0)
            writer.add_tensor(t.name, packed, raw_shape=packed.shape, raw_dtype=Q.Q8_0)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    tmp.replace(dest)
    return dest


class LlamaCppLM(Backend):
    kind = "text"
    sees_images = False

    def __init__(self, cfg: ModelConfig):
        self.cfg = cfg
        self.name = cfg.gguf_file or cfg.model
        self.saved = (
            PrefixCache()
        )  # conversation id -> llama.cpp state, bounded like the transformers caches
        self.holder: str | None = None  # the conversation whose tokens llama.cpp holds now

    def load(self, progress: Progress = lambda s: None) -> None:
        from transformers import AutoTokenizer

        path = (
            Path(self.cfg.model) / self.cfg.gguf_file
            if self.cfg.gguf_file
            else Path(self.cfg.model)
        )
        self.weights = q8_copy(path, self.cfg.cache_dir / "converted", progress=progress)
        progress(f"llama.cpp: {self.weights.name}")
        self.llm = open_llama(self.weights)
        # the chat template and special tokens as transformers reads them from the same GGUF
        self.tokenizer = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
        self.stop_ids = {
            t
            for t in (self.llm.token_eos(), *(self.token_id(s) for s in STOP_TOKENS))
            if t is not None
        }

    def token_id(self, text: str) -> int | None:
        ids = self.llm.tokenize(text.encode(), add_bos=False, special=True)
        return ids[0] if len(ids) == 1 else None

    def prompt_ids(self, messages: list[dict]) -> list[int]:
        text = self.tokenizer.apply_chat_template(
            flatten(messages), add_generation_prompt=True, tokenize=False
        )
        return self.llm.tokenize(text.encode(), add_bos=False, special=True)

    def warm(self, system: str) -> None:
        """llama.cpp holds the system prompt from the start: the first conversation reuses it."""
        self.llm.reset()
        self.holder = None
        self.llm.eval(
            self.prompt_ids([{"role": "system", "content": [{"type": "text", "text": system}]}])
        )

    def take_model(self, key: str) -> None:
        """Make llama.cpp hold this conversation's KV cache: save the holder's, restore ours."""
        if self.holder == key:
            return
        if self.holder is not None and self.llm.n_tokens:
            state = self.llm.save_state()
            self.saved.put(self.holder, [], state, state.llama_state_size)
        entry = self.saved.take(key)
        if entry is not None:
            self.llm.load_state(entry[1])
        # else llama.cpp keeps what it holds: generate() reuses the longest common prefix, so a new
        # conversation starts from the system prompt all conversations share
        self.holder = key

    def stream(
        self,
        messages,
        encodings,
        *,
        key,
        sampling: Sampling,
        stop_event=None,
        stats: GenStats | None = None,
    ):
        stats = stats if stats is not None else GenStats()
        ids = self.prompt_ids(messages)
        if len(ids) + sampling.max_new_tokens > CONTEXT_TOKENS:
            raise RuntimeError(
                f"the prompt has {len(ids)} tokens; llama.cpp's window is {CONTEXT_TOKENS} "
                f"(CONTEXT_TOKENS) with {sampling.max_new_tokens} for the reply"
            )
        t0 = time.perf_counter()
        self.take_model(key)
        stats.prompt_tokens = len(ids)
        stats.reused_tokens = min(
            self.llm.longest_token_prefix(self.llm.input_ids[: self.llm.n_tokens].tolist(), ids),
            len(ids) - 1,
        )
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.llm.set_seed(sampling.seed)
        tokens = self.llm.generate(
            ids,
            top_k=1 if sampling.temperature <= 0 else 0,
            top_p=sampling.top_p,
            min_p=0.0,
            temp=sampling.temperature,
            repeat_penalty=sampling.repetition_penalty,
        )
        t_first = None
        for n, tok in enumerate(tokens):
            if tok in self.stop_ids and n >= sampling.min_new_tokens:
                break
            if t_first is None:
                t_first = time.perf_counter()
                stats.ttft_s = t_first - t0
            stats.new_tokens, stats.decode_s = n + 1, time.perf_counter() - t_first
            piece = decoder.decode(self.llm.detokenize([tok], special=False))
            if piece:
                yield piece
            if stop_event is not None and stop_event.is_set():
                stats.stopped = True
                break
            if stats.new_tokens >= sampling.max_new_tokens:
                break

    def forget(self, key: str) -> None:
        self.saved.drop(key)
        if self.holder == key:
            self.llm.reset()
            self.holder = None

    def describe(self) -> str:
        return f"llama.cpp ({self.weights.name}), text only, on CPU"
