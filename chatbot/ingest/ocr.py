"""Bundled OCR (PP-OCRv4 ONNX models inside rapidocr-onnxruntime: no download)."""
from __future__ import annotations

import functools
import threading

import numpy as np

_lock = threading.Lock()  # the ONNX sessions are shared; one caller at a time


@functools.lru_cache(maxsize=1)
def _engine():
    from rapidocr_onnxruntime import RapidOCR
    return RapidOCR()


def ocr_image(image, min_score: float = 0.5) -> str:
    """Text lines read from a PIL image, top to bottom; '' when nothing is legible."""
    with _lock:
        result, _ = _engine()(np.asarray(image.convert("RGB")))
    if not result:
        return ""
    # each item: [box(4 points), text, score]; sort by the box's top edge, then left edge
    lines = sorted((r for r in result if float(r[2]) >= min_score),
                   key=lambda r: (round(r[0][0][1] / 10), r[0][0][0]))
    return "\n".join(r[1] for r in lines)
