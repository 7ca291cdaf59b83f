"""Photo turns on the default CPU VLM: time to first token of turns 1..N, split into the vision
encoder + input projector, the LLM's prefill and the rest of the pipeline, for the fp32 engine and
the int8 one (int8 vision encoder and projector, the app's CPU default), in one run.

Model: an Idefics3 with SmolVLM-256M-Instruct's shapes and random weights (bench_turns.py builds it;
cost does not depend on weight values), loaded by path through the app's own pipeline and settings.
Each turn adds one 1024x768 photo and asks a question; replies are 16 tokens.

    .venv/bin/python bench/bench_photo.py [--turns 5]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench.common import Lines, record  # noqa: E402

REPLY_TOKENS = 16


def photo(path: Path, i: int) -> str:
    """A photo-sized picture with detail (a gradient and shapes), different every turn."""
    from PIL import Image, ImageDraw

    img = Image.linear_gradient("L").resize((1024, 768)).convert("RGB")
    d = ImageDraw.Draw(img)
    for k in range(12):
        d.ellipse(
            (60 * k + 9 * i, 40 * k, 60 * k + 200, 40 * k + 150),
            fill=(20 * k, 90 + 10 * i, 200 - 15 * k),
        )
    img.save(path, quality=90)
    return str(path)


def run(model_dir: Path, engine: str, photos: list[str]) -> list[dict]:
    from chatbot.conversation import Conversation
    from chatbot.models.decoding import Sampling
    from chatbot.pipeline import Pipeline
    from chatbot.profiles import build_config

    pipe = Pipeline(
        build_config("hub", model=str(model_dir), engine=engine),
        Sampling(max_new_tokens=REPLY_TOKENS, min_new_tokens=REPLY_TOKENS),
    )
    list(pipe.models.wait())
    list(pipe.respond(Conversation(), "warm up", [photos[-1]]))  # one-off kernel, allocator set-up
    conv, rows = Conversation(), []
    for i, p in enumerate(photos):
        *_, reply = pipe.respond(conv, f"Photo {i + 1}: what is in it, and what changed?", [p])
        assert reply.error is None, reply.error
        rows.append(reply.metrics)
    print(
        f"  {engine}: {pipe.models.backend.describe()} · {pipe.cfg.llm.engine_reason or 'fp32'}",
        flush=True,
    )
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--turns", type=int, default=5)
    args = ap.parse_args()
    from bench.bench_turns import build_smolvlm_256m_sized

    tmp = Path(tempfile.mkdtemp())
    model_dir = build_smolvlm_256m_sized(tmp / "smolvlm-256m-sized")
    photos = [photo(tmp / f"photo{i}.jpg", i) for i in range(args.turns)]
    results = {engine: run(model_dir, engine, photos) for engine in ("fp32", "int8")}
    out = Lines()
    out.say(
        f"SmolVLM-256M-sized, random weights; {REPLY_TOKENS}-token replies; "
        "one new 1024x768 photo per turn"
    )
    out.say("engine  turn  TTFT (s)  encoder+projector (s)  prefill (s)  rest (s)")
    for engine, rows in results.items():
        for i, m in enumerate(rows):
            rest = m["ttft_s"] - m["encode_s"] - m["prefill_s"]
            out.say(
                f"{engine:6}  {i + 1:4}  {m['ttft_s']:8.2f}  {m['encode_s']:21.2f}  "
                f"{m['prefill_s']:11.2f}  {rest:8.2f}"
            )
    f, q = [[m["ttft_s"] for m in results[e]] for e in ("fp32", "int8")]
    out.say(
        f"turn 1: int8 {q[0]:.2f} s vs fp32 {f[0]:.2f} s ({f[0] / q[0]:.2f}x); "
        f"turn {args.turns}: {q[-1]:.2f} s vs {f[-1]:.2f} s (aim: turn 1 <= 1.5 s)"
    )
    record("bench_photo", out)


if __name__ == "__main__":
    main()
