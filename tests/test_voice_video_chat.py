"""Voice notes and video clips through the pipeline and the launched app: the transcript
becomes the user's words, the clip's frames go through the vision encoder once each, in time
order, and the steps show what was heard and seen. Real Whisper base, speech by espeak-ng."""

from __future__ import annotations

import pytest
from gradio_client import handle_file

from chatbot.conversation import Conversation
from tests.helpers import ask
from tests.mediafixtures import ENGLISH, make_video, speak, words


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    d = tmp_path_factory.mktemp("clips")
    voice = speak(ENGLISH, d / "note.wav")
    return {
        "voice": voice,
        "video": make_video(d / "clip.mp4", soundtrack=voice),
        "mute": make_video(d / "mute.mp4"),
    }


def test_a_voice_note_becomes_the_users_words(pipe, clips):
    conv = Conversation()
    reply = ask(pipe, conv, "", [clips["voice"]])
    assert reply.error is None
    step = next(s for s in reply.steps if s.key == "listen")
    assert "real-time factor" in step.detail and "en" in step.detail and "[0.0–" in step.detail
    said = conv.turns[0].text
    assert said.startswith("[voice note note.wav]:") and set(words(ENGLISH)) <= set(words(said))


def test_a_clip_sends_timed_frames_to_the_encoder_once_each(pipe, clips, monkeypatch):
    calls = []
    model = pipe.models.backend.model
    real = model.get_image_features
    monkeypatch.setattr(model, "get_image_features", lambda **kw: calls.append(1) or real(**kw))
    conv = Conversation()
    reply = ask(
        pipe, conv, "what happens in this video and what does the speaker say?", [clips["video"]]
    )
    assert reply.error is None
    frames = [a for a in conv.turns[0].attachments if a.kind == "image"]
    times = [float(a.name.split(" at ")[1].rstrip(" s")) for a in frames]
    assert 3 <= len(frames) <= 8 and times == sorted(times), (
        "frames in time order, within the limit"
    )
    video_step = next(s for s in reply.steps if s.key == "listen")
    assert "scene changes at" in video_step.detail and "soundtrack:" in video_step.detail
    assert set(words(ENGLISH)) <= set(words(conv.turns[0].text))
    distinct = len(
        {a.sha256 for a in frames}
    )  # identical frames (a still scene) share one encoding
    assert len(calls) == distinct, "each frame encoded once"
    ask(pipe, conv, "and at the end?")
    assert len(calls) == distinct, "later turns reuse the frames' encodings"


def test_a_clip_without_sound_and_a_broken_one(pipe, clips, tmp_path):
    conv = Conversation()
    reply = ask(pipe, conv, "what do you see?", [clips["mute"]])
    assert (
        reply.error is None
        and "no soundtrack" in next(s for s in reply.steps if s.key == "listen").detail
    )
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 100)
    bad = ask(pipe, conv, "and this?", [broken])
    assert bad.error and "broken.mp4" in bad.error
    assert ask(pipe, conv, "still there?").error is None, "the conversation goes on"


@pytest.mark.app
def test_voice_and_video_over_the_api(tiny_app, clips):
    c = tiny_app.client()
    text, files, info = c.predict(
        {"text": "", "files": [handle_file(str(clips["voice"]))]}, api_name="/chat"
    )
    assert info["error"] is None and any(s["key"] == "listen" for s in info["steps"])
    text, files, info = c.predict(
        {"text": "what happens?", "files": [handle_file(str(clips["video"]))]}, api_name="/chat"
    )
    assert info["error"] is None and info["metrics"]["images"] >= 3
