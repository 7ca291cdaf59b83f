"""CPU engines for the offline text LLM (SmolLM2-135M), same weights, same prompt, one run:
decode tokens/s and time to first token for a short and a ~2,000-token prompt, each against
the limit its weight bytes allow at the memory bandwidth measured in this run.

    .venv/bin/python bench/bench_engine.py [--tokens 64] [--threads N]

Engines: the app's fp32 engine (weights memory-mapped as loaded), the same weights cloned into
ordinary memory (faster decode reported elsewhere; costs a second resident copy), and PyTorch
dynamic int8 Linear layers (--engine int8). Also prints whether each engine answers the offline
document question right, and the resident memory after loading each.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import add_threads_option, apply_threads  # noqa: E402


def bandwidth_gbs() -> float:
    """Memory bandwidth: best of 10 copies of 256 MB into a buffer already touched (read + write)."""
    import torch
    a = torch.ones(64 * 2**20, dtype=torch.float32)
    b = torch.zeros_like(a)
    best = float("inf")
    for _ in range(10):
        t = time.perf_counter()
        b.copy_(a)
        best = min(best, time.perf_counter() - t)
    return 2 * a.numel() * 4 / best / 1e9


def weight_bytes(model) -> int:
    import torch
    total = sum(p.numel() * p.element_size() for p in model.parameters())
    for m in model.modules():   # dynamic int8 Linear keeps its weight in a packed buffer
        if type(m).__module__.startswith("torch.ao.nn.quantized.dynamic"):
            w, _ = m._packed_params._weight_bias()
            total += w.numel() * (1 if w.dtype in (torch.qint8, torch.quint8) else w.element_size())
    return total


def measure(model, tok, prompt: str, n: int) -> tuple[float, float]:
    """(time to first token s, decode tokens/s) with greedy generate."""
    import torch
    ids = tok(prompt, return_tensors="pt").input_ids
    with torch.inference_mode():
        t = time.perf_counter()
        model.generate(ids, max_new_tokens=1, do_sample=False)
        ttft = time.perf_counter() - t
        t = time.perf_counter()
        model.generate(ids, max_new_tokens=n, min_new_tokens=n, do_sample=False)
        total = time.perf_counter() - t
    return ttft, (n - 1) / max(total - ttft, 1e-9)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tokens", type=int, default=64)
    add_threads_option(ap)
    args = ap.parse_args()
    apply_threads(args)
    import copy

    import torch
    from chatbot.conversation import Conversation
    from chatbot.models.text_lm import TransformersLM
    from chatbot.pipeline import Pipeline
    from chatbot.profiles import build_config
    from tests import docfixtures as df
    from tests.helpers import ask

    cfg = build_config("offline", engine="fp32", max_new_tokens=40)
    fp32 = TransformersLM(cfg.llm)
    fp32.load()
    cloned = copy.deepcopy(fp32)
    for p in cloned.model.parameters():
        p.data = p.data.clone()
    int8 = copy.deepcopy(fp32)
    int8.model = torch.ao.quantization.quantize_dynamic(int8.model, {torch.nn.Linear}, dtype=torch.qint8)
    bw = bandwidth_gbs()
    short = "Tell me about the sea."
    long = " ".join(["The quarterly report lists revenue, costs and staff for each region."] * 150) + " Summarise."
    print(f"memory bandwidth {bw:.1f} GB/s; {args.tokens} new tokens; threads {torch.get_num_threads()}")
    pdf = df.make_injection_pdf(Path("/tmp/bench-engine-notes.pdf"))
    for label, backend in (("fp32 (app default)", fp32), ("fp32 cloned", cloned), ("int8 dynamic", int8)):
        limit = bw * 1e9 / weight_bytes(backend.model)
        t_short, r_short = measure(backend.model, backend.tokenizer, short, args.tokens)
        t_long, r_long = measure(backend.model, backend.tokenizer, long, args.tokens)
        pipe = Pipeline(cfg)
        pipe.models.backend, pipe.models.progress = backend, "ready"
        pipe.models._ready.set()
        answer = ask(pipe, Conversation(), "What day is the budget meeting?", [pdf]).text
        print(f"{label:<20} decode {r_short:5.1f} tok/s (limit {limit:5.0f}, {r_short / limit:.2f} of it) · "
              f"TTFT short {t_short * 1000:5.0f} ms, ~2000-token {t_long:5.2f} s · "
              f"document answer {'right' if 'thursday' in answer.lower() else 'WRONG'}")


if __name__ == "__main__":
    main()
