"""Which CPU engine runs a GGUF text LM on this machine: a short measurement at the first start,
kept per machine.

Which engine prefills faster flips from one machine to the next (llama.cpp Q8_0 prefilled 2,000
tokens in 2.74 s against fp32's 3.39 s on one run, 4.53 s against 2.69 s on another), while
llama.cpp always decodes several times faster. So the first start measures both on a real
prompt (the README as an excerpt, about PROBE_TOKENS tokens): prefill, decode, and how often
llama.cpp picks fp32's next token along the prompt. It chooses the engine that puts a short
answer (TURN_REPLY_TOKENS after a TURN_PROMPT_TOKENS document prompt) in front of the reader
sooner, among those agreeing with fp32 at least MIN_AGREEMENT of the time. The result is kept in
the cache folder under a key naming the CPU, the core count, the model file and both engines'
versions: a new machine, model or wheel measures again. (Prefill and decode cannot be split
between the engines: the KV cache of one is not the other's.)
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, replace
from pathlib import Path

from ..config import ModelConfig

PROBE_TOKENS = 1024  # prompt tokens measured (prefill time scales about linearly up to 2,000)
PROBE_DECODE = 24  # tokens decoded to measure each engine's decode rate
TURN_PROMPT_TOKENS = 2000  # what a document question's prompt holds
TURN_REPLY_TOKENS = 32  # a one-sentence answer: what the reader waits for
MIN_AGREEMENT = 0.95  # llama.cpp's next token must be fp32's at least this often
PROBE_FILE = "engine-probe.json"


@dataclass(frozen=True)
class Probe:
    """One machine's measurement of both engines (seconds, tokens per second, a share)."""

    fp32_prefill_s: float  # PROBE_TOKENS tokens
    llamacpp_prefill_s: float
    fp32_decode_tps: float
    llamacpp_decode_tps: float
    agreement: float  # llama.cpp's next token == fp32's, along the probe prompt

    def turn_s(self, engine: str) -> float:
        """Seconds to a TURN_REPLY_TOKENS answer after a TURN_PROMPT_TOKENS prompt."""
        prefill, rate = (
            (self.fp32_prefill_s, self.fp32_decode_tps)
            if engine == "fp32"
            else (self.llamacpp_prefill_s, self.llamacpp_decode_tps)
        )
        return prefill * TURN_PROMPT_TOKENS / PROBE_TOKENS + TURN_REPLY_TOKENS / rate

    def choice(self) -> tuple[str, str]:
        """(engine, its reason with the figures) for ModelConfig.engine and engine_reason."""
        figures = (
            f"measured here at first start: {TURN_PROMPT_TOKENS:,}-token prompt + "
            f"{TURN_REPLY_TOKENS} tokens {self.turn_s('llama.cpp'):.1f} s on llama.cpp, "
            f"{self.turn_s('fp32'):.1f} s on fp32; llama.cpp picks fp32's next token "
            f"{self.agreement:.0%} of the time"
        )
        if self.agreement < MIN_AGREEMENT:
            return "fp32", f"fp32: llama.cpp agrees with it too rarely ({figures})"
        if self.turn_s("llama.cpp") <= self.turn_s("fp32"):
            return "llama.cpp", f"llama.cpp on the GGUF's weights, faster here ({figures})"
        return "fp32", f"fp32, faster here ({figures})"


def choose(llm: ModelConfig, log=print) -> tuple[str, str]:
    """The engine for this GGUF on this machine: measured once, then read from the cache."""
    import llama_cpp
    import torch

    file = Path(llm.model) / llm.gguf_file
    key = "|".join(
        [_cpu(), str(os.cpu_count()), file.name, str(file.stat().st_size)]
        + [f"llama_cpp {llama_cpp.__version__}", f"torch {torch.__version__}"]
    )
    path = llm.cache_dir / PROBE_FILE
    known = json.loads(path.read_text()) if path.exists() else {}
    if key not in known:
        log(f"measuring the CPU engines for {file.name} on this machine (first start only)…")
        known[key] = measure(llm).__dict__
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(known, indent=1))
        tmp.replace(path)
    return Probe(**known[key]).choice()


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine()


def measure(llm: ModelConfig) -> Probe:
    """Both engines on the probe prompt, best of two runs each (noise only slows runs down)."""
    import numpy as np
    import torch

    from .llamacpp import LlamaCppLM, open_llama
    from .text_lm import TransformersLM

    fp32 = TransformersLM(replace(llm, engine="fp32"))
    fp32.load()
    ids = _probe_ids(fp32.tokenizer)
    with torch.inference_mode():
        prefill, reference = [], None
        for _ in range(2):
            t = time.perf_counter()
            logits = fp32.model(torch.tensor([ids])).logits
            prefill.append(time.perf_counter() - t)
            reference = logits[0].argmax(-1).tolist()
        t = time.perf_counter()
        fp32.model.generate(
            torch.tensor([ids[:64]]),
            max_new_tokens=PROBE_DECODE,
            min_new_tokens=PROBE_DECODE,
            do_sample=False,
        )
        fp32_decode = PROBE_DECODE / (time.perf_counter() - t)
    del fp32

    cpp = LlamaCppLM(replace(llm, engine="llama.cpp"))
    cpp.load()
    cpp_prefill = []
    for _ in range(2):
        cpp.llm.reset()
        cpp_prefill.append(_timed(lambda: cpp.llm.eval(ids)))
    cpp.llm.reset()
    tokens, t = cpp.llm.generate(ids[:64], top_k=1, temp=0.0), time.perf_counter()
    for _ in zip(range(PROBE_DECODE), tokens):
        pass
    cpp_decode = PROBE_DECODE / (time.perf_counter() - t)
    scorer = open_llama(cpp.weights, n_ctx=PROBE_TOKENS + 64, logits_all=True)
    scorer.eval(ids)
    got = np.asarray(scorer.scores[: len(ids)]).argmax(-1).tolist()
    agreement = sum(a == b for a, b in zip(got, reference)) / len(ids)
    return Probe(min(prefill), min(cpp_prefill), fp32_decode, cpp_decode, agreement)


def _timed(work) -> float:
    t = time.perf_counter()
    work()
    return time.perf_counter() - t


def _probe_ids(tokenizer) -> list[int]:
    """A document question as the app asks it: the README as the excerpt, PROBE_TOKENS long."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    excerpt = tokenizer.decode(tokenizer(readme)["input_ids"][:PROBE_TOKENS])
    text = tokenizer.apply_chat_template(
        [{"role": "user", "content": f"Excerpt:\n{excerpt}\n\nQuestion: What does the app do?"}],
        add_generation_prompt=True,
        tokenize=False,
    )
    return tokenizer(text, add_special_tokens=False)["input_ids"][:PROBE_TOKENS]
