"""Time to first token for a question about a 30 s video clip, through the pipeline users run
(offline profile: SmolLM2 reads the frames by OCR, Whisper base hears the soundtrack), against
the same question without the clip, with the split: decoding + frames, transcription, the rest.

    .venv/bin/python bench/bench_video.py [--seconds 30] [--profile offline|tiny] [--threads N]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench.common import Lines, add_threads_option, apply_threads, record  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--profile", default="offline", choices=["offline", "tiny"])
    add_threads_option(ap)
    args = ap.parse_args()
    print(f"torch threads: {apply_threads(args)}")
    from chatbot.conversation import Conversation
    from chatbot.ingest.audio import transcribe
    from chatbot.ingest.video import read_video
    from chatbot.pipeline import Pipeline
    from chatbot.profiles import build_config
    from tests.helpers import ask
    from tests.mediafixtures import PARAGRAPH, make_video, speak

    folder = Path(tempfile.mkdtemp(prefix="bench-video-"))
    voice = speak(PARAGRAPH, folder / "voice.wav")  # ~22 s of speech under a 30 s clip
    clip = make_video(folder / "clip.mp4", seconds_per_scene=args.seconds / 3, soundtrack=voice)
    pipe = Pipeline(build_config(args.profile, max_new_tokens=16))
    list(pipe.models.wait())
    question = "What happens in this video and what does the speaker say?"
    ask(pipe, Conversation(), "warm up")
    t = time.perf_counter()
    read = read_video(clip)
    t_read = time.perf_counter() - t
    words = transcribe(read.audio, pipe.cfg.asr.model, language_hint="en")
    text_only = ask(pipe, Conversation(), question)
    with_clip = ask(pipe, Conversation(), question, [clip])
    assert with_clip.error is None, with_clip.error
    clip_ttft, text_ttft = with_clip.metrics["ttft_s"], text_only.metrics["ttft_s"]
    out = Lines()
    out.say(
        f"clip: {read.duration_s:.1f} s, {len(read.frames)} frames, "
        f"soundtrack {words.duration_s:.1f} s"
    )
    out.say(
        f"decode + frames {t_read:.2f} s · transcription {words.seconds:.2f} s "
        f"(RTF {words.real_time_factor:.2f})"
    )
    out.say(
        f"time to first token: with the clip {clip_ttft:.2f} s "
        f"({with_clip.metrics['prompt_tokens']} prompt tokens) · same question, no clip "
        f"{text_ttft:.2f} s · ratio {clip_ttft / text_ttft:.1f}x"
    )
    record("bench_video", out)


if __name__ == "__main__":
    main()
