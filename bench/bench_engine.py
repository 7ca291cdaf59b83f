"""CPU engines for the offline text LLM (SmolLM2-135M), same weights, same prompts, one run:
decode tokens/s and time to first token for a short and a ~2,000-token prompt, each against the
limit its weight bytes allow at the memory bandwidth measured in this run; how often each picks the
same next token as fp32 on document prompts (teacher-forced over fp32's own greedy answers); and
whether it answers the offline document question right.

    .venv/bin/python bench/bench_engine.py [--tokens 64] [--threads N]

Engines: transformers fp32 (the GGUF dequantized), PyTorch dynamic int8 Linear layers
(--engine int8), and llama.cpp on the GGUF's weights repacked as Q8_0 (--engine llama.cpp, the
default).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench.common import Lines, add_threads_option, apply_threads, record  # noqa: E402


def bandwidth_gbs() -> float:
    """Memory bandwidth: best of 10 copies of 256 MB into a buffer already touched (read +
    write)."""
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
    for m in model.modules():  # dynamic int8 Linear keeps its weight in a packed buffer
        if type(m).__module__.startswith("torch.ao.nn.quantized.dynamic"):
            w, _ = m._packed_params._weight_bias()
            total += w.numel() * (1 if w.dtype in (torch.qint8, torch.quint8) else w.element_size())
    return total


def measure(model, ids, n: int, **gen) -> tuple[float, float]:
    """(time to first token s, decode tokens/s) with greedy transformers generate on ids [1, T]."""
    import torch

    with torch.inference_mode():
        t = time.perf_counter()
        model.generate(ids, max_new_tokens=1, do_sample=False, **gen)
        ttft = time.perf_counter() - t
        t = time.perf_counter()
        model.generate(ids, max_new_tokens=n, min_new_tokens=n, do_sample=False, **gen)
        total = time.perf_counter() - t
    return ttft, (n - 1) / max(total - ttft, 1e-9)


def llamacpp_times(llm, ids: list[int], n: int, **gen) -> tuple[float, float]:
    """(time to first token s, decode tokens/s) with greedy llama.cpp generate from a fresh
    state."""
    llm.reset()
    t = time.perf_counter()
    tokens = llm.generate(ids, top_k=1, temp=0.0, **gen)
    next(tokens)
    ttft, t, k = time.perf_counter() - t, time.perf_counter(), 0
    for _ in tokens:
        k += 1
        if k >= n - 1:
            break
    return ttft, k / max(time.perf_counter() - t, 1e-9)


def best_of(run, times: int = 3) -> tuple[float, float]:
    """(shortest time to first token, highest tokens/s) of a few runs: the VM's noise only slows
    runs down."""
    runs = [run() for _ in range(times)]
    return min(r[0] for r in runs), max(r[1] for r in runs)


def document_prompts(tok, n: int = 8) -> list[list[int]]:
    """Chat prompts of a page of a real manual plus a question (data/realdocs, tune split), as
    ids."""
    import json

    import pymupdf

    from scripts.build_realdocs import main as build

    docs = (
        ROOT / ".cache" / "realdocs"
    )  # the Debian package's FHS manual, fetched once (PROVENANCE.md)
    if not (docs / "fhs-3.0.pdf").exists():
        build([str(docs)])
    pages = pymupdf.open(docs / "fhs-3.0.pdf")
    qs = [
        json.loads(line)
        for line in (ROOT / "data/realdocs/questions.jsonl").read_text().splitlines()
        if line
    ]
    qs = [q for q in qs if q.get("split") == "tune" and q.get("lang", "en") == "en"][:n]
    return [
        tok.apply_chat_template(
            [
                {
                    "role": "user",
                    "content": f"Excerpt:\n{pages[10 + 3 * i].get_text()[:1500]}"
                    f"\n\nQuestion: {q['question']}",
                }
            ],
            add_generation_prompt=True,
            return_dict=True,
        )["input_ids"]
        for i, q in enumerate(qs)
    ]


def agreement(fp32, next_tokens, prompts: list[list[int]], n: int = 48) -> float:
    """Share of positions where an engine's next token equals fp32's, over fp32's greedy answers."""
    import torch

    same = total = 0
    for ids in prompts:
        with torch.inference_mode():
            out = fp32.generate(torch.tensor([ids]), max_new_tokens=n, do_sample=False)[0].tolist()
            ref = fp32(torch.tensor([out])).logits[0, len(ids) - 1 : -1].argmax(-1).tolist()
        got = next_tokens(out)[len(ids) - 1 : len(out) - 1]
        same += sum(a == b for a, b in zip(got, ref))
        total += len(ref)
    return same / total


