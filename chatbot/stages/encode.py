"""Vision encoder -> input projector, once per photo per conversation (the encodings stay in
the conversation's cache, keyed by content hash; gpu.encode adds the new ones)."""

from __future__ import annotations

from typing import Iterator

from .. import gpu, steps
from ..conversation import Attachment, Step


def encode(backend, images: list[Attachment], cache: dict, lang: str) -> Iterator[Step]:
    """Yields the encoder step; returns the images' encodings (models/base.ImageEncoding)."""
    step = steps.encode(backend)
    yield step
    encodings = gpu.encode(backend, images, cache)
    step.detail, step.done = steps.encoded(lang, images, encodings), True
    yield step
    return encodings
