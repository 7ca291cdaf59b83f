"""What the LLM sees: the history window, the photos in it, the system prompt and the document
excerpts, as chat messages. Pure functions of the conversation: nothing here edits its arguments.

Every turn keeps its photos in place, so the prompt of turn N is a prefix of turn N+1's
(the KV prefix cache then serves the old part).
"""

from __future__ import annotations

from .config import MAX_HISTORY_CHARS, MAX_IMAGES_PER_CONVERSATION
from .conversation import Attachment, Conversation, Turn
from .prompts import language_of, render, template


def ocr_key(att: Attachment) -> tuple[str, str]:
    """Where a photo's OCR text is cached in the conversation's image cache."""
    return ("ocr", att.sha256)


def history_window(conv: Conversation) -> list[Turn]:
    """The turns the prompt keeps, oldest first: newest first until MAX_HISTORY_CHARS is spent
    (the newest turn is always kept). The reply being written is not part of it."""
    turns = conv.model_turns()[:-1]
    kept, size = [], 0
    for t in reversed(turns):
        size += len(t.text) + sum(len(conv.image_cache.get(ocr_key(a), "")) for a in t.attachments)
        if kept and size > MAX_HISTORY_CHARS:
            break
        kept.append(t)
    return kept[::-1]


def photos_in_context(conv: Conversation) -> list[Attachment]:
    """The photos the model sees: the newest MAX_IMAGES_PER_CONVERSATION of those whose turn is
    still in the history window (a photo dropped with its turn is not encoded either)."""
    in_window = {id(a) for t in history_window(conv) for a in t.attachments}
    return [a for a in conv.images()[-MAX_IMAGES_PER_CONVERSATION:] if id(a) in in_window]


def system_prompt(conv: Conversation, can_draw: bool, documents: bool) -> str:
    last_user = next((t.text for t in reversed(conv.model_turns()[:-1]) if t.role == "user"), "")
    system = render("system", language=language_of(last_user))
    if can_draw:  # the LLM's own structured signal for the output projector
        system += "\n" + template("image_decision")
    if documents:
        system += "\n\n" + template("document_qa")
    return system


def build_messages(
    conv: Conversation,
    images: list[Attachment],
    sees_images: bool,
    can_draw: bool = False,
    documents: str = "",
    question: str = "",
    tools: str = "",
) -> list[dict]:
    """Chat messages for the LLM. `images` are the photos in context (photos_in_context):
    a VLM sees them in place, a text-only LLM reads their OCR text; older ones are noted."""
    in_context = {id(a) for a in images}
    numbers = {id(a): i + 1 for i, a in enumerate(conv.images())}
    kept = history_window(conv)
    messages = [
        {
            "role": "system",
            "content": [{"type": "text", "text": system_prompt(conv, can_draw, bool(documents))}],
        }
    ]
    for t in kept:
        parts = []
        for a in t.attachments:
            if a.kind != "image":
                continue
            if id(a) not in in_context:
                parts.append(
                    {
                        "type": "text",
                        "text": f"[photo {numbers[id(a)]} omitted: over the "
                        f"{MAX_IMAGES_PER_CONVERSATION}-image limit]",
                    }
                )
            elif sees_images:
                if a.caption:  # video frames: the LLM reads when each was taken
                    parts.append({"type": "text", "text": a.caption})
                parts.append({"type": "image"})
            else:
                text = conv.image_cache.get(ocr_key(a)) or "(no text found)"
                parts.append(
                    {
                        "type": "text",
                        "text": render("ocr_image", number=numbers[id(a)], name=a.name, text=text),
                    }
                )
        if (documents or tools) and t is kept[
            -1
        ]:  # this turn's excerpts and tool results, fenced, first
            fenced = "\n\n".join(part for part in (tools, documents) if part)
            parts.append({"type": "text", "text": f"{fenced}\n\nQuestion: {question}"})
        elif t.text:
            parts.append({"type": "text", "text": t.text})
        messages.append({"role": t.role, "content": parts or [{"type": "text", "text": ""}]})
    return messages
