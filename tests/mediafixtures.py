"""Test media made in-process: speech by Debian's espeak-ng, video by PyAV + Pillow.

Nothing is downloaded or committed: espeak-ng (scripts/install_system.sh) speaks the
sentences to WAV, and PyAV encodes frames drawn with Pillow plus that soundtrack.
"""

from __future__ import annotations

import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

SAMPLE_RATE = 16_000
ENGLISH = "The meeting is on Tuesday afternoon. Please bring the budget report to the office."
# espeak-ng's Korean voice is rough; whisper-base reads it with a character error rate of ~0.5
KOREAN = "서울은 한국의 수도입니다. 회의는 화요일 세 시에 있습니다. 감사합니다."
# several sentences, ~20 s: long enough for a steady real-time factor in bench/bench_asr.py
PARAGRAPH = (
    "The meeting is on Tuesday afternoon. Please bring the budget report to the office. "
    "We will talk about the new store in the city centre, the opening date and the staff. "
    "After that, the design team will show three ideas for the website. "
    "Lunch is at one o'clock in the small room on the second floor."
)
SCENES = (("RED", (220, 30, 30)), ("GREEN", (30, 200, 60)), ("BLUE", (30, 40, 220)))


def espeak_binary() -> str:
    path = shutil.which("espeak-ng")
    if path is None:
        raise RuntimeError(
            "espeak-ng is missing: bash scripts/install_system.sh (apt-get install espeak-ng)"
        )
    return path


def speak(text: str, path: Path, voice: str = "en", speed: int = 130) -> Path:
    """espeak-ng -v VOICE -s WPM -w PATH TEXT: a 22 kHz mono WAV."""
    subprocess.run(
        [espeak_binary(), "-v", voice, "-s", str(speed), "-w", str(path), text],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return path


def read_wav(path: Path):
    """A WAV as 16 kHz mono float32 (through the app's own decoder, as an upload would be)."""
    from chatbot.ingest.audio import decode_audio

    return decode_audio(path)


def silence(path: Path, seconds: float = 3.0) -> Path:
    """A WAV of digital silence."""
    import wave

    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(b"\0\0" * int(seconds * SAMPLE_RATE))
    return path


def scene_image(label: str, color: tuple[int, int, int], size=(320, 240)):
    """A flat colour with its name in big white letters."""
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("RGB", size, color)
    draw = ImageDraw.Draw(image)
    try:
        font = ImageFont.load_default(size=64)
    except TypeError:  # Pillow without FreeType sizes
        font = ImageFont.load_default()
    draw.text((size[0] // 2, size[1] // 2), label, fill=(255, 255, 255), font=font, anchor="mm")
    return image


def make_video(
    path: Path,
    seconds_per_scene: float = 2.5,
    fps: int = 10,
    soundtrack: Path | None = None,
    scenes=SCENES,
    codec: str = "libx264",
    audio_codec: str = "aac",
) -> Path:
    """Three flat-colour scenes (hard cuts between them), with the WAV `soundtrack` muxed in."""
    import av

    with av.open(str(path), "w") as out:
        video = out.add_stream(codec, rate=fps)
        video.width, video.height, video.pix_fmt = 320, 240, "yuv420p"
        audio = out.add_stream(audio_codec, rate=48_000) if soundtrack else None
        frame_count = int(seconds_per_scene * fps)
        for i, (label, color) in enumerate(scenes):
            image = scene_image(label, color)
            for j in range(frame_count):
                frame = av.VideoFrame.from_image(image)
                frame.pts = i * frame_count + j
                frame.time_base = Fraction(1, fps)
                out.mux(video.encode(frame))
        out.mux(video.encode(None))
        if audio is not None:
            _mux_audio(out, audio, read_wav(soundtrack))
    return path


def _mux_audio(out, stream, samples) -> None:
    """16 kHz float samples -> the output's audio encoder, resampled to its rate and format."""
    import av
    import numpy as np

    frame = av.AudioFrame.from_ndarray(
        np.asarray(samples, np.float32).reshape(1, -1), format="flt", layout="mono"
    )
    frame.sample_rate = SAMPLE_RATE
    frame.pts = 0
    resampler = av.AudioResampler(
        format=stream.codec_context.format.name,
        layout="mono",
        rate=stream.codec_context.sample_rate,
        frame_size=stream.codec_context.frame_size or None,
    )
    for chunk in resampler.resample(frame) + resampler.resample(None):
        out.mux(stream.encode(chunk))
    out.mux(stream.encode(None))


def character_error_rate(reference: str, hypothesis: str) -> float:
    """Levenshtein distance over letters and digits (spaces and punctuation ignored) / reference
    length."""
    return error_rate([c for c in reference if c.isalnum()], [c for c in hypothesis if c.isalnum()])


def error_rate(ref: list, hyp: list) -> float:
    """Levenshtein distance between two sequences / the reference's length (CER on letters, WER on
    words)."""
    row = list(range(len(hyp) + 1))
    for i, a in enumerate(ref, 1):
        prev, row[0] = row[:], i
        for j, b in enumerate(hyp, 1):
            row[j] = min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a != b))
    return row[-1] / max(1, len(ref))


def words(text: str) -> list[str]:
    """Lower-case words without punctuation, for key-word checks."""
    return "".join(c.lower() if c.isalnum() or c.isspace() else " " for c in text).split()
