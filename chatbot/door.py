"""The UI's one door into the app: everything a handler may ask besides respond() (pipeline.py),
as methods of the Pipeline. The handlers never reach into the store, the models or the history.

    start, status              the models loading in the background, and what the header says
    check_owner, check         a message's checks, before it is queued and before it is answered
    interrupted, undo, forget  a reply cut off by its client; the last exchange; the conversation
    redraw                     the card's Redraw, without the LLM (drawing.py)
    open, conversations, rename, export, import_archive   the owner's stored conversations
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from . import validate
from .conversation import Conversation, Turn


class Door:
    """Mixed into Pipeline, which provides cfg, models, history and drawing."""

    def start(self) -> None:
        """Load the models in the background (the page is served meanwhile)."""
        self.models.start()

    def close(self) -> None:
        """The app is stopping: the engine's own process stops with it."""
        self.models.close()

    def status(self) -> dict:
        return {**self.models.status(), "saving": self.history.problem or "saved as you go"}

    def check_owner(self, conv: Conversation | None, files: list[str]) -> None:
        """A path into the file store is accepted only from its owner (UserError otherwise):
        the UI asks before queueing a message, so that a refusal keeps nothing."""
        self.history.check_files(conv.owner if conv else "", files)

    def check(self, conv: Conversation, text: str, files: list[str]) -> None:
        """Everything a message is checked for before its turn is answered (validate.py, the
        file's owner, the upload limits). Raises UserError."""
        from .ingest import check_files

        validate.check_message(text, files)
        self.check_owner(conv, files)
        check_files(files)

    def interrupted(self, conv: Conversation, reply: Turn) -> None:
        """The client went away mid-reply: the reply is kept as it is, marked stopped."""
        conv.stop_event.set()
        reply.stopped = True
        for step in reply.steps:
            step.done = True
        self.history.finish(conv, reply)

    def forget(self, conv: Conversation) -> None:
        """Clear: stop what runs, delete the stored copy, drop the turns and every cache."""
        conv.stop_event.set()
        self.history.delete(conv)
        if self.models.backend is not None:
            self.models.backend.forget(conv.id)
        conv.clear()

    def undo(self, conv: Conversation) -> Turn | None:
        """Drop the last exchange (here and in the store); the user turn, to put back in the box
        or send again (its files copied out of the store before the store lets them go)."""
        user = conv.undo()
        if user is not None:
            user.attachments = self.history.copy_out(user.attachments)
        self.history.truncate(conv)
        return user

    def open(self, owner: str, conversation_id: str) -> Conversation:
        """A stored conversation of this owner (NotFound for anyone else's id)."""
        return self.history.open(owner, conversation_id)

    def redraw(self, conv, edits, queued_at=None, language=None) -> Iterator[Turn]:
        """The card's Redraw, without the LLM (drawing.Drawing.redraw)."""
        return self.drawing.redraw(conv, edits, queued_at, language)

    # ---- the owner's stored conversations --------------------------------------------------
    @property
    def store(self):
        """The conversation store (None: conversations live in memory only). ui/files.py asks
        it who owns a stored file before serving it."""
        return self.history.store

    @property
    def saving_problem(self) -> str | None:
        """Why conversations are not being saved, if they are not (shown to the user)."""
        return self.history.problem

    def browser_secret(self) -> str | None:
        return self.history.browser_secret()

    def conversations(self, owner: str, query: str = "") -> list:
        """This owner's stored conversations, newest first, matching the query."""
        return self.store.list(owner, query) if self.store is not None and owner else []

    def rename(self, owner: str, conversation_id: str, title: str) -> None:
        self.store.rename(owner, conversation_id, title)

    def export(self, owner: str, conversation_id: str, fmt: str, folder: Path) -> Path:
        """One conversation as conversation.md or a conversation.zip archive (with its files)."""
        if fmt == "md":
            path = folder / "conversation.md"
            path.write_text(self.store.export_markdown(owner, conversation_id), encoding="utf-8")
            return path
        return Path(self.store.export_archive(owner, conversation_id, folder / "conversation.zip"))

    def import_archive(self, owner: str, path: str) -> str:
        """A conversation archive (checked in full first); the new conversation's id."""
        return self.store.import_archive(owner, path)
