"""The LLM, streamed. The reply's visible text hides the <draw> signal line, which is for the
output projector (output_projector/signal.py), not the reader; after fenced excerpts it also
hides what a small model copies from its prompt (retrieval/fence.py: the fence's tags, the
question restated), and the stream stops where the model starts copying the context itself."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Iterator

from .. import gpu, steps
from ..conversation import Step
from ..models.decoding import GenStats


@dataclass
class Answer:
    """What the LLM said: the text the reader sees, the <draw> signal, whether it was stopped,
    and the figures API clients and benchmarks read (info["metrics"])."""

    text: str
    signal: dict | None
    stopped: bool
    metrics: dict


def generate(
    backend,
    messages,
    encodings,
    *,
    key,
    sampling,
    stop_event,
    lang: str,
    t_start: float,
    fenced_question: str | None = None,
) -> Iterator[Step | str]:
    """Yields the LLM step, then the visible text each time it grows; returns an Answer.
    t_start: when the message's time to first token started (a loaded model).
    fenced_question: the question asked after fenced excerpts (None: the prompt had none)."""
    from ..output_projector import hide_signal, parse_llm_signal
    from ..retrieval.fence import copying, unfenced

    def visible(text: str) -> str:
        return text if fenced_question is None else unfenced(text, fenced_question)

    step = steps.llm(backend)
    yield step
    stats, raw, t_llm = GenStats(), "", time.perf_counter()
    stream = gpu.stream(
        backend,
        messages,
        encodings,
        key=key,
        sampling=sampling,
        stop_event=stop_event,
        stats=stats,
    )
    try:
        for piece in stream:
            raw += piece
            if fenced_question is not None and copying(raw) is not None:
                break  # the rest would be the prompt's excerpts again, not an answer
            yield visible(hide_signal(raw))
    finally:
        stream.close()  # ends the model's loop where the answer ended
    text, signal = parse_llm_signal(raw)
    text = visible(text)
    yield text
    stopped = stats.stopped or stop_event.is_set()
    ttft = t_llm - t_start + stats.ttft_s  # from the message to the first token, encoding included
    step.detail, step.done = steps.generated(lang, ttft, stats, stopped), True
    yield step
    return Answer(text, signal, stopped, metrics(ttft, stats, encodings))


def metrics(ttft: float, stats: GenStats, encodings) -> dict:
    return {
        "ttft_s": round(ttft, 4),
        "tokens_per_s": round(stats.tokens_per_s, 2),
        "new_tokens": stats.new_tokens,
        "prompt_tokens": stats.prompt_tokens,
        "reused_tokens": stats.reused_tokens,
        "images": len(encodings),
        # the split of the time to first token: encoder + projector, then the LLM's prefill
        "encode_s": round(sum(e.seconds for e in encodings), 4),
        "prefill_s": round(stats.ttft_s, 4),
    }
