"""Many people at once through the launched app: 1, 4, 8 and 20 conversations sending a message at
the same moment, every reply fixed at 96 tokens, for the llama-server sidecar and the in-process
llama.cpp engine in the same run (offline profile, the bundled SmolLM2).

    .venv/bin/python bench/bench_concurrency.py [--engines llama-server,llama.cpp] \
        [--users 1,4,8,20]

Per engine and number of users: p50 and p95 turn latency (submit to the last update, client
side) and time to first token (submit to the first streamed text) as ratios to a lone user of the
same engine, and aggregate tokens/s (all replies' tokens over the round's wall time) as a ratio to
a lone stream. Then the sidecar's lone user against the in-process engine's (decode tokens/s as
the app reports it, and first token). Each conversation is a new owner (its own bearer secret)
with its own question. Both apps run side by side and take turns round by round. Run it alone:
two cores are easily saturated.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import Lines, record  # noqa: E402

TOKENS = 96
TOPICS = ("bicycles", "lighthouses", "bread", "volcanoes", "trains", "owls", "tea", "glaciers")


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def one_turn(client, text: str, out: list, start: threading.Barrier) -> None:
    start.wait()
    t0 = time.perf_counter()
    job = client.submit({"text": text, "files": []}, api_name="/chat")
    ttft = None
    while not job.done():
        outputs = job.outputs()
        if ttft is None and outputs and outputs[-1][0]:
            ttft = time.perf_counter() - t0
        time.sleep(0.05)
    _text, _files, info = job.result()
    total = time.perf_counter() - t0
    assert not info["error"], info["error"]
    out.append(
        {
            "turn": total,
            "ttft": ttft if ttft is not None else total,
            "tokens": info["metrics"]["new_tokens"],
            "tps": info["metrics"]["tokens_per_s"],
            "end": time.perf_counter(),
            "start": t0,
        }
    )


def round_of(app, users: int, tag: str) -> dict:
    """`users` new conversations send one message each at the same moment."""
    clients = [app.client(f"bench-{tag}-{users}-{i}-secret-0123456789") for i in range(users)]
    out, start = [], threading.Barrier(users)
    threads = [
        threading.Thread(
            target=one_turn,
            args=(c, f"Tell me three facts about {TOPICS[i % len(TOPICS)]} (#{i}).", out, start),
        )
        for i, c in enumerate(clients)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = max(r["end"] for r in out) - min(r["start"] for r in out)
    turns, ttfts = [r["turn"] for r in out], [r["ttft"] for r in out]
    return {
        "p50": statistics.median(turns),
        "p95": quantile(turns, 0.95),
        "ttft50": statistics.median(ttfts),
        "ttft95": quantile(ttfts, 0.95),
        "agg": sum(r["tokens"] for r in out) / wall,
        "tps": statistics.median(r["tps"] for r in out),
        "tokens": {r["tokens"] for r in out},
    }


def turns_of_one(app, engine: str, turns: int = 5) -> list[dict]:
    """One conversation, `turns` messages: what its prefix reuse does to the first token (the
    first turn starts from the warm system prompt; later ones from the conversation's slot)."""
    client = app.client(f"bench-{engine}-turns-secret-0123456789")
    out = []
    for i in range(turns):
        t0 = time.perf_counter()
        job = client.submit({"text": f"Tell me more, part {i + 1}.", "files": []}, api_name="/chat")
        ttft = None
        while not job.done():
            if ttft is None and (o := job.outputs()) and o[-1][0]:
                ttft = time.perf_counter() - t0
            time.sleep(0.05)
        m = job.result()[2]["metrics"]
        out.append({"ttft": ttft, "prompt": m["prompt_tokens"], "reused": m["reused_tokens"]})
    return out


def document_turn(app, engine: str) -> dict:
    """A lone user's question about an uploaded handbook (retrieval fills the prompt to ~2,000
    tokens, bench_app_engine's document prompt): the first token is mostly prefill."""
    import tempfile

    from gradio_client import handle_file

    from bench.bench_app_engine import QUESTION, handbook

    doc = handbook(Path(tempfile.mkdtemp()) / "handbook.txt")
    client = app.client(f"bench-{engine}-doc-secret-0123456789")
    msg = {"text": QUESTION, "files": [handle_file(str(doc))]}
    m = client.predict(msg, api_name="/chat")[2]["metrics"]  # prefill_s: the LLM's own part
    return {"ttft": m["ttft_s"], "prefill": m["prefill_s"], "prompt": m["prompt_tokens"]}


def launch(engine: str, *flags: str):
    """The app on this engine (and any other flags), loaded and warmed by a first round of two.
    "llama-server:20" is the sidecar with --slots 20."""
    sys.path.insert(0, str(ROOT / "tests"))
    from helpers import RunningApp

    engine, _, slots = engine.partition(":")
    app = RunningApp(
        *("--profile", "offline", "--engine", engine),
        *(("--slots", slots) if slots else ()),
        *("--max-new-tokens", str(TOKENS), "--min-new-tokens", str(TOKENS)),
        *flags,
        timeout=300,
    )
    app.wait_loaded(engine)
    round_of(app, 2, f"{engine}-warm")  # first requests warm the server and the app
    return app


def run_engines(engines: list[str], user_counts: list[int]) -> dict:
    """Both apps up at once (an idle one takes no CPU), each round run on one engine after the
    other, so that a change in what else the machine runs falls on both alike."""
    apps = {}
    try:
        for e in engines:
            apps[e] = launch(e)
        rounds = {e: {} for e in engines}
        for n in user_counts:
            for e in engines:
                rounds[e][n] = round_of(apps[e], n, e)
        return {
            e: {
                "rounds": rounds[e],
                "turns": turns_of_one(apps[e], e),
                "document": document_turn(apps[e], e),
            }
            for e in engines
        }
    finally:
        for app in apps.values():
            app.stop()


def report(results: dict, user_counts: list[int], say) -> None:
    for engine, got in results.items():
        rounds, turns = got["rounds"], got["turns"]
        lone = rounds[user_counts[0]]
        say(
            f"{engine}: lone user turn {lone['p50']:.2f} s, first token {lone['ttft50']:.2f} s, "
            f"decode {lone['tps']:.1f} tok/s, aggregate {lone['agg']:.1f} tok/s"
        )
        say("  users  p50 turn       p95 turn       p50 ttft       p95 ttft       aggregate tok/s")
        for n in user_counts:
            r = rounds[n]
            say(
                f"  {n:>5}  {r['p50']:5.2f} s {r['p50'] / lone['p50']:4.1f}x"
                f"   {r['p95']:5.2f} s {r['p95'] / lone['p50']:4.1f}x"
                f"   {r['ttft50']:5.2f} s {r['ttft50'] / lone['ttft50']:4.1f}x"
                f"   {r['ttft95']:5.2f} s {r['ttft95'] / lone['ttft50']:4.1f}x"
                f"   {r['agg']:6.1f} {r['agg'] / lone['agg']:4.1f}x"
                f"   (tokens per reply {sorted(r['tokens'])})"
            )
        say(
            "  one conversation, turn: first token / prompt tokens / reused from its prefix: "
            + ", ".join(
                f"{i + 1}: {t['ttft']:.2f} s/{t['prompt']}/{t['reused']}"
                for i, t in enumerate(turns)
            )
        )
        d = got["document"]
        say(
            f"  a document question, lone user, first turn: first token {d['ttft']:.2f} s "
            f"(prefill {d['prefill']:.2f} s of {d['prompt']} prompt tokens)"
        )
    if {"llama-server", "llama.cpp"} <= results.keys():
        side, here = (results[e]["rounds"][user_counts[0]] for e in ("llama-server", "llama.cpp"))
        docs = {e: results[e]["document"] for e in ("llama-server", "llama.cpp")}
        say(
            "lone user, llama-server / in-process llama.cpp: "
            f"decode {side['tps'] / here['tps']:.2f}x,"
            f" first token {here['ttft50'] / side['ttft50']:.2f}x as fast,"
            f" turn {here['p50'] / side['p50']:.2f}x as fast, document first token "
            f"{docs['llama.cpp']['ttft'] / docs['llama-server']['ttft']:.2f}x as fast (prefill "
            f"{docs['llama.cpp']['prefill'] / docs['llama-server']['prefill']:.2f}x)"
        )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--engines",
        default="llama-server,llama.cpp",
        help="comma-separated; llama-server:N runs the sidecar with --slots N",
    )
    p.add_argument("--users", default="1,4,8,20")
    args = p.parse_args()
    user_counts = [int(n) for n in args.users.split(",")]
    lines = Lines()
    lines.say(f"replies fixed at {TOKENS} tokens (--min-new-tokens = --max-new-tokens), offline")
    before = os.getloadavg()[0]
    results = run_engines(args.engines.split(","), user_counts)
    report(results, user_counts, lines.say)
    lines.say(f"load average (1 min) {before:.2f} before, {os.getloadavg()[0]:.2f} after the run")
    record("bench_concurrency: many people at once through the launched app", lines)


if __name__ == "__main__":
    main()
