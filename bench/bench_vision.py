"""Photo search over 1,000 photos with cached embeddings, the one-time embedding cost per photo,
and training throughput, on the tiny random CLIP (32 px, 2 layers). These figures are the cost
of the plumbing (cache, ranking, prompts, the training loop), not of a real ViT-B/32, whose
per-photo cost is far higher and is not measured here (no weights can be downloaded).

    .venv/bin/python bench/bench_vision.py [--photos 1000] [--queries 30] [--threads 1]

Baseline, measured in the same run: the same search without the cache, re-embedding every
photo for every query (what a tool without a per-conversation cache does).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

from bench.common import Lines, add_threads_option, apply_threads, record  # noqa: E402

QUERIES = [
    "a red circle",
    "two blue squares",
    "a green triangle on the left",
    "바다",
    "three yellow circles",
    "a purple square at the top",
    "빨간 원",
    "an orange triangle",
]


def make_photos(n: int):
    from chatbot.training.data import COLOURS, POSITIONS, SHAPES, Scene, draw_scene
    from chatbot.vision import Photo

    rng = random.Random(0)
    photos = []
    for i in range(n):
        count = rng.choice((1, 2, 3))
        scene = Scene(
            rng.choice(list(COLOURS)),
            rng.choice(list(SHAPES)),
            count,
            rng.choice(list(POSITIONS)) if count == 1 else "",
        )
        photos.append(Photo(f"{i:04d}.png", draw_scene(scene, 64, rng)))
    return photos


def search_latency(model, photos, queries: int) -> tuple[float, list[float], list[float]]:
    """(one-time embedding seconds, cached query latencies, uncached latencies)."""
    from chatbot.vision import search_photos

    cache: dict = {}
    t = time.perf_counter()
    first = search_photos(model, photos, QUERIES[0], cache)
    embed_s = time.perf_counter() - t
    assert first.embedded == len(photos)
    cached = []
    for i in range(queries):
        t = time.perf_counter()
        r = search_photos(model, photos, QUERIES[i % len(QUERIES)] + f" {i}", cache)
        cached.append(time.perf_counter() - t)
        assert r.embedded == 0
    uncached = []
    for i in range(3):
        t = time.perf_counter()
        search_photos(model, photos, QUERIES[i], {})
        uncached.append(time.perf_counter() - t)
    return embed_s, cached, uncached


def training_throughput(steps: int) -> list[str]:
    from chatbot.models.tiny import tiny_model_path
    from chatbot.training import TrainSettings, write_synthetic
    from chatbot.training.contrastive import train_contrastive
    from chatbot.training.projector import train_projector

    tmp = Path(tempfile.mkdtemp(prefix="bench_vision_"))
    data = write_synthetic(tmp / "shapes", n=200)
    lines = []
    for name, run in (
        (
            "tiny CLIP contrastive, batch 32",
            lambda: train_contrastive(
                data,
                tiny_model_path("tiny-clip", tmp),
                tmp / "clip",
                TrainSettings(steps=steps, batch_size=32, lr=1e-3, progress=False, eval_pairs=8),
            ),
        ),
        (
            "tiny LLaVA projector stage 1, batch 16",
            lambda: train_projector(
                1,
                data,
                tiny_model_path("tiny-llava", tmp),
                tmp / "s1",
                TrainSettings(steps=steps, batch_size=16, lr=1e-2, progress=False, eval_pairs=8),
            ),
        ),
    ):
        r = run()
        lines.append(
            f"{name}: {r.pairs_per_s:.0f} pairs/s ({steps} steps in {r.seconds:.2f} s, "
            f"loss {r.loss_before:.3f} -> {r.loss_after:.3f})"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--photos", type=int, default=1000)
    parser.add_argument("--queries", type=int, default=30)
    parser.add_argument("--train-steps", type=int, default=40)
    add_threads_option(parser)
    args = parser.parse_args()
    print(f"torch threads: {apply_threads(args)}")
    from chatbot.models.tiny import tiny_model_path
    from chatbot.vision import load_vision_model

    model = load_vision_model(
        str(tiny_model_path("tiny-clip", Path(tempfile.mkdtemp(prefix="bench_clip_"))))
    )
    photos = make_photos(args.photos)
    embed_s, cached, uncached = search_latency(model, photos, args.queries)
    med, p95 = statistics.median(cached), sorted(cached)[int(0.95 * (len(cached) - 1))]
    base = statistics.median(uncached)
    out = Lines()
    out.say(
        f"one-time embedding: {embed_s:.2f} s for {len(photos)} photos = "
        f"{1000 * embed_s / len(photos):.2f} ms/photo (tiny CLIP)"
    )
    out.say(
        f"search over {len(photos)} photos, cached embeddings: median {1000 * med:.1f} ms, "
        f"p95 {1000 * p95:.1f} ms per query ({args.queries} queries)"
    )
    out.say(
        f"baseline, re-embedding every photo per query: median {1000 * base:.0f} ms -> "
        f"{base / med:.0f}x faster"
    )
    for line in training_throughput(args.train_steps):
        out.say(line)
    record("bench_vision", out)


if __name__ == "__main__":
    main()
