"""Voice and video in: the speech encoder (Whisper) and the frame sampler before the vision
encoder.

    voice note  -> transcribe -> the user's words (timestamped, in a step)
    video clip  -> sampled frames (cuts + evenly spread) -> photos for the vision encoder,
                   soundtrack -> transcribe -> words with timestamps
Frames become image attachments of the user's turn, captioned with their time, so the LLM
sees them in time order and the encoder runs once per frame per conversation (content hash).
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from typing import Iterator

from .. import steps
from ..cleanup import private_dir
from ..config import Choice
from ..conversation import Attachment, Step
from ..limits import limited
from ..messages import UserError, text

# this process's own folder; named by content hash; swept by cleanup.py
FRAME_DIR = private_dir("frames")


@dataclass
class Heard:
    """What this turn's voice notes and clips add to the user's message."""

    text: list[str] = field(default_factory=list)  # transcripts, labelled
    frames: list[Attachment] = field(default_factory=list)  # video frames, in time order
    voice: list[Attachment] = field(default_factory=list)  # .webm "clips" that are voice notes


def transcript_detail(t) -> str:
    """Model, language (and whether the hint decided it), duration, speed, timestamped words."""
    language = t.language + (
        f" (detection said {t.detected_language}, unsure: the hint was used)"
        if t.forced
        else f" ({t.language_probability:.0%} sure)"
    )
    lines = "\n".join(f"[{a:.1f}–{b:.1f} s] {text}" for a, b, text in t.segments)
    return (
        f"{t.model} ({t.compute_type}) · {language} · "
        f"{t.duration_s:.1f} s of audio in {t.seconds:.1f} s "
        f"(real-time factor {t.real_time_factor:.2f})\n\n{lines}"
    )


def save_frame(image, clip: str, t: float) -> Attachment:
    """A frame as a PNG named by its content (the store copies it like an upload)."""
    data = io.BytesIO()
    image.save(data, format="PNG")
    sha = hashlib.sha256(data.getvalue()).hexdigest()
    FRAME_DIR.mkdir(parents=True, exist_ok=True)
    path = FRAME_DIR / f"{sha[:32]}.png"
    if not path.exists():
        path.write_bytes(data.getvalue())
    label = f"{clip} at {t:.1f} s"
    return Attachment("image", label, str(path), sha, image=image, caption=f"[video {label}]")


def listen(
    attachments: list[Attachment], asr: Choice, hint: str | None, lang: str = "en"
) -> Iterator[Step]:
    """Transcribe voice notes, sample and transcribe clips; yields each step as it fills in and
    returns Heard. Steps are written in `lang`, the reader's language."""
    from ..ingest.audio import transcribe
    from ..ingest.video import read_video

    heard = Heard()
    for att in attachments:
        step = steps.listening(lang, att.kind, att.name)
        yield step
        clip = None
        if att.kind == "video":
            try:
                clip = yield from steps.with_progress(
                    lambda report: read_video(att.path), step, "{}"
                )
            except UserError as exc:
                if exc.key != "video.no_stream":
                    raise
                heard.voice.append(att)  # a .webm voice recording
        sound = att.path if clip is None else clip.audio
        words = None
        if sound is not None:
            if asr.model is None:
                raise UserError("media.no_asr", reason=asr.reason)
            words = yield from steps.with_progress(
                limited(
                    "listen", lambda report: transcribe(sound, asr.model, language_hint=hint), lang
                ),
                step,
                "{}",
            )
            heard.text.append(
                f"[{'soundtrack of ' if clip else 'voice note '}{att.name}]: {words.text}"
            )
        if clip is not None:
            heard.frames += [save_frame(image, att.name, t) for t, image in clip.frames]
            step.detail = clip_detail(clip, words, lang)
        else:
            step.detail = transcript_detail(words)
        step.done = True
        yield step
    return heard


def clip_detail(clip, words, lang: str) -> str:
    """The frames sent on (times, cuts) and the soundtrack's words, if it has any."""
    times = ", ".join(f"{t:.1f} s" for t, _ in clip.frames)
    scenes = ", ".join(f"{c:.1f} s" for c in clip.scene_changes)
    detail = text("step.frames", lang, count=len(clip.frames), seconds=clip.duration_s, times=times)
    if scenes:
        detail += text("step.scene_changes", lang, times=scenes)
    if words:
        return detail + text("step.soundtrack", lang, detail=transcript_detail(words))
    return detail + text("step.no_soundtrack", lang)
