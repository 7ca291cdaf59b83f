"""Photos for an LLM that cannot see: bundled OCR reads each one once per conversation, and its
text goes into the prompt, clearly labelled (context.py)."""

from __future__ import annotations

from typing import Iterator

from .. import steps
from ..context import ocr_key
from ..conversation import Attachment, Step


def read_photos(photos: list[Attachment], cache: dict, lang: str) -> Iterator[Step]:
    """Yields the OCR step; returns the new cache entries (ocr_key -> text) for the photos the
    conversation's cache does not hold yet."""
    from ..ingest.images import pixels
    from ..ingest.ocr import ocr_image

    step = steps.ocr(lang)
    yield step
    new = {}
    for att in photos:
        if ocr_key(att) not in cache and ocr_key(att) not in new:
            new[ocr_key(att)] = ocr_image(pixels(att))
    read = {**cache, **new}
    step.detail = steps.ocr_read(lang, photos, [len(read[ocr_key(a)]) for a in photos])
    step.done = True
    yield step
    return new
