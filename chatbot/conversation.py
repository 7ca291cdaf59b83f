"""Turns, attachments and the per-session conversation state.

One Conversation lives in one browser session (or one gradio_client.Client);
nothing in it is shared between sessions, including the cache of encoded images.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # only for annotations: the conversation imports no stage
    from .generator import ImageRequest
    from .retrieval import DocumentIndex


@dataclass
class Attachment:
    kind: str  # "image" | "document"
    name: str  # file name as uploaded
    path: str  # local copy the server owns
    sha256: str  # content hash: the cache key for encodings and ingestion
    image: Any = None  # PIL.Image for images (bounded to MAX_KEPT_IMAGE_SIDE; None until needed)
    note: str = ""  # what the user should know about how it was read (e.g. animated)
    caption: str = ""  # said to the LLM just before the image (a video frame's time)


@dataclass
class Step:
    """One visible step of the chain, shown as a collapsible status in the reply. `key` names
    the box it comes from (steps.KEYS): stable for API clients and tests, whatever the title's
    wording or language."""

    key: str
    title: str
    detail: str = ""
    done: bool = False


@dataclass
class Turn:
    role: str  # "user" | "assistant"
    text: str = ""
    attachments: list[Attachment] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  # generated images etc. (paths)
    error: str | None = None  # shown to the user; not sent to the model
    stopped: bool = False
    metrics: dict = field(
        default_factory=dict
    )  # ttft_s, tokens_per_s, new_tokens, ... (API and benches)
    card: dict | None = None  # the ImageRequest behind a generated picture
    tools: dict = field(default_factory=dict)  # what a vision tool found (labels, search scores)
    sources: list = field(default_factory=list)  # quoted supporting sentences (quotes.Quote.info)


@dataclass
class Conversation:
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    turns: list[Turn] = field(default_factory=list)
    # (encoder name, sha256) -> encoded image or OCR text; per conversation, so that sessions
    # never share them
    image_cache: dict = field(default_factory=dict)
    stop_event: threading.Event = field(default_factory=threading.Event)
    documents: DocumentIndex | None = None  # this conversation's parsed documents, page-cited
    image_request: ImageRequest | None = None  # the last picture's request: the card, follow-ups
    owner: str = ""  # whose it is ("": not saved, e.g. in tests)
    saved: bool = False  # the store has it under this id
    saved_turns: int = 0  # how many of the turns the store holds
    restored: bool = False  # opened from the store: caches are rebuilt on the next turn
    queued_at: float | None = None  # when the UI queued the next message (monotonic)
    stop_requested_at: float = 0.0  # when Stop was last pressed (monotonic)
    language: str = "en"  # what the user reads ("ko", "en"): set at each message

    def stopped_since(self, queued_at: float | None) -> bool:
        """A Stop came after the request that entered the queue at queued_at: it runs no model."""
        return queued_at is not None and self.stop_requested_at > queued_at

    def images(self) -> list[Attachment]:
        """Every image the user has shared so far, in order: they stay in context."""
        return [
            a for t in self.turns if t.role == "user" for a in t.attachments if a.kind == "image"
        ]

    def model_turns(self) -> list[Turn]:
        """Turns the model should see: an assistant turn with no text (a rejected or failed
        exchange, a redrawn picture) is for the user only, so a retry starts clean."""
        failed = {
            i
            for i, t in enumerate(self.turns)
            if t.role == "assistant" and not t.text and (t.error or t.files or t.card)
        }
        return [
            t
            for i, t in enumerate(self.turns)
            if i not in failed and not (t.role == "user" and i + 1 in failed)
        ]

    def undo(self) -> Turn | None:
        """Drop the last exchange; return the user turn so it can be put back in the box."""
        if self.turns and self.turns[-1].role == "assistant":
            self.turns.pop()
        if self.turns and self.turns[-1].role == "user":
            return self.turns.pop()
        return None

    def clear(self) -> None:
        """Empty it, as a new conversation of the same owner (the stored one is deleted first)."""
        self.id, self.saved, self.saved_turns = uuid.uuid4().hex, False, 0
        self.turns.clear()
        self.image_cache.clear()
        self.documents = self.image_request = None
