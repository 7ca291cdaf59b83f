"""Every value that arrives over the UI or the API, checked in one place before anything is
written to a conversation: typed, range-checked, and refused with a message naming the limit.
"""

from __future__ import annotations

import re

from .config import (
    MAX_GENERATION_SIDE,
    MAX_GENERATION_STEPS,
    MAX_MESSAGE_CHARS,
    MAX_SEED,
    MIN_GENERATION_SIDE,
)
from .generator import ImageRequest, check_request
from .messages import UserError

CONVERSATION_ID = re.compile(r"[0-9a-f]{32}")
CARD_FIELDS = ("prompt", "negative_prompt", "seed", "steps", "width", "height")


def check_message(text: str, files: list[str]) -> None:
    """A message has words or files, and no more words than MAX_MESSAGE_CHARS."""
    if not text.strip() and not files:
        raise UserError("message.empty")
    if len(text) > MAX_MESSAGE_CHARS:
        raise UserError("message.too_long", chars=len(text), limit=MAX_MESSAGE_CHARS)


def message(value) -> tuple[str, list[str]]:
    """A chat message, {"text": str, "files": [path or {"path": str}]} -> (text, paths)."""
    if value is None:
        value = {}
    if isinstance(value, str):  # a bare string from a program: the text alone
        value = {"text": value}
    if not isinstance(value, dict):
        raise UserError("message.not_dict", type=type(value).__name__)
    text, files = value.get("text") or "", value.get("files") or []
    if not isinstance(text, str):
        raise UserError("message.text_type", type=type(text).__name__)
    if not isinstance(files, list):
        raise UserError("message.files_type", type=type(files).__name__)
    paths = []
    for f in files:
        path = (
            f
            if isinstance(f, str)
            else (f.get("path") or f.get("name"))
            if isinstance(f, dict)
            else None
        )
        if not isinstance(path, str) or not path:
            raise UserError("message.file_item")
        paths.append(path)
    return text, paths


def integer(name: str, value, low: int, high: int, limit: str) -> int:
    """An int in [low, high]: numbers and numeric strings; anything else is a clear refusal."""
    try:
        number = (
            int(value)
            if not isinstance(value, bool) and float(value) == int(float(value))
            else None
        )
    except (TypeError, ValueError, OverflowError):
        number = None
    if number is None:
        raise UserError("value.not_integer", name=name, value=str(value)[:40])
    if not low <= number <= high:
        raise UserError(
            "value.out_of_range", name=name, number=number, low=low, high=high, limit=limit
        )
    return number


def image_edits(value, previous: ImageRequest | None) -> ImageRequest:
    """The card's (or /redraw's) fields over the previous request, each checked; an empty
    seed or steps keeps the previous value. Raises UserError; never stores anything."""
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise UserError("card.not_dict", fields=", ".join(CARD_FIELDS), type=type(value).__name__)
    base = previous.to_dict() if previous else {}
    fields = {
        "prompt": value.get("prompt") or "",
        "negative_prompt": value.get("negative_prompt") or "",
    }
    for key in ("prompt", "negative_prompt"):
        if not isinstance(fields[key], str):
            raise UserError("card.not_text", key=key, type=type(fields[key]).__name__)
    ranges = {
        "seed": (0, MAX_SEED, "MAX_SEED"),
        "steps": (1, MAX_GENERATION_STEPS, "MAX_GENERATION_STEPS"),
        "width": (
            MIN_GENERATION_SIDE,
            MAX_GENERATION_SIDE,
            "MIN_GENERATION_SIDE..MAX_GENERATION_SIDE",
        ),
        "height": (
            MIN_GENERATION_SIDE,
            MAX_GENERATION_SIDE,
            "MIN_GENERATION_SIDE..MAX_GENERATION_SIDE",
        ),
    }
    for key, (low, high, limit) in ranges.items():
        given = value.get(key)
        if given is None or given == "":
            fields[key] = base.get(key, {"seed": 0, "steps": 1}.get(key, 512))
        else:
            fields[key] = integer(key, given, low, high, limit)
    return check_request(ImageRequest.from_dict({**base, **fields}))


def conversation_id(value) -> str:
    """A conversation id as the store writes them; anything else cannot exist."""
    if not isinstance(value, str) or not CONVERSATION_ID.fullmatch(value):
        raise UserError("conversation.not_found", id=str(value)[:40])
    return value
