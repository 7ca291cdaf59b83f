"""Short video -> a few frames in time order + the soundtrack as 16 kHz samples.

    read_video(path) -> VideoClip(frames=[(t, PIL.Image), ...], duration_s, audio, scene_changes)

Why frames and not the stream: the LLM box reads images, so a clip becomes at most
MAX_VIDEO_FRAMES pictures (each costs 64+ image tokens). Frames are chosen where
something changes (a cut: the mean absolute difference of consecutive 64x64 gray
thumbnails above SCENE_CHANGE_THRESHOLD) and otherwise evenly over time, so a clip
of three shots shows each shot. The soundtrack goes to audio.transcribe().

One decoding pass, bounded memory: uniform candidates are kept on a grid whose step
doubles whenever more than 2 x max_frames are held, which needs no declared duration
(browser-recorded WebM often has none).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import (
    MAX_VIDEO_FRAME_SIDE,
    MAX_VIDEO_FRAMES,
    MAX_VIDEO_SECONDS,
    SCENE_CHANGE_THRESHOLD,
    VIDEO_MIN_FRAME_GAP_S,
)
from ..messages import UserError
from .audio import declared_seconds, decode_audio, open_media, over_limit

THUMB_SIDE = 64  # gray thumbnails compared for cuts: cheap, and blind to noise
UNIFORM_START_STEP_S = 0.25  # the uniform grid's first step (doubles as the clip goes on)


@dataclass
class VideoClip:
    frames: list[tuple[float, Any]]  # (timestamp_s, PIL.Image), in time order
    duration_s: float
    audio: Any = None  # 16 kHz mono float32 numpy array, None: no audio stream
    scene_changes: list[float] = field(default_factory=list)  # timestamps of the cuts seen
    width: int = 0
    height: int = 0


@dataclass
class _Scan:
    """What one decoding pass keeps: cut candidates (a bounded heap) and the uniform grid."""

    max_frames: int
    cuts: list = field(default_factory=list)  # heap of (score, t, image): strongest kept
    cut_times: list = field(default_factory=list)  # every cut seen, for VideoClip.scene_changes
    uniform: list = field(default_factory=list)  # (t, image) on the grid
    step: float = UNIFORM_START_STEP_S
    next_t: float = 0.0
    last_t: float = 0.0
    frame_s: float = 0.0

    def add_cut(self, score: float, t: float, image) -> None:
        item = (score, t, image)
        if len(self.cuts) < self.max_frames:
            heapq.heappush(self.cuts, item)
        elif score > self.cuts[0][0]:
            heapq.heapreplace(self.cuts, item)

    def add_uniform(self, t: float, image) -> None:
        self.uniform.append((t, image))
        self.next_t = t + self.step
        if len(self.uniform) > 2 * self.max_frames:
            self.uniform = self.uniform[::2]
            self.step *= 2
            self.next_t = self.uniform[-1][0] + self.step


def read_video(path: str | Path, max_frames: int = MAX_VIDEO_FRAMES) -> VideoClip:
    """Frames (cuts first, then evenly spread, in time order) and the soundtrack of a short clip.

    UserError for a damaged file, a file with no video stream, or one over MAX_VIDEO_SECONDS
    (checked on the declared length first, then while decoding)."""
    name = Path(path).name
    if not Path(path).is_file():
        raise FileNotFoundError(path)
    container = open_media(path)
    with container:
        if not container.streams.video:
            raise UserError("video.no_stream", name=name)
        stream = container.streams.video[0]
        if stream.codec_context is None:  # FFmpeg knows the container, not the codec
            raise UserError("video.codec", name=name)
        declared = declared_seconds(container, stream)
        if declared is not None and declared > MAX_VIDEO_SECONDS + 0.5:
            raise over_limit(name, declared, MAX_VIDEO_SECONDS, "MAX_VIDEO_SECONDS")
        has_audio = bool(container.streams.audio)
        scan = _scan(container, stream, name, max_frames)
        width, height = stream.codec_context.width, stream.codec_context.height
    if not scan.uniform:
        raise UserError("video.no_frames", name=name)
    duration = max(scan.last_t + scan.frame_s, declared or 0.0)
    audio = decode_audio(path, MAX_VIDEO_SECONDS, "MAX_VIDEO_SECONDS") if has_audio else None
    frames = select_frames([(t, img, s) for s, t, img in scan.cuts], scan.uniform, max_frames)
    return VideoClip(
        frames=frames,
        duration_s=round(duration, 3),
        audio=audio,
        scene_changes=[round(t, 3) for t in scan.cut_times],
        width=width,
        height=height,
    )


def _scan(container, stream, name: str, max_frames: int) -> _Scan:
    """Decode every frame once: gray thumbnails find cuts; the grid keeps uniform candidates."""
    import av
    import numpy as np

    stream.thread_type = "AUTO"
    scan, prev, first = _Scan(max_frames=max_frames), None, None
    rate = float(stream.average_rate) if stream.average_rate else 0.0
    scan.frame_s = 1.0 / rate if rate else 0.0
    try:
        for index, frame in enumerate(container.decode(stream)):
            t = frame.time if frame.time is not None else index * scan.frame_s
            first = t if first is None else first
            t = max(0.0, t - first)
            if t > MAX_VIDEO_SECONDS + 0.5:
                raise over_limit(name, t, MAX_VIDEO_SECONDS, "MAX_VIDEO_SECONDS")
            scan.last_t = t
            thumb = frame.reformat(width=THUMB_SIDE, height=THUMB_SIDE, format="gray").to_ndarray()
            thumb = thumb.astype(np.int16)
            score = float("inf") if prev is None else float(np.abs(thumb - prev).mean())
            prev = thumb
            is_cut = score > SCENE_CHANGE_THRESHOLD
            if is_cut and index:
                scan.cut_times.append(t)
            if is_cut or t >= scan.next_t:
                image = _image(frame)
                if is_cut:
                    scan.add_cut(score, t, image)
                if t >= scan.next_t:
                    scan.add_uniform(t, image)
    except av.FFmpegError as exc:
        raise UserError("video.undecodable", name=name, error=type(exc).__name__) from exc
    return scan


def _image(frame):
    """The frame as an RGB PIL image, at most MAX_VIDEO_FRAME_SIDE on its long side."""
    w, h = frame.width, frame.height
    scale = min(1.0, MAX_VIDEO_FRAME_SIDE / max(w, h))
    if scale < 1.0:
        frame = frame.reformat(width=max(2, round(w * scale)), height=max(2, round(h * scale)))
    return frame.to_image()


def select_frames(
    cuts: list[tuple[float, Any, float]], uniform: list[tuple[float, Any]], max_frames: int
) -> list[tuple[float, Any]]:
    """Cuts first (strongest first; the first frame counts as one), then uniform candidates,
    each time the one farthest from every frame already chosen, none closer than
    VIDEO_MIN_FRAME_GAP_S; returned in time order. Pure, so it is tested without video."""
    chosen = [(t, img) for t, img, _score in sorted(cuts, key=lambda c: -c[2])[:max_frames]]
    pool = list(uniform)
    while len(chosen) < max_frames and pool:

        def gap(candidate):
            return min((abs(candidate[0] - t) for t, _ in chosen), default=float("inf"))

        best = max(pool, key=gap)
        if gap(best) < VIDEO_MIN_FRAME_GAP_S:
            break
        chosen.append(best)
        pool.remove(best)
    return sorted(chosen, key=lambda item: item[0])
