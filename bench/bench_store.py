"""Saving conversations: what the store costs while streaming, restoring, and on the first turn
after a restart.

Model: the tiny profile's random LLaVA (CLIP 32 px -> MLP -> 2-layer Llama), in process; the
store is SQLite in a temporary data folder (chatbot.history.open_store, as the app opens it).
  (a) streaming: Pipeline.respond with History(store) vs History() (nothing saved), the same
      loaded model, one conversation each, the same question each round, the order alternating
      per round. Each saved turn writes the user turn, the reply as "streaming", and the reply
      when it ends (partial text only every SAVE_PARTIAL_S, which these short replies never reach).
  (b) restore: a 200-turn conversation with 20 photos (512x512 PNG, Pillow) written through
      store.add_turn, then History(store).open(owner, id) timed (aim < 300 ms on SQLite).
  (c) the first turn after a restart (a fresh Store, History and Pipeline on the same data
      folder; the photos reload from the store and are encoded again, the whole history is
      prefilled again) vs the next turn on that now-warm conversation: time to first token.
Usage: .venv/bin/python bench/bench_store.py [--turns 12] [--tokens 128] [--opens 7]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Lines, add_threads_option, apply_threads, record  # noqa: E402

OWNER = "bench"
QUESTION = "Question {}: describe a lighthouse at night, part by part."


def respond(pipe, conv, text: str, files=()):
    """One turn, exhausted as the UI does; (reply, wall seconds)."""
    t = time.perf_counter()
    for reply in pipe.respond(conv, text, list(files)):
        pass
    wall = time.perf_counter() - t
    assert reply.error is None, reply.error
    not_saved = [s.detail for s in reply.steps if s.key == "saving"]
    assert not not_saved, f"a turn was not saved: {not_saved[0]}"
    return reply, wall


def make_photos(folder: Path, n: int) -> list[Path]:
    """n distinct 512x512 PNGs: gradients with some noise, so they compress like photos (a few
    100 KB)."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:512, 0:512]
    paths = []
    for k in range(n):
        base = (
            np.stack([(xx * (k + 1) // 4), (yy * (k + 2) // 4), (xx + yy) * 3 + 40 * k], -1) % 256
        )
        noisy = np.clip(base + rng.integers(-12, 13, base.shape), 0, 255).astype(np.uint8)
        path = folder / f"photo{k + 1:02d}.png"
        Image.fromarray(noisy).save(path)
        paths.append(path)
    return paths


def streaming(cfg, sampling, store, turns: int, out: Lines) -> None:
    """(a) tokens/s and wall time per turn, saved vs not saved, paired by round."""
    from chatbot.conversation import Conversation
    from chatbot.history import History
    from chatbot.pipeline import Pipeline

    saved = Pipeline(cfg, sampling, history=History(store))
    plain = Pipeline(cfg, sampling, history=History())
    list(saved.models.wait())
    plain.models = saved.models  # one loaded model: the only difference is the store
    for pipe in (saved, plain):  # warm-up on throwaway conversations
        respond(pipe, Conversation(owner=OWNER), QUESTION.format(0))
    convs = {"saved": Conversation(owner=OWNER), "plain": Conversation(owner=OWNER)}
    pipes = {"saved": saved, "plain": plain}
    tps, wall = {"saved": [], "plain": []}, {"saved": [], "plain": []}
    for i in range(turns):
        for side in ("saved", "plain") if i % 2 == 0 else ("plain", "saved"):
            reply, seconds = respond(pipes[side], convs[side], QUESTION.format(i + 1))
            tps[side].append(reply.metrics["tokens_per_s"])
            wall[side].append(seconds)
    assert len(store.turns(OWNER, convs["saved"].id)) == 2 * turns and not convs["plain"].saved
    n = sampling.max_new_tokens
    med = {side: (statistics.median(tps[side]), statistics.median(wall[side])) for side in tps}
    added = statistics.median(a - b for a, b in zip(wall["saved"], wall["plain"]))
    out.say(
        f"(a) streaming, {turns} turns each, {n} new tokens per reply, order alternating per round"
    )
    out.say(
        f"    without store : {med['plain'][0]:8.1f} tokens/s (reply metrics)  "
        f"{med['plain'][1] * 1000:7.1f} ms per turn ({n / med['plain'][1]:.0f} tokens/s end to end)"
    )
    out.say(
        f"    with store    : {med['saved'][0]:8.1f} tokens/s (reply metrics)  "
        f"{med['saved'][1] * 1000:7.1f} ms per turn ({n / med['saved'][1]:.0f} tokens/s end to end)"
    )
    out.say(
        f"    ratio with/without: tokens/s {med['saved'][0] / med['plain'][0]:.3f} (metrics), "
        f"{med['plain'][1] / med['saved'][1]:.3f} (end to end)"
    )
    out.say(f"    added latency per turn (median of paired differences): {added * 1000:+.1f} ms")


def write_conversation(store, folder: Path, turns: int, photos: int, out: Lines) -> str:
    """A conversation of `turns` turns, a photo on every (turns / 2 / photos)-th user turn."""
    from chatbot.conversation import Attachment, Step, Turn
    from chatbot.ingest import sha256_file

    pngs = make_photos(folder, photos)
    every = max(1, turns // 2 // photos)
    cid = store.create(OWNER)
    t = time.perf_counter()
    for j in range(turns // 2):
        k = j // every
        att = (
            [Attachment("image", pngs[k].name, str(pngs[k]), sha256_file(str(pngs[k])))]
            if j % every == 0 and k < photos
            else []
        )
        store.add_turn(
            OWNER, cid, Turn("user", f"Photo {k + 1}, question {j + 1}: what changed?", att)
        )
        store.add_turn(
            OWNER,
            cid,
            Turn(
                "assistant",
                f"Reply {j + 1}: the light is a little brighter.",
                steps=[Step("llm", "💬 LLM", "time to first token 0.01 s", True)],
                metrics={"ttft_s": 0.01, "tokens_per_s": 1500.0},
            ),
        )
    seconds = time.perf_counter() - t
    size = sum(p.stat().st_size for p in pngs) / len(pngs) / 1024
    out.say(
        f"(b) restore: wrote {turns} turns with {photos} photos (512x512 PNG, {size:.0f} KB each) "
        f"in {seconds:.2f} s through store.add_turn"
    )
    return cid


def restore(store, cid: str, opens: int, out: Lines) -> None:
    from chatbot.history import History

    times = []
    for _ in range(opens):
        t = time.perf_counter()
        conv = History(store).open(OWNER, cid)
        times.append(time.perf_counter() - t)
    photo = conv.images()[0].path
    assert len(conv.turns) == 200 and Path(photo).suffix == ".png", photo
    out.say(
        f"    History(store).open: median {statistics.median(times) * 1000:.1f} ms over {opens} "
        f"runs (min {min(times) * 1000:.1f}, max {max(times) * 1000:.1f}; aim < 300 ms); "
        f"{len(conv.images())} photos at files/…{Path(photo).suffix}"
    )


def after_restart(cfg, sampling, cid: str, scratch: Path, out: Lines) -> None:
    """(c) a fresh Store + History + Pipeline on the same data folder, as after a restart."""
    from chatbot.conversation import Conversation
    from chatbot.history import History, open_store
    from chatbot.pipeline import Pipeline

    store, problem = open_store(cfg)
    assert store is not None, problem
    pipe = Pipeline(cfg, sampling, history=History(store))
    list(pipe.models.wait())
    # warm the fresh model on a throwaway conversation with a photo: first calls pay one-off set-up
    # (kernels, allocator) that is not the cost of restoring
    warm_photo = make_photos(scratch, 1)[0]
    respond(pipe, Conversation(), "warm up", [warm_photo])
    conv = pipe.open(OWNER, cid)
    first, first_wall = respond(pipe, conv, "Is it brighter now?")
    warm, warm_wall = respond(pipe, conv, "And the colours?")
    f, w = first.metrics, warm.metrics
    out.say(
        "(c) first turn after a restart vs the next turn "
        f"(200-turn conversation, {f['images']} photos in context)"
    )
    out.say(
        f"    after restart: TTFT {f['ttft_s'] * 1000:7.1f} ms  (photos reloaded and encoded "
        f"again; prompt {f['prompt_tokens']} tokens, {f['reused_tokens']} reused; "
        f"turn {first_wall * 1000:.0f} ms)"
    )
    out.say(
        f"    warm         : TTFT {w['ttft_s'] * 1000:7.1f} ms  (encodings cached; prompt "
        f"{w['prompt_tokens']} tokens, {w['reused_tokens']} reused; "
        f"turn {warm_wall * 1000:.0f} ms)"
    )
    out.say(f"    ratio after restart / warm: {f['ttft_s'] / w['ttft_s']:.1f}x")
    store.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--turns", type=int, default=12, help="turns per side in (a)")
    ap.add_argument("--tokens", type=int, default=128, help="new tokens per reply in (a) and (c)")
    ap.add_argument("--opens", type=int, default=7, help="timed History.open runs in (b)")
    add_threads_option(ap)
    args = ap.parse_args()
    threads = apply_threads(args)
    from chatbot.history import open_store
    from chatbot.models.decoding import Sampling
    from chatbot.profiles import build_config

    tmp = Path(tempfile.mkdtemp(prefix="bench-store-"))
    n = args.tokens
    cfg = build_config("tiny", data_dir=tmp / "data", max_new_tokens=n)
    sampling = Sampling(max_new_tokens=n, min_new_tokens=n)
    store, problem = open_store(cfg)
    assert store is not None, problem
    out = Lines()
    out.say(
        f"model: tiny profile ({cfg.llm.model}); store: SQLite in {cfg.data_dir}; "
        f"torch threads: {threads}"
    )
    streaming(cfg, sampling, store, args.turns, out)
    cid = write_conversation(store, tmp, turns=200, photos=20, out=out)
    restore(store, cid, args.opens, out)
    store.close()
    after_restart(cfg, sampling, cid, tmp, out)
    record("bench_store", out)


if __name__ == "__main__":
    main()
