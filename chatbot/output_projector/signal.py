"""The LLM's own signal: a `<draw>{"prompt": ...}</draw>` line at the end of its reply."""

from __future__ import annotations

import json
import re

_SIGNAL = re.compile(r"<draw>(.*?)(?:</draw>|$)", re.S | re.I)


def split_signal(pattern: re.Pattern, reply: str) -> tuple[str, str | None]:
    """(the reply without its signal lines, the last signal's body) for a `<tag>...</tag>` pattern;
    an unclosed tag (a reply cut off) counts."""
    matches = list(pattern.finditer(reply or ""))
    if not matches:
        return reply or "", None
    return pattern.sub("", reply).strip(), matches[-1].group(1).strip()


def parse_llm_signal(reply_text: str) -> tuple[str, dict | None]:
    """Split the `<draw>{"prompt": ...}</draw>` line (prompts/image_decision.txt) off a reply.

    Returns (text without the signal, the signal's dict or None). A signal that is
    not JSON still counts: its text becomes the prompt. An unclosed tag (the reply
    was cut off) counts too. `{}` means "draw" with no prompt of its own.
    """
    clean, body = split_signal(_SIGNAL, reply_text)
    if body is None:
        return clean, None
    signal = first_json_object(body)
    if signal is None:
        signal = {"prompt": body} if body else {}
    return clean, signal


def hide_signal(streamed: str) -> str:
    """The part of a reply still streaming that the user should see: everything before
    a <draw> line, and no half-written "<dr" at the end either."""
    cut = streamed.lower().find("<draw")
    if cut >= 0:
        return streamed[:cut].rstrip()
    for n in range(min(len("<draw"), len(streamed)), 0, -1):
        if "<draw".startswith(streamed[-n:].lower()):
            return streamed[:-n]
    return streamed


def first_json_object(text: str) -> dict | None:
    decoder = json.JSONDecoder()
    for m in re.finditer(r"\{", text):
        try:
            obj, _ = decoder.raw_decode(text, m.start())
        except ValueError:
            continue
        if isinstance(obj, dict):
            return obj
    return None
