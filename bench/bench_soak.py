"""Soak: many one-turn clients and long conversations with large photos against the launched app
(tiny profile); the app's resident memory and disk sampled as they go, against the bounds in
chatbot/config.py (photos kept at MAX_KEPT_IMAGE_SIDE, KV cache KV_CACHE_MB, temp files swept).

    .venv/bin/python bench/bench_soak.py [--clients 500] [--long 20] [--turns 8] [--workers 6]
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.helpers import RunningApp  # noqa: E402


def disk_mb(*folders: Path) -> float:
    return sum(f.stat().st_size for d in folders if d.exists() for f in d.rglob("*") if f.is_file()) / 2**20


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clients", type=int, default=500)
    ap.add_argument("--long", type=int, default=20)
    ap.add_argument("--turns", type=int, default=8)
    ap.add_argument("--workers", type=int, default=6)
    args = ap.parse_args()
    import psutil
    from gradio_client import handle_file
    from PIL import Image

    folder = Path(tempfile.mkdtemp(prefix="bench-soak-"))
    photos = []
    for i in range(4):
        Image.effect_noise((2048, 2048), 40 + i * 10).convert("RGB").save(folder / f"big{i}.jpg", quality=85)
        photos.append(folder / f"big{i}.jpg")
    app = RunningApp("--profile", "tiny", "--max-new-tokens", "8", data_dir=folder / "data")
    proc = psutil.Process(app.proc.pid)
    samples: list[tuple[str, float, float]] = []

    def sample(label: str) -> None:
        samples.append((label, proc.memory_info().rss / 2**20,
                        disk_mb(folder / "data", Path(tempfile.gettempdir()) / "gradio")))
        print(f"{label:<28} RSS {samples[-1][1]:7.0f} MB   data + upload cache {samples[-1][2]:7.1f} MB", flush=True)

    def one_turn(n: int) -> None:
        app.client().predict({"text": f"question {n}", "files": []}, api_name="/chat")

    def long_conversation(n: int) -> None:
        c = app.client(f"soak-owner-{n}-secret")
        for t in range(args.turns):
            c.predict({"text": f"photo {t}", "files": [handle_file(str(photos[(n + t) % len(photos)]))]},
                      api_name="/chat")

    t0 = time.perf_counter()
    try:
        sample("started")
        with ThreadPoolExecutor(args.workers) as pool:
            for start in range(0, args.clients, 100):
                list(pool.map(one_turn, range(start, min(start + 100, args.clients))))
                sample(f"{min(start + 100, args.clients)} one-turn clients")
            for start in range(0, args.long, 5):
                list(pool.map(long_conversation, range(start, min(start + 5, args.long))))
                sample(f"{min(start + 5, args.long)} long conversations")
    finally:
        app.stop()
        shutil.rmtree(folder, ignore_errors=True)
    rss = [s[1] for s in samples]
    warm = rss[len(rss) // 3:]
    print(f"{time.perf_counter() - t0:.0f} s; RSS after warm-up: {min(warm):.0f}-{max(warm):.0f} MB "
          f"(growth {max(warm) - warm[0]:+.0f} MB over the last two thirds)")


if __name__ == "__main__":
    main()
