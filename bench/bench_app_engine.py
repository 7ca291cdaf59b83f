"""What users get from the offline model: decode tokens/s and time to first token through the
launched app (gradio_client, the app's own sampling settings), against the best raw run of the
same weights, each against the limit its weight bytes allow at the memory bandwidth measured in
this run.

    .venv/bin/python bench/bench_app_engine.py [--engines fp32,llama.cpp] [--repeats 2]

Prompts: a short chat message (~100 tokens with the system prompt) and a document question (a
text file uploaded with the message; the app's retrieval fills the prompt to ~2,000 tokens). Raw
runs get the same number of prompt tokens and generate as many tokens as the app did:
  raw transformers fp32  model.generate, weights in ordinary memory (cloned out of the
                         safetensors map)
  raw llama.cpp          Llama.generate on the bundled GGUF, all cores
Run it alone: two cores are easily saturated.
"""

from __future__ import annotations

import argparse
import functools
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_engine import bandwidth_gbs, best_of, llamacpp_times, measure  # noqa: E402
from bench.common import Lines, record  # noqa: E402

SHORT = "Tell me about the history of the bicycle and how its design changed over the years."
QUESTION = "According to the handbook, what does the maintenance team check every morning?"


def handbook(path: Path) -> Path:
    """A plain-text handbook long enough that retrieval fills the prompt (about 30 sections)."""
    parts = []
    for i in range(30):
        parts.append(
            f"Section {i + 1}. The maintenance team checks the pumps, valves and filters of "
            f"line {i + 1} every morning before {6 + i % 4} o'clock, records pressure readings "
            f"in the log book, and reports any leak to the shift leader. Spare parts for "
            f"line {i + 1} are kept in store room {100 + i}, and the safety officer inspects "
            f"them once a month."
        )
    path.write_text("\n\n".join(parts), encoding="utf-8")
    return path


def through_app(engine: str, doc: Path, repeats: int) -> dict:
    """Median metrics of the short chat and the document question over the launched app."""
    from gradio_client import handle_file

    sys.path.insert(0, str(ROOT / "tests"))
    from helpers import RunningApp

    app = RunningApp("--profile", "offline", "--engine", engine, timeout=300)
    try:
        client = app.client()
        while client.predict(api_name="/status")["progress"] != "ready":
            time.sleep(0.5)  # the model loads after the page
        runs = {"short": [], "document": []}
        for _ in range(repeats + 1):  # the first round warms up
            for kind, msg in (
                ("short", {"text": SHORT, "files": []}),
                ("document", {"text": QUESTION, "files": [handle_file(str(doc))]}),
            ):
                client.predict(api_name="/clear") if _ else None
                _text, _files, info = client.predict(msg, api_name="/chat")
                assert not info["error"], info["error"]
                runs[kind].append(info["metrics"])
        return {
            k: {
                m: statistics.median(r[m] for r in v[1:])
                for m in ("ttft_s", "prefill_s", "tokens_per_s", "new_tokens", "prompt_tokens")
            }
            for k, v in runs.items()
        }
    finally:
        app.stop()


@functools.lru_cache(maxsize=None)
def fp32_model():
    """The offline weights in transformers fp32, out of the memory map: the fastest fp32 decode
    here."""
    import torch
    from transformers import AutoModelForCausalLM

    from chatbot.models.text_lm import TransformersLM
    from chatbot.profiles import build_config

    path = TransformersLM(build_config("offline").llm).converted_path()
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.data = p.data.clone()
    return model


@functools.lru_cache(maxsize=None)
def llama():
    """llama.cpp on the offline GGUF in its fastest form here (the Q8_0 repack, the app's
    settings)."""
    from chatbot.models.llamacpp import open_llama, q8_copy
    from chatbot.profiles import build_config

    llm_cfg = build_config("offline").llm
    path = q8_copy(Path(llm_cfg.model) / llm_cfg.gguf_file)
    return open_llama(path, n_ctx=4096), path.stat().st_size


def raw_transformers(prompt_tokens: int, new_tokens: int) -> tuple[float, float, int]:
    """(ttft s for prompt_tokens, decode tokens/s with the app's repetition penalty, weight
    bytes)."""
    import torch

    model = fp32_model()
    ids = torch.randint(100, 40000, (1, prompt_tokens))
    ttft, _ = best_of(lambda: measure(model, ids, 2), 2)  # like bench_engine: noise only slows
    _, tps = best_of(lambda: measure(model, ids[:, :8], new_tokens, repetition_penalty=1.1), 2)
    return ttft, tps, sum(p.numel() * p.element_size() for p in model.parameters())


def raw_llamacpp(prompt_tokens: int, new_tokens: int) -> tuple[float, float, int]:
    """The same for llama.cpp (file bytes)."""
    llm, nbytes = llama()
    ids = [100 + (i * 7919) % 40000 for i in range(prompt_tokens)]
    ttft, _ = best_of(lambda: llamacpp_times(llm, ids, 1), 2)
    _, tps = best_of(lambda: llamacpp_times(llm, ids[:8], new_tokens, repeat_penalty=1.1), 2)
    return ttft, tps, nbytes


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--engines", default="fp32,llama.cpp")
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    doc = handbook(Path(tempfile.mkdtemp()) / "handbook.txt")
    bw = bandwidth_gbs()
    app = {e: through_app(e, doc, args.repeats) for e in args.engines.split(",")}
    first = next(iter(app.values()))
    raw = {"transformers fp32": raw_transformers, "llama.cpp": raw_llamacpp}
    out = Lines()
    out.say(f"memory bandwidth {bw:.1f} GB/s (copy); limit = bandwidth / weight bytes")
    out.say(
        f"{'run':34} {'prompt':>6} {'TTFT s':>7} {'tok/s':>6} {'limit':>6}"
        "  (app: prefill part of TTFT)"
    )
    rows = {}
    for kind in ("short", "document"):
        pt, nt = int(first[kind]["prompt_tokens"]), max(int(first[kind]["new_tokens"]), 16)
        for name, fn in raw.items():
            ttft, tps, nbytes = fn(pt, nt)
            rows[(kind, name)] = (ttft, tps)
            out.say(
                f"raw {name:30} {pt:6d} {ttft:7.2f} {tps:6.1f} {bw * 1e9 / nbytes:6.0f}  ({kind})"
            )
        for engine, res in app.items():
            m = res[kind]
            out.say(
                f"app --engine {engine:21} {int(m['prompt_tokens']):6d} {m['ttft_s']:7.2f} "
                f"{m['tokens_per_s']:6.1f}         ({kind}; prefill {m['prefill_s']:.2f} s)"
            )
    for name, fn in raw.items():  # the yardstick: a 2,000-token prompt
        out.say(f"raw {name:30} {2000:6d} {fn(2000, 2)[0]:7.2f}")
    best_raw = max(tps for (k, _), (_, tps) in rows.items() if k == "short")
    best_ttft = min(ttft for (k, _), (ttft, _) in rows.items() if k == "document")
    for engine, res in app.items():
        decode, ttft = res["short"]["tokens_per_s"], res["document"]["ttft_s"]
        out.say(
            f"app {engine}: decode {decode:.1f} tok/s = {decode / best_raw:.2f}x the best raw "
            f"({best_raw:.1f}); document TTFT {ttft:.2f} s = {ttft / best_ttft:.2f}x the best raw "
            f"({best_ttft:.2f} s); aims: >= 80 tok/s, <= 2 s"
        )
    record("bench_app_engine", out)


if __name__ == "__main__":
    main()
