"""Streaming overhead: tokens/s through the app's pipeline vs a raw `model.generate`, same model and prompt.

Model: the offline profile's real SmolLM2-135M-Instruct (bundled GGUF, converted copy cached).
Both sides greedy, fixed length (min_new_tokens = max_new_tokens), repetition penalty off.
Usage: .venv/bin/python bench/bench_streaming.py [--tokens 128] [--repeats 3]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokens", type=int, default=128)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    import torch
    from chatbot.context import build_messages
    from chatbot.conversation import Conversation, Turn
    from chatbot.profiles import build_config
    from chatbot.models.decoding import Sampling
    from chatbot.pipeline import Pipeline

    n = args.tokens
    pipe = Pipeline(build_config("offline"), Sampling(max_new_tokens=n, min_new_tokens=n))
    list(pipe.models.wait())
    backend = pipe.models.backend
    question = "Explain in detail how a bicycle works, part by part."

    def ours() -> float:
        conv = Conversation()
        t = time.perf_counter()
        for reply in pipe.respond(conv, question):
            pass
        assert reply.error is None, reply.error
        return n / (time.perf_counter() - t)

    conv = Conversation(turns=[Turn("user", question), Turn("assistant")])  # same prompt as ours()
    ids, _ = backend.prompt(build_messages(conv, [], False), [])
    input_ids = torch.tensor([ids])

    def raw() -> float:
        t = time.perf_counter()
        with torch.inference_mode():
            out = backend.model.generate(input_ids, attention_mask=torch.ones_like(input_ids), max_new_tokens=n,
                                         min_new_tokens=n, do_sample=False)
        assert out.shape[1] - input_ids.shape[1] == n
        return n / (time.perf_counter() - t)

    ours(), raw()  # warm-up
    a, b = [], []
    for _ in range(args.repeats):  # interleaved so machine noise hits both alike
        a.append(ours())
        b.append(raw())
    mine, base = statistics.median(a), statistics.median(b)
    print(f"model: {backend.describe()}  prompt: {len(ids)} tokens  new tokens: {n}  repeats: {args.repeats}")
    print(f"raw model.generate      : {base:7.1f} tokens/s (end to end, incl. prefill)")
    print(f"pipeline.respond stream : {mine:7.1f} tokens/s (incl. prompt building, detokenizing, per-token yield)")
    print(f"ratio pipeline / raw    : {mine / base:.3f}  (aim >= 0.97)")


if __name__ == "__main__":
    main()
