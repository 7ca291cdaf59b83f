"""Generator.generate overhead over the raw diffusers call, same pipeline and settings.

    .venv/bin/python bench/bench_generator.py [--repeats 10] [--size 128] [--steps 6]

What ours adds: request checks, the per-step callback (progress + stop check), the
lock, the provenance and the PNG save with metadata. The pipeline is a random
Stable Diffusion with a wider UNet/VAE than the test one (built once under the
app cache), so one call takes long enough that timer noise does not dominate.
Calls alternate raw/ours (order flipped each round) to cancel drift from other
processes; medians are compared. Also checks both give the same pixels.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Lines, add_threads_option, apply_threads, record  # noqa: E402

# a ~20 M-parameter UNet: a step long enough at 128 px that timer noise does not dominate
BENCH_CHANNELS = (64, 128, 256)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--guidance", type=float, default=0.0)
    add_threads_option(ap)
    args = ap.parse_args()

    import numpy as np
    import torch

    from chatbot.generator import Generator, ImageRequest
    from chatbot.models.tiny_diffusion import tiny_sd_path

    apply_threads(args)
    t0 = time.perf_counter()
    path = tiny_sd_path(
        name="bench-sd-" + "-".join(map(str, BENCH_CHANNELS)), channels=BENCH_CHANNELS
    )
    gen = Generator(str(path), output_dir=tempfile.mkdtemp(prefix="bench-images-"))
    pipe = gen.load()
    n_params = sum(p.numel() for p in pipe.unet.parameters()) / 1e6
    out = Lines()
    out.say(
        f"pipeline: UNet {n_params:.1f} M params, {args.size} px, {args.steps} steps, guidance "
        f"{args.guidance}, torch threads {torch.get_num_threads()} "
        f"(ready in {time.perf_counter() - t0:.1f} s)"
    )

    req = ImageRequest(
        "a lighthouse on a cliff at dusk, oil painting",
        seed=1,
        steps=args.steps,
        guidance=args.guidance,
        width=args.size,
        height=args.size,
    )

    def raw():
        return pipe(
            prompt=req.prompt,
            guidance_scale=req.guidance,
            width=req.width,
            height=req.height,
            num_inference_steps=req.steps,
            generator=torch.Generator("cpu").manual_seed(req.seed),
        ).images[0]

    stop = threading.Event()
    progress = []

    def ours():
        return gen.generate(req, on_step=lambda i, n: progress.append(i), stop_event=stop).image

    same = np.array_equal(np.asarray(raw()), np.asarray(ours()))  # also the warm-up
    raw(), ours()
    times = {"raw": [], "ours": []}
    for r in range(args.repeats):
        order = [("raw", raw), ("ours", ours)] if r % 2 == 0 else [("ours", ours), ("raw", raw)]
        for name, fn in order:
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)

    raw_s, ours_s = statistics.median(times["raw"]), statistics.median(times["ours"])
    out.say(
        f"raw pipeline call   median {raw_s * 1000:8.1f} ms  (min {min(times['raw']) * 1000:.1f})"
    )
    out.say(
        f"Generator.generate  median {ours_s * 1000:8.1f} ms  (min {min(times['ours']) * 1000:.1f})"
    )
    out.say(
        f"overhead: {(ours_s - raw_s) * 1000:+.1f} ms per picture, ratio ours/raw = "
        f"{ours_s / raw_s:.3f} (min-based {min(times['ours']) / min(times['raw']):.3f}); "
        f"same pixels: {same}"
    )

    out.say(added_work(gen, pipe, req, progress, stop, raw_s))
    record("bench_generator", out)


def added_work(gen, pipe, req, progress: list, stop, raw_s: float) -> str:
    """The added work measured on its own (immune to other processes slowing the UNet):
    checks + provenance + PNG save with metadata, and the per-step callback."""
    out = gen.generate(req)
    t = time.perf_counter()
    for _ in range(20):
        gen._save(out.image, gen._provenance(req, pipe, req.steps, out.image, 0.0))
    fixed = (time.perf_counter() - t) / 20
    t = time.perf_counter()
    for i in range(1000):
        progress.append(i)
        stop.is_set()
    per_step = (time.perf_counter() - t) / 1000
    added = fixed + per_step * req.steps
    return (
        f"added work alone: save+provenance {fixed * 1000:.2f} ms + callback "
        f"{per_step * 1e6:.2f} us/step = {added * 1000:.2f} ms = {added / raw_s * 100:.2f}% "
        "of the raw call"
    )


if __name__ == "__main__":
    main()
