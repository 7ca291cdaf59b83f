"""Turns, attachments and the per-session conversation state.

One Conversation lives in one browser session (or one gradio_client.Client);
nothing in it is shared between sessions, including the cache of encoded images.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import branches

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
    node: int | None = None  # its id in the conversation's message tree (branches.py)
    parent: int | None = None  # the turn it answers or follows (None: a first message)
    rating: str | None = None  # a reply's feedback: "up" (👍), "down" (👎) or None
    comment: str = ""  # the comment that came with the rating


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
    stored: set = field(default_factory=set)  # the node ids the store holds
    # the message tree: every turn ever said, by node id; `turns` is the visible path through it
    nodes: dict = field(default_factory=dict)
    next_node: int = 0  # ids only grow: a child's is larger than its parent's
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

    # ---- the message tree ---------------------------------------------------------------
    def place(self, turn: Turn) -> Turn:
        """Give a turn of the visible path its node id, as the child of the turn before it
        (a turn appended to `turns` directly is placed when it is first saved)."""
        if turn.node is None:
            index = next(i for i, t in enumerate(self.turns) if t is turn)
            before = self.turns[index - 1] if index else None
            turn.node, turn.parent = self.next_node, before.node if before else None
            self.next_node += 1
        self.nodes[turn.node] = turn
        return turn

    def renumber(self, turn: Turn, node: int) -> None:
        """The store gave this turn another id (another session of the same conversation took
        its own): the turn and its children follow."""
        old = turn.node
        self.nodes.pop(old, None)
        turn.node, self.nodes[node] = node, turn
        for other in self.nodes.values():
            if other.parent == old and other is not turn:
                other.parent = node
        self.next_node = max(self.next_node, node + 1)

    def add(self, *turns: Turn) -> None:
        """Continue the visible path with these turns (new children of its last turn)."""
        for turn in turns:
            self.turns.append(turn)
            self.place(turn)

    def parents(self) -> dict[int, int | None]:
        for turn in self.turns:
            self.place(turn)
        return {n: t.parent for n, t in self.nodes.items()}

    def alternatives(self, turn: Turn) -> list[Turn]:
        """The turn and its siblings (other edits of a message, other replies), oldest first."""
        parents = self.parents()
        return [self.nodes[n] for n in branches.alternatives(turn.node, parents)]

    def branch_marks(self) -> dict[int, tuple[int, int]]:
        """node -> (n, m) for the visible turns that have alternatives: ‹ n/m ›."""
        parents = self.parents()
        kids = branches.children_of(parents)
        marks = {}
        for turn in self.turns:
            siblings = kids.get(turn.parent if turn.parent in parents else None, [turn.node])
            if len(siblings) > 1:
                marks[turn.node] = (siblings.index(turn.node) + 1, len(siblings))
        return marks

    def cut(self, length: int) -> None:
        """Show only the first `length` turns of the path (the branch point of an edit or a
        retry); nothing is forgotten: the rest stays a branch of the tree."""
        self.parents()
        self.turns = self.turns[:length]
        self._documents_follow()

    def switch(self, node: int) -> None:
        """Show the path through node: its ancestors, it, then its newest descendants."""
        parents = self.parents()
        down = branches.newest_descent(node, branches.children_of(parents))
        self.turns = [self.nodes[n] for n in branches.path_to(node, parents)[:-1] + down]
        self._documents_follow()

    def _documents_follow(self) -> None:
        """The model sees the visible path only: a path that no longer holds every document
        the index was built from rebuilds it on the next turn (parses are cached by hash)."""
        if self.documents is not None:
            shown = {a.sha256 for t in self.turns for a in t.attachments if a.kind == "document"}
            if {d.sha256 for d in getattr(self.documents, "documents", [])} - shown:
                self.documents = None

    def undo(self) -> Turn | None:
        """Drop the last exchange (and anything that branched from it); return the user turn so
        it can be put back in the box."""
        dropped = []
        if self.turns and self.turns[-1].role == "assistant":
            dropped.append(self.turns.pop())
        if self.turns and self.turns[-1].role == "user":
            dropped.append(self.turns.pop())
        children = branches.children_of(self.parents() if dropped else {})
        for turn in dropped:
            if turn.node is not None:
                for n in branches.subtree(turn.node, children):
                    self.nodes.pop(n, None)
        return dropped[-1] if dropped and dropped[-1].role == "user" else None

    def clear(self) -> None:
        """Empty it, as a new conversation of the same owner (the stored one is deleted first)."""
        self.id, self.saved, self.stored = uuid.uuid4().hex, False, set()
        self.turns.clear()
        self.nodes, self.next_node = {}, 0
        self.image_cache.clear()
        self.documents = self.image_request = None
