"""Chatters beside heavy work: 8 conversations chat while one person sends a long PDF with a
question and another asks for a picture, against the same 8 chatting alone, through the launched
app (offline profile, every reply fixed at 96 tokens), for the llama-server sidecar and the
in-process llama.cpp engine in the same run.

    .venv/bin/python bench/bench_mixed_load.py [--engines llama-server,llama.cpp] [--pages 130]

The offline profile cannot draw, so both apps get --generator: a random Stable Diffusion
pipeline of UNet and VAE widths (64, 128, 256) saved in the hub layout
(chatbot/models/tiny_diffusion.py), which the app runs at its settings for a checkpoint that is
not distilled (15 steps with guidance, 512 px): CPU-heavy for a while, like a real drawing on
CPU. The PDF is a generated manual (tests/docfixtures.py), new bytes each round. Reported per
engine: the chatters' p50 and p95 turn and first token, alone and beside the load, and their
ratio; the PDF question's first token and the drawing's time in the same round. Both apps run
side by side and take turns. Run it alone: two cores are easily saturated.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from bench.bench_concurrency import TOKENS, launch, round_of  # noqa: E402
from bench.common import Lines, record  # noqa: E402

CHATTERS = 8
DRAWING = "/imagine a lighthouse on a cliff at dusk, oil painting"
PDF_QUESTION = "What is this manual about? Answer in one sentence."


def timed(client, message: dict, out: dict, key: str) -> None:
    """One /chat turn; its first text and its end, client side, into out[key]."""
    t0 = time.perf_counter()
    job = client.submit(message, api_name="/chat")
    first = None
    while not job.done():
        if first is None and (o := job.outputs()) and o[-1][0]:
            first = time.perf_counter() - t0
        time.sleep(0.05)
    info = job.result()[2]
    out[key] = {"first": first, "turn": time.perf_counter() - t0, "error": info["error"]}


def loaded_round(app, engine: str, pdf: Path, n: int) -> dict:
    """The chatters' round while one PDF question and one drawing run beside it."""
    from gradio_client import handle_file

    heavy: dict = {}
    reader = app.client(f"bench-{engine}-pdf-{n}-secret-0123456789")
    drawer = app.client(f"bench-{engine}-draw-{n}-secret-0123456789")
    asks = {
        "pdf": (reader, {"text": PDF_QUESTION, "files": [handle_file(str(pdf))]}),
        "draw": (drawer, {"text": DRAWING, "files": []}),
    }
    jobs = [
        threading.Thread(target=timed, args=(client, message, heavy, key))
        for key, (client, message) in asks.items()
    ]
    for job in jobs:
        job.start()
    time.sleep(0.5)  # the upload and the drawing are under way when the chatters send
    chat = round_of(app, CHATTERS, f"{engine}-mixed-{n}")
    for job in jobs:
        job.join()
    return {**chat, **heavy}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--engines", default="llama-server,llama.cpp")
    p.add_argument("--pages", type=int, default=130)
    args = p.parse_args()
    from docfixtures import make_synthetic_pdf

    from chatbot.models.tiny_diffusion import build_tiny_sd

    folder = Path(tempfile.mkdtemp(prefix="bench-mixed-"))
    generator = build_tiny_sd(folder / "sd-64-128-256", channels=(64, 128, 256))
    engines = args.engines.split(",")
    apps, results = {}, {}
    lines = Lines()
    before = os.getloadavg()[0]
    try:
        for e in engines:
            apps[e] = launch(e, "--generator", str(generator))
        for e in engines:
            results[e] = {"alone": round_of(apps[e], CHATTERS, f"{e}-alone")}
        for i, e in enumerate(engines):
            pdf = folder / f"manual-{i}.pdf"
            make_synthetic_pdf(pdf, args.pages, seed=i)  # new bytes: no cache helps
            results[e]["mixed"] = loaded_round(apps[e], e, pdf, i)
    finally:
        for app in apps.values():
            app.stop()
    lines.say(
        f"{CHATTERS} chatters, replies fixed at {TOKENS} tokens, offline; beside them one "
        f"{args.pages}-page PDF question and one drawing (random SD, widths 64-128-256, "
        "15 steps with guidance, 512 px)"
    )
    for e in engines:
        alone, mixed = results[e]["alone"], results[e]["mixed"]
        lines.say(f"{e}:")
        for label, key in (("p50 turn", "p50"), ("p95 turn", "p95"), ("p95 first token", "ttft95")):
            lines.say(
                f"  chatters' {label:<16} alone {alone[key]:6.2f} s   beside the load "
                f"{mixed[key]:6.2f} s   {mixed[key] / alone[key]:4.2f}x"
            )
        for what in ("pdf", "draw"):
            got = mixed[what]
            error = f"  error: {got['error']}" if got["error"] else ""
            lines.say(
                f"  the {what} turn: first text {got['first'] or 0:.2f} s, "
                f"whole turn {got['turn']:.2f} s{error}"
            )
    lines.say(f"load average (1 min) {before:.2f} before, {os.getloadavg()[0]:.2f} after the run")
    record("bench_mixed_load: chatters beside a long PDF and a drawing", lines)


if __name__ == "__main__":
    main()