def llamacpp_row(cfg, prompt_ids: dict, n: int):
    """llama.cpp: (ttft short, ttft long, decode tok/s, next-token function, file bytes)."""
    import numpy as np

    from chatbot.models.llamacpp import open_llama, q8_copy

    path = q8_copy(
        Path(cfg.model) / cfg.gguf_file
    )  # what the app runs: the Q8_0 repack of the bundled Q4_1
    llm = open_llama(path, n_ctx=4096)
    t_short, rate = best_of(lambda: llamacpp_times(llm, prompt_ids["short"], n))
    t_long, _ = best_of(lambda: llamacpp_times(llm, prompt_ids["long"], 1))

    scorer = open_llama(path, n_ctx=4096, logits_all=True)

    def next_tokens(ids):  # logits at every position: a separate instance, it slows prefill down
        scorer.reset()
        scorer.eval(ids)
        return np.asarray(scorer.scores[: len(ids)]).argmax(-1).tolist()

    return t_short, t_long, rate, next_tokens, path.stat().st_size


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
    int8 = copy.deepcopy(fp32)
    int8.model = torch.ao.quantization.quantize_dynamic(
        int8.model, {torch.nn.Linear}, dtype=torch.qint8
    )
    bw = bandwidth_gbs()
    short = "Tell me about the sea."
    long = (
        " ".join(["The quarterly report lists revenue, costs and staff for each region."] * 150)
        + " Summarise."
    )
    tok = fp32.tokenizer
    prompts = document_prompts(tok)
    out = Lines()
    out.say(
        f"memory bandwidth {bw:.1f} GB/s; {args.tokens} new tokens; "
        f"threads {torch.get_num_threads()}"
    )
    pdf = df.make_injection_pdf(Path("/tmp/bench-engine-notes.pdf"))

    def answer(engine: str, backend=None) -> str:
        pipe = Pipeline(build_config("offline", engine=engine, max_new_tokens=40))
        if backend is not None:
            pipe.models.backend, pipe.models.progress = backend, "ready"
            pipe.models._ready.set()
        text = ask(pipe, Conversation(), "What day is the budget meeting?", [pdf]).text
        return "right" if "thursday" in text.lower() else "WRONG"

    def row(label, ttft_s, ttft_l, rate, nbytes, agree, right):
        limit = bw * 1e9 / nbytes
        out.say(
            f"{label:<22} decode {rate:5.1f} tok/s (limit {limit:5.0f}, {rate / limit:.2f} of it)"
            f" · TTFT short {ttft_s * 1000:5.0f} ms, ~2000-token {ttft_l:5.2f} s"
            f" · same next token as fp32 {agree:.1%} · document answer {right}"
        )

    for label, backend, engine in (
        ("transformers fp32", fp32, "fp32"),
        ("PyTorch int8 dynamic", int8, "int8"),
    ):
        t_short, r_short = best_of(
            lambda: measure(backend.model, tok(short, return_tensors="pt").input_ids, args.tokens)
        )
        t_long, _ = best_of(
            lambda: measure(backend.model, tok(long, return_tensors="pt").input_ids, 2), 2
        )
        agree = agreement(
            fp32.model,
            lambda ids: backend.model(torch.tensor([ids])).logits[0].argmax(-1).tolist(),
            prompts,
        )
        row(
            label,
            t_short,
            t_long,
            r_short,
            weight_bytes(backend.model),
            agree,
            answer(engine, backend),
        )
    ids = {"short": tok(short).input_ids, "long": tok(long).input_ids}
    t_short, t_long, rate, next_tokens, nbytes = llamacpp_row(cfg.llm, ids, args.tokens)
    row(
        "llama.cpp (Q8_0 repack)",
        t_short,
        t_long,
        rate,
        nbytes,
        agreement(fp32.model, next_tokens, prompts),
        answer("llama.cpp"),
    )
    record("bench_engine", out)


if __name__ == "__main__":
    main()
