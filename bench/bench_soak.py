"""Soak: many one-turn clients and long conversations with large photos against the launched app
(tiny profile); the app's resident memory and disk sampled as they go, against the bounds in
chatbot/config.py (photos kept at MAX_KEPT_IMAGE_SIDE, KV cache
KV_CACHE_MB, idle conversations out of memory after IDLE_CONVERSATION_S, files outside the store
swept after TEMP_FILES_MAX_AGE_S, MAX_STORED_MB_PER_OWNER per owner).

    .venv/bin/python bench/bench_soak.py [--clients 500] [--long 20] [--turns 8] [--photo-side 2048]
                                         [--workers 6]

The app gets its own temporary folder (TMPDIR), so its disk is measured apart from anything else
on the machine: the data folder (database + file store), Gradio's upload cache and the app's
private folder of drawn pictures and thumbnails. Every photo of the long conversations is a
distinct large JPEG, so the store grows as it would with real photos.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import Lines, record  # noqa: E402
from tests.helpers import RunningApp  # noqa: E402


def disk_mb(*folders: Path) -> float:
    total = 0
    for d in folders:
        for f in d.rglob("*") if d.exists() else []:
            try:
                total += f.stat().st_size if f.is_file() else 0
            except OSError:  # swept meanwhile
                continue
    return total / 2**20


def launch(folder: Path) -> RunningApp:
    """The app with TMPDIR set to a folder of its own (Gradio's cache and its private folder)."""
    saved = os.environ.get("TMPDIR")
    (folder / "tmp").mkdir()
    os.environ["TMPDIR"] = str(folder / "tmp")
    try:
        return RunningApp(
            "--profile", "tiny", "--max-new-tokens", "8", data_dir=folder / "data", timeout=300
        )
    finally:
        if saved is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = saved


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--clients", type=int, default=500, help="one-turn clients (one message each, no secret)"
    )
    ap.add_argument(
        "--long", type=int, default=20, help="long conversations (one owner each, with photos)"
    )
    ap.add_argument(
        "--turns", type=int, default=8, help="turns of each long conversation, a new photo each"
    )
    ap.add_argument(
        "--photo-side", type=int, default=2048, help="side of each photo (JPEG of noise)"
    )
    ap.add_argument("--workers", type=int, default=6, help="clients talking at once")
    args = ap.parse_args()
    import psutil
    from gradio_client import handle_file
    from PIL import Image, ImageDraw

    from chatbot.config import (
        IDLE_CONVERSATION_S,
        KV_CACHE_MB,
        MAX_KEPT_IMAGE_SIDE,
        MAX_STORED_MB_PER_OWNER,
        TEMP_FILES_MAX_AGE_S,
    )

    folder = Path(tempfile.mkdtemp(prefix="bench-soak-"))
    (folder / "photos").mkdir()
    bases = [
        Image.effect_noise((args.photo_side,) * 2, 40 + i * 10).convert("RGB") for i in range(4)
    ]

    def photo(n: int, t: int) -> Path:
        """A distinct large photo for turn t of conversation n (the store keeps each one)."""
        img = bases[(n + t) % len(bases)].copy()
        ImageDraw.Draw(img).text((40, 40), f"conversation {n} turn {t}", fill=(255, 255, 0))
        path = folder / "photos" / f"c{n}-t{t}.jpg"
        img.save(path, quality=85)
        return path

    app = launch(folder)
    proc = psutil.Process(app.proc.pid)
    tmp = folder / "tmp"
    samples: list[dict] = []
    t0 = time.perf_counter()

    def sample(label: str) -> None:
        s = {
            "label": label,
            "t": time.perf_counter() - t0,
            "rss": proc.memory_info().rss / 2**20,
            "data": disk_mb(folder / "data"),
            "cache": disk_mb(tmp / "gradio"),
            "private": disk_mb(*tmp.glob("chatbot-run-*")),
        }
        samples.append(s)
        print(
            f"{s['t']:6.0f} s  {label:<26} RSS {s['rss']:6.0f} MB   data {s['data']:7.1f} MB   "
            f"Gradio cache {s['cache']:7.1f} MB   private {s['private']:6.1f} MB",
            flush=True,
        )

    def one_turn(n: int) -> None:
        app.client().predict({"text": f"question {n}", "files": []}, api_name="/chat")

    def long_conversation(n: int) -> None:
        c = app.client(f"soak-owner-{n}-secret")
        for t in range(args.turns):
            c.predict(
                {"text": f"photo {t}", "files": [handle_file(str(photo(n, t)))]}, api_name="/chat"
            )

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
    rss = [s["rss"] for s in samples]
    warm = rss[len(rss) // 3 :]
    last, growth = samples[-1], max(warm) - warm[0]
    print()
    out = Lines()
    out.say(
        f"{last['t']:.0f} s for {args.clients} one-turn clients and {args.long} conversations x "
        f"{args.turns} photos of {args.photo_side}x{args.photo_side} "
        f"({args.long * args.turns} photos)"
    )
    out.say(
        f"resident memory: {rss[0]:.0f} MB at start, {min(warm):.0f}-{max(warm):.0f} MB after "
        f"warm-up (growth {growth:+.0f} MB over the last two thirds, "
        f"{growth / max(1, args.clients + args.long):+.2f} MB per client)"
    )
    out.say(
        f"bounds: photos kept at most {MAX_KEPT_IMAGE_SIDE} px (encodings, not pixels), KV cache "
        f"{KV_CACHE_MB} MB, idle conversations leave memory after {IDLE_CONVERSATION_S / 3600:g} h"
    )
    out.say(
        f"disk: data {last['data']:.0f} MB (store + database; bound "
        f"{MAX_STORED_MB_PER_OWNER} MB of files per owner, {args.long + args.clients} "
        f"owners here), Gradio cache {last['cache']:.0f} MB and private folder "
        f"{last['private']:.1f} MB (both swept after {TEMP_FILES_MAX_AGE_S / 3600:g} h)"
    )
    record("bench_soak", out)


if __name__ == "__main__":
    main()
