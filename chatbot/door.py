"""The UI's one door into the app: everything a handler may ask besides respond() (pipeline.py),
as methods of the Pipeline. The handlers never reach into the store, the models or the history.

    start, status              the models loading in the background, and what the header says
    check_owner, check         a message's checks, before it is queued and before it is answered
    interrupted, undo, forget  a reply cut off by its client; the last exchange; the conversation
    redraw, new_request        the card's Redraw, without the LLM (drawing.py); a picture's
                               request outside a conversation (the MCP draw tool)
    transcribe                 a voice note or clip's words, without the LLM (the MCP tool)
    open, conversations, rename, export, import_archive   the owner's stored conversations
    edit, switch, turn_at      the message tree: edit a message (a new branch), show another
                               alternative (‹ n/m ›); Pipeline.regenerate is Retry
    rate                       👍 / 👎 with an optional comment on a reply
    share, shares, unshare     read-only links to a conversation as it shows (store/shares.py)
    copy_shared                "continue as my own copy" of a link
    following, carry_on        a reply in progress, watched by the owner's other pages (live.py);
                               a reply whose page went away goes on being written
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Iterator

from . import validate
from .config import MAX_FEEDBACK_COMMENT_CHARS
from .conversation import Conversation, Turn
from .messages import UserError

RATINGS = ("up", "down")  # a reply's feedback: 👍 / 👎 (None: no rating)
EDIT_KEEPS = ("image", "document", "table")  # an edited message keeps these files (not voice)


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
        if conv.turns and any(t.parent == conv.turns[-1].node for t in conv.nodes.values()):
            conv.switch(conv.turns[-1].node)  # an undone edit: the message it replaced is back
            self.history.show_path(conv)
        return user

    def carry_on(self, conv: Conversation, replies) -> threading.Thread:
        """The page that asked for this reply went away (a reload, a closed tab): the reply goes
        on being written and saved without it, until it ends, a Stop, or
        MAX_REPLY_WITHOUT_PAGE_S; the owner's other pages watch it (following). The model writes
        as many replies at once as the engine has slots (Pipeline.answering). Returns the thread
        writing it."""
        from . import config

        def limit():
            conv.stop_requested_at = time.monotonic()
            conv.stop_event.set()

        timer = threading.Timer(config.MAX_REPLY_WITHOUT_PAGE_S, limit)
        timer.daemon = True

        def drain():
            try:
                for _ in replies:
                    pass
            finally:
                timer.cancel()
                replies.close()

        thread = threading.Thread(target=drain, name="reply-without-its-page", daemon=True)
        timer.start()
        thread.start()
        return thread

    def following(self, owner: str, conversation_id: str):
        """The owner's reply in progress on that conversation (live.Run: .conv, .follow()), or
        None: nothing is being written there now."""
        return self.live.find(owner, conversation_id)

    def open(self, owner: str, conversation_id: str) -> Conversation:
        """A stored conversation of this owner (NotFound for anyone else's id)."""
        return self.history.open(owner, conversation_id)

    def redraw(self, conv, edits, queued_at=None, language=None) -> Iterator[Turn]:
        """The card's Redraw, without the LLM (drawing.Drawing.redraw)."""
        return self.drawing.redraw(conv, edits, queued_at, language)

    def new_request(self, fields: dict):
        """The drawing defaults under `fields`, checked (drawing.Drawing.new_request)."""
        return self.drawing.new_request(fields)

    def transcribe(self, path: str, language: str | None = None):
        """Speech in a voice note or clip -> ingest.audio.Transcript (Whisper), in the
        transcription limit (TRANSCRIPTIONS_AT_ONCE) like a voice note in a turn; no LLM.
        UserError for a file that is not audio or video, or over its limits."""
        from .ingest import check_files, media_kind
        from .ingest.audio import transcribe
        from .limits import STAGES

        check_files([path])
        if media_kind(path) is None:
            raise UserError("tools.not_audio", name=Path(path).name)
        model = self.cfg.asr.model
        return STAGES["listen"].run(
            lambda report: transcribe(path, model, language_hint=language), lambda waiting: None
        )

    # ---- the message tree ------------------------------------------------------------------
    def turn_at(self, conv: Conversation | None, index, role: str | None = None) -> Turn:
        """The turn at `index` (0-based) of the visible path; UserError saying what exists
        otherwise (nothing is changed)."""
        count = len(conv.turns) if conv else 0
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < count:
            raise UserError("branch.no_such_turn", index=index, count=count)
        turn = conv.turns[index]
        if role is not None and turn.role != role:
            if role == "user":
                raise UserError("branch.not_user", index=index)
            raise UserError("branch.not_assistant", index=index)
        return turn

    def edit(
        self, conv: Conversation, index: int, text: str, queued_at=None, language=None
    ) -> Iterator[Turn]:
        """Edit the user message at `index`: a new branch from the turn before it (the old
        message and everything after it stay one click away); the reply streams as respond's.
        Checked first: a bad index or text raises UserError and changes nothing."""
        turn = self.turn_at(conv, index, "user")
        files = [a.path for a in turn.attachments if a.kind in EDIT_KEEPS and not a.caption]
        validate.check_message(text, files)
        conv.cut(index)
        return self.respond(conv, text, files, queued_at=queued_at, language=language)

    def switch(self, conv: Conversation, index: int, choice: int) -> None:
        """Show alternative `choice` (1-based: the n of ‹ n/m ›) of the turn at `index`, and the
        newest turns after it; the store shows the same path next time."""
        alternatives = conv.alternatives(self.turn_at(conv, index))
        count = len(alternatives)
        if not isinstance(choice, int) or isinstance(choice, bool) or not 1 <= choice <= count:
            raise UserError("branch.no_such_alternative", choice=choice, count=count, index=index)
        conv.switch(alternatives[choice - 1].node)
        self.history.show_path(conv)

    def rate(self, conv: Conversation, index: int, rating: str | None, comment: str = "") -> Turn:
        """👍 ("up") / 👎 ("down") / None (no rating), with an optional comment, on the reply at
        `index`; stored with the turn."""
        turn = self.turn_at(conv, index, "assistant")
        if rating is not None and rating not in RATINGS:
            raise UserError("feedback.bad_rating", rating=str(rating)[:20])
        comment = (comment or "").strip()
        if len(comment) > MAX_FEEDBACK_COMMENT_CHARS:
            raise UserError(
                "feedback.comment_too_long", chars=len(comment), limit=MAX_FEEDBACK_COMMENT_CHARS
            )
        turn.rating, turn.comment = rating, comment if rating is not None or comment else ""
        self.history.save(conv, turn)
        return turn

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

    def share(self, owner: str, conversation_id: str, days: float | None = None) -> str:
        """A read-only link to the conversation as it shows now; its id."""
        if self.store is None or not owner:
            raise UserError("share.nothing_yet")
        return self.store.share(owner, conversation_id, days)

    def shares(self, owner: str) -> list[dict]:
        return self.store.shares(owner) if self.store is not None and owner else []

    def unshare(self, owner: str, share_id: str) -> None:
        from .store import NotFound

        if self.store is None or not owner:
            raise NotFound("share")
        self.store.unshare(owner, share_id)

    def copy_shared(self, owner: str, share_id: str) -> str:
        """ "Continue as my own copy" of a share link: the new conversation's id (NotFound for a
        link that is gone)."""
        from .store import NotFound

        if self.store is None or not owner:
            raise NotFound("share")
        return self.store.copy_shared(share_id, owner)

    def import_archive(self, owner: str, path: str) -> str:
        """A conversation archive (checked in full first); the new conversation's id."""
        return self.store.import_archive(owner, path)
