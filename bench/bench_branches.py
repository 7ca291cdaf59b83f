"""Editing an earlier question: time to first token of the new branch with the conversation's KV
prefix (reused up to the branch point) against the same prompt prefilled from nothing, and a
Retry (the whole prompt reused), in the same run.

Model: the offline profile's LLM (SmolLM2-135M, on llama.cpp where it is built, else
transformers), through pipeline.respond / edit / regenerate, replies of REPLY_TOKENS tokens.
  edit     : `--turns` questions, then the last one edited: the prefix up to it comes from cache
  baseline : the edited conversation's path copied into a fresh conversation, after the model's
             caches are dropped: every prompt token is prefilled again
  retry    : the edited question answered again beside its reply
Usage: .venv/bin/python bench/bench_branches.py [--turns 6]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Lines, record  # noqa: E402

REPLY_TOKENS = 24
QUESTION = (
    "Question {i}: a lighthouse keeper on a small island keeps a diary of the weather, the "
    "ships that pass, the birds that rest on the rocks and the colour of the sea each morning. "
    "What would day {i} of that diary say about the tide and the wind?"
)


def last(replies):
    return list(replies)[-1]


def one_run(pipe, turns: int) -> dict:
    from chatbot.conversation import Conversation, Turn

    conv = Conversation()
    for i in range(1, turns + 1):
        last(pipe.respond(conv, QUESTION.format(i=i)))
    index = len(conv.turns) - 2  # the last question
    edited = "In one line, please. " + QUESTION.format(i=turns)  # differs from its first word
    edit = last(pipe.edit(conv, index, edited))
    retry = last(pipe.regenerate(conv))
    fresh = Conversation(turns=[Turn(t.role, t.text) for t in conv.turns[:index]])
    pipe.models.backend.forget(conv.id)  # nothing cached: the baseline prefills it all
    cold = last(pipe.respond(fresh, edited))
    pipe.models.backend.forget(fresh.id)
    return {"edit": edit.metrics, "retry": retry.metrics, "cold": cold.metrics}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    from chatbot.models.decoding import Sampling
    from chatbot.pipeline import Pipeline
    from chatbot.profiles import build_config

    cfg = build_config("offline")
    pipe = Pipeline(cfg, Sampling(max_new_tokens=REPLY_TOKENS, min_new_tokens=REPLY_TOKENS))
    list(pipe.models.wait())
    runs = [one_run(pipe, args.turns) for _ in range(args.repeats)]
    out = Lines()
    out.say(f"{pipe.models.backend.describe()}; {args.turns} questions, the last one edited")
    for name in ("edit", "retry", "cold"):
        ttft = statistics.median(r[name]["ttft_s"] for r in runs)
        prompt = runs[-1][name]["prompt_tokens"]
        reused = runs[-1][name]["reused_tokens"]
        prefill = statistics.median(r[name]["prefill_s"] for r in runs)
        out.say(
            f"{name:6} first token {ttft:.3f} s, prefill {prefill:.3f} s (medians of {len(runs)}); "
            f"{reused} of {prompt} prompt tokens from the cache"
        )
    edit = statistics.median(r["edit"]["ttft_s"] for r in runs)
    cold = statistics.median(r["cold"]["ttft_s"] for r in runs)
    out.say(f"ratio edit / cold {edit / cold:.2f}x")
    record("bench_branches", out)


if __name__ == "__main__":
    main()
