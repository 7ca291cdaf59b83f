"""Speech recognition speed: faster-whisper int8 (ours) vs float32, same audio, same model, one run.

    .venv/bin/python bench/bench_asr.py [--repeats 3] [--model PATH_OR_ID]

The audio is the same espeak-ng paragraph (~20 s, several English sentences) for both,
decoded once to 16 kHz samples. Each side runs chatbot.ingest.audio.transcribe (VAD,
language detection, beam 5), so the figure is what a user waits for after the upload;
model loading is timed apart. Calls alternate int8/float32 (order flipped each round)
to cancel drift from other processes; medians are compared. Word error rate against the
spoken text shows what int8 costs in accuracy. The bundled Whisper base is CTranslate2
only; an openai-whisper-style transformers pipeline is tried from the local Hugging Face
cache and reported as skipped when it cannot run offline.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from mediafixtures import PARAGRAPH, error_rate, read_wav, speak, words  # noqa: E402

from bench.common import Lines, record  # noqa: E402

TRANSFORMERS_WHISPER = "openai/whisper-base"


def word_error_rate(reference: str, hypothesis: str) -> float:
    return error_rate(words(reference), words(hypothesis))


def transformers_baseline(samples) -> str:
    """openai/whisper-base through transformers' pipeline, only if it is in the local cache."""
    try:
        from huggingface_hub import try_to_load_from_cache

        if not isinstance(try_to_load_from_cache(TRANSFORMERS_WHISPER, "config.json"), str):
            return (
                f"skipped: {TRANSFORMERS_WHISPER} (PyTorch weights) is not in the local Hugging "
                "Face cache and no PyPI package ships it; the bundled base is CTranslate2-only, "
                "which transformers cannot load. It cannot run offline here."
            )
        from transformers import pipeline

        asr = pipeline("automatic-speech-recognition", model=TRANSFORMERS_WHISPER, device="cpu")
        t0 = time.perf_counter()
        text = asr({"raw": samples, "sampling_rate": 16_000}, generate_kwargs={"language": "en"})[
            "text"
        ]
        return f"{time.perf_counter() - t0:.2f} s, WER {word_error_rate(PARAGRAPH, text):.3f}"
    except Exception as exc:  # report, never fail the bench on the baseline
        return f"skipped: {type(exc).__name__}: {exc}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument(
        "--model", default=None, help="faster-whisper folder or id (default: the bundled base)"
    )
    args = ap.parse_args()

    from chatbot.ingest.audio import load_whisper, prepare_bundled_whisper, transcribe

    t0 = time.perf_counter()
    model = args.model or str(prepare_bundled_whisper())
    out = Lines()
    out.say(
        f"model {model} ready in {time.perf_counter() - t0:.1f} s "
        "(first run joins the two packages)"
    )
    wav = speak(PARAGRAPH, Path(tempfile.mkdtemp(prefix="bench-asr-")) / "paragraph.wav")
    samples = read_wav(wav)
    duration = samples.size / 16_000
    threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    out.say(
        f"audio: espeak-ng, {len(words(PARAGRAPH))} words, {duration:.1f} s; "
        f"CTranslate2 CPU threads {threads}"
    )

    sides = ("int8", "float32")
    for compute_type in sides:
        t = time.perf_counter()
        load_whisper(model, "cpu", compute_type)
        print(f"load {compute_type:8s} {time.perf_counter() - t:.2f} s")
        transcribe(samples, model, "en", compute_type=compute_type)  # warm up
    seconds = {side: [] for side in sides}
    texts = {}
    for r in range(args.repeats):
        for side in sides if r % 2 == 0 else sides[::-1]:
            result = transcribe(samples, model, "en", compute_type=side)
            seconds[side].append(result.seconds)
            texts[side] = result.text

    out.say(
        f"{'compute type':12s} {'median s':>9s} {'min s':>7s} {'RTF':>6s} {'x real time':>11s} "
        f"{'WER':>6s}"
    )
    for side in sides:
        med = statistics.median(seconds[side])
        out.say(
            f"{side:12s} {med:9.2f} {min(seconds[side]):7.2f} {med / duration:6.3f} "
            f"{duration / med:11.1f} {word_error_rate(PARAGRAPH, texts[side]):6.3f}"
        )
    ratio = statistics.median(seconds["float32"]) / statistics.median(seconds["int8"])
    best = min(seconds["float32"]) / min(seconds["int8"])
    out.say(
        f"ratio float32/int8 time: {ratio:.2f}x by medians, {best:.2f}x by best runs "
        f"(int8 is {'faster' if ratio > 1 else 'slower'})"
    )
    for side in sides:
        print(f"{side} text: {texts[side]}")
    out.say(f"transformers pipeline ({TRANSFORMERS_WHISPER}): {transformers_baseline(samples)}")
    record("bench_asr", out)


if __name__ == "__main__":
    main()
