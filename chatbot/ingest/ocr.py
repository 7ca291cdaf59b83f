"""Bundled OCR (PP-OCRv4 ONNX models inside rapidocr-onnxruntime: no download).

The detector finds text *pieces*, not lines: one printed line often comes back as two
or three pieces, and neighbouring pieces may overlap by a character or two, which both
then read ("The quick brown f" + "n fox jumps"). Lines are rebuilt here from the boxes:
pieces are grouped into lines by vertical overlap, ordered left to right and joined with
a space, once what two overlapping pieces both read is dropped from the second; lines are
joined with newlines. RapidOCR's `return_word_box` was tried: its character boxes are
spread evenly over the recogniser's output columns, so they can neither place a space
the recogniser dropped inside a piece (glued words in small print stay glued) nor tell
duplicates apart better than the text itself does; it is not used.
The text-direction classifier is off: it took long upright lines for upside-down ones
(0.91 sure) and turned them into noise, and rendered PDF pages are upright anyway.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass

import numpy as np

_lock = threading.Lock()  # the ONNX sessions are shared; one caller at a time
LINE_OVERLAP = 0.5  # pieces on one line share at least half of the lower one's height


@functools.lru_cache(maxsize=1)
def _engine():
    from rapidocr_onnxruntime import RapidOCR

    return RapidOCR()


@dataclass
class Piece:
    """One detected text box and what was read in it."""

    x0: float
    y0: float
    x1: float
    y1: float
    text: str

    @property
    def height(self) -> float:
        return self.y1 - self.y0


def ocr_image(image, min_score: float = 0.5) -> str:
    """Text read from a PIL image, line by line, top to bottom; '' when nothing is legible."""
    with _lock:
        result, _ = _engine()(np.asarray(image.convert("RGB")), use_cls=False)
    if not result:
        return ""
    pieces = [to_piece(r) for r in result if float(r[2]) >= min_score]
    return "\n".join(join_line(line) for line in group_lines(pieces))


def to_piece(item) -> Piece:
    """A RapidOCR result item [box (4 points), text, score]."""
    xs, ys = [p[0] for p in item[0]], [p[1] for p in item[0]]
    return Piece(min(xs), min(ys), max(xs), max(ys), str(item[1]))


def group_lines(pieces: list[Piece]) -> list[list[Piece]]:
    """Pieces grouped into lines (top to bottom), each line ordered left to right."""
    lines: list[list[Piece]] = []
    for piece in sorted(pieces, key=lambda p: ((p.y0 + p.y1) / 2, p.x0)):
        line = lines[-1] if lines else None
        if line is not None:
            top, bottom = min(p.y0 for p in line), max(p.y1 for p in line)
            shared = min(bottom, piece.y1) - max(top, piece.y0)
            lower = min(piece.height, max(p.height for p in line)) or 1.0
            if shared >= LINE_OVERLAP * lower:
                line.append(piece)
                continue
        lines.append([piece])
    return [sorted(line, key=lambda p: p.x0) for line in lines]


def join_line(line: list[Piece]) -> str:
    """The pieces of one line joined by single spaces; where two pieces overlap and the
    second starts with what the first ends with, that is kept once and they are glued."""
    text = " ".join(line[0].text.split()) if line else ""
    for left, right in zip(line, line[1:]):
        words = " ".join(right.text.split())
        shared = _repeated(left, right, text, words)
        text = text + words[shared:] if shared else f"{text} {words}".strip()
    return text


def _repeated(left: Piece, right: Piece, text: str, words: str) -> int:
    """How many characters at the start of `words` repeat the end of `text`: at most as
    many as fit in the two boxes' overlap, plus two; 0 when the boxes do not overlap."""
    overlap = left.x1 - right.x0
    if overlap <= 0 or not left.text:
        return 0
    char_width = max((left.x1 - left.x0) / len(left.text), 1.0)
    most = min(len(text), len(words), int(overlap / char_width) + 2)
    return next((n for n in range(most, 0, -1) if text.endswith(words[:n])), 0)
