"""Draw decision: latency per message and held-out precision/recall.

    .venv/bin/python bench/bench_decision.py [--profile offline] [--repeats 3]

Latency is measured one message at a time, as the app decides (batch of 1):
the rules alone, and the full decide() (rules, then the classifier's embedding
+ dot product when the rules cannot tell). Baseline: the embedding call alone,
which is what a classifier-only decision would cost for every message.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import Lines, add_threads_option, apply_threads, record  # noqa: E402


def _ms(samples: list[float]) -> str:
    s = sorted(samples)
    p95 = s[int(0.95 * (len(s) - 1))]
    return (
        f"median {statistics.median(s) * 1000:7.3f} ms  p95 {p95 * 1000:7.3f} ms  "
        f"mean {statistics.fmean(s) * 1000:7.3f} ms"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--profile", default="offline", choices=["offline", "tiny"])
    ap.add_argument("--repeats", type=int, default=3)
    add_threads_option(ap)
    args = ap.parse_args()
    apply_threads(args)

    from chatbot.output_projector import (
        DATA_FILE,
        decide,
        explicit_request,
        load_dataset,
        split_dataset,
    )
    from scripts.eval_draw import classifier_for, evaluate

    t0 = time.perf_counter()
    clf = classifier_for(args.profile, str(DATA_FILE))
    clf.probability("warm up")
    out = Lines()
    out.say(
        f"classifier ({args.profile}, {clf.embedder.split('/')[-2]}) ready in "
        f"{time.perf_counter() - t0:.1f} s"
    )

    rows = load_dataset(DATA_FILE)
    texts = [r["text"] for r in rows]
    timings = {"rules": [], "decide": [], "embedding alone": []}
    used_classifier = 0
    for _ in range(args.repeats):
        for text in texts:
            t = time.perf_counter()
            explicit_request(text)
            timings["rules"].append(time.perf_counter() - t)
            t = time.perf_counter()
            d = decide(text, classifier=clf)
            timings["decide"].append(time.perf_counter() - t)
            used_classifier += d.source == "classifier"
            t = time.perf_counter()
            clf.embed([text])
            timings["embedding alone"].append(time.perf_counter() - t)
    out.say(f"latency per message over {len(texts)} messages x {args.repeats}:")
    for name, samples in timings.items():
        out.say(f"  {name:<16} {_ms(samples)}")
    out.say(
        f"  the classifier ran for {used_classifier / args.repeats / len(texts):.0%} of messages; "
        f"decide() / embedding-alone mean = "
        f"{statistics.fmean(timings['decide']) / statistics.fmean(timings['embedding alone']):.2f}"
    )

    for name, file, split in (
        ("held-out split", DATA_FILE, 1),
        ("fresh set (written after the rules)", ROOT / "data" / "draw_requests_fresh.jsonl", None),
    ):
        if not Path(file).exists():
            continue
        rows = load_dataset(file)
        rows = split_dataset(rows)[split] if split is not None else rows
        out.say(f"{name}: {len(rows)} messages")
        for stage, s in evaluate(rows, clf).items():
            out.say("  " + s.line(stage))
    record("bench_decision", out)


if __name__ == "__main__":
    main()
