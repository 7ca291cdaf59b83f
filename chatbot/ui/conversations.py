"""The sidebar and the conversation API: list, open, search, rename, delete, export, import.

Owners: a browser keeps a random secret in gr.BrowserState (localStorage), so a reload or a
restart finds its conversations again; a program sends `Authorization: Bearer <secret>`;
without either, a client is a fresh anonymous owner for its session. The store only ever
sees a hash of the secret. Another owner's id answers "not found", as a missing id does.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import gradio as gr

from .. import validate
from ..conversation import Conversation
from ..messages import UserError, text
from ..pipeline import Pipeline
from .owners import browser_language, new_secret, owner_of, proven, session_conv, signed_in
from .render import same, shown, tree_json, turns_json


class ConversationHandlers:
    """One method per sidebar event or API endpoint; conversations are the caller's only."""

    def __init__(self, pipeline: Pipeline, access=None):
        self.pipeline = pipeline
        self.access = (
            access  # ui/files.Access: files handed out by owner, the browser's owner cookie
        )

    def show(self, owner: str):
        """show(path) for this owner's files (Handlers.shower)."""
        if self.access is None:
            return same
        return lambda path: self.access.show(path, owner, proven(owner))

    def render(self, conv: Conversation | None):
        """The chat, with the thumbs its replies were given (handlers.shown)."""
        return shown(conv, self.show(conv.owner) if conv else same)

    def listing(self, owner: str, query: str = "") -> list[dict]:
        return [
            {"id": c.id, "title": c.title, "updated": c.updated.isoformat(timespec="seconds")}
            for c in self.pipeline.conversations(owner, query)
        ]

    def open_owned(self, owner: str, conversation_id: str, lang: str | None = None) -> Conversation:
        """lang: the reader's language for the error (the browser's, or the conversation's)."""
        from ..store import NotFound

        if self.pipeline.store is None:
            raise gr.Error(
                self.pipeline.saving_problem or text("conversation.not_saved_here", lang)
            )
        try:
            return self.pipeline.open(owner, validate.conversation_id(conversation_id))
        except UserError as exc:
            raise gr.Error(exc.text(lang)) from None
        except NotFound:
            raise gr.Error(text("conversation.not_found", lang, id=conversation_id)) from None

    # ---- the browser's sidebar ----------------------------------------------------------
    def choices(self, owner: str, query: str = "", selected: str | None = None):
        items = self.listing(owner, query)
        return gr.update(
            choices=[
                (f"{c['title'] or '…'} · {c['updated'][:16].replace('T', ' ')}", c["id"])
                for c in items
            ],
            value=selected,
        )

    def on_load(
        self, secret: str | None, request: gr.Request = None, profile: gr.OAuthProfile | None = None
    ):
        """A browser arrives: its owner (a signed-in user, else the browser's secret, new if none),
        the signed token the page sets as its owner cookie (files are served by it, ui/files.py)
        and its newest conversation, shown by `show` once the cookie is set."""
        secret = secret or new_secret()
        owner = signed_in(request, profile) or owner_of(secret)
        self.copy_from_link(owner, request)
        items = self.listing(owner)
        conv = self.open_owned(owner, items[0]["id"]) if items else Conversation(owner=owner)
        token = self.access.tokens.sign(owner) if self.access is not None else ""
        return secret, conv, token, self.choices(owner, selected=conv.id if items else None)

    def copy_from_link(self, owner: str, request) -> None:
        """A page opened from a share link's "Continue as my own copy" (/?copy=<link id>): the
        snapshot becomes this owner's newest conversation, so the page opens it."""
        link = request.query_params.get("copy") if request is not None else None
        if not link:
            return
        try:
            self.pipeline.copy_shared(owner, link)
        except UserError as exc:
            gr.Warning(exc.text(browser_language(request)))
        except LookupError:
            gr.Warning(text("share.not_found", browser_language(request), id=link))

    def show_conversation(self, conv: Conversation | None):
        return self.render(conv)

    def open_ui(self, conversation_id: str, conv: Conversation | None):
        owner = conv.owner if conv else ""
        opened = self.open_owned(owner, conversation_id, conv.language if conv else None)
        return opened, self.render(opened)

    def new_chat(self, conv: Conversation | None):
        owner = conv.owner if conv else ""
        return Conversation(owner=owner), [], self.choices(owner)

    def search(self, query: str, conv: Conversation | None):
        return self.choices(
            conv.owner if conv else "", query or "", conv.id if conv and conv.saved else None
        )

    def rename_ui(self, title: str, conv: Conversation | None):
        if conv is not None and conv.saved:
            self.pipeline.rename(conv.owner, conv.id, title or "")
        return self.search("", conv)

    def delete_ui(self, conv: Conversation | None):
        owner = conv.owner if conv else ""
        if conv is not None:
            self.pipeline.forget(conv)
        return Conversation(owner=owner), [], self.choices(owner)

    def export_ui(self, fmt: str, conv: Conversation | None):
        if conv is None or not conv.saved:
            raise gr.Error(text("conversation.nothing_to_export", conv.language if conv else None))
        return self.show(conv.owner)(self._export(conv.owner, conv.id, fmt, conv.language))

    def import_ui(self, file, conv: Conversation | None):
        owner, lang = (conv.owner, conv.language) if conv else ("", None)
        if self.pipeline.store is None or not owner:
            raise gr.Error(
                self.pipeline.saving_problem or text("conversation.not_saved_here", lang)
            )
        path = file if isinstance(file, str) else file.name
        try:
            if self.access is not None and self.access.foreign(owner, [path]) is not None:
                raise UserError("history.not_your_file", name=Path(path).name)
            new_id = self.pipeline.import_archive(owner, path)
        except UserError as exc:
            raise gr.Error(exc.text(lang)) from None
        opened = self.open_owned(owner, new_id, lang)
        return opened, self.render(opened), self.choices(owner, selected=new_id)

    def _export(
        self, owner: str, conversation_id: str, fmt: str = "zip", lang: str | None = None
    ) -> str:
        from ..store import NotFound

        self.open_owned(owner, conversation_id, lang)  # this owner's well-formed id, or "not found"
        folder = Path(tempfile.mkdtemp(prefix="chatbot-export-"))  # a fresh folder per export
        try:
            return str(self.pipeline.export(owner, conversation_id, fmt, folder))
        except NotFound:
            raise gr.Error(text("conversation.not_found", lang, id=conversation_id)) from None

    # ---- the API -------------------------------------------------------------------------
    def conversations_api(self, conv, request: gr.Request):
        """The caller's conversations, newest first: [{"id", "title", "updated"}]."""
        conv = session_conv(conv, request)
        return self.listing(conv.owner), conv

    def open_api(self, conversation_id: str, conv, request: gr.Request):
        """Open one of the caller's conversations: the turns of its visible path as JSON (each
        with its id, parent and ‹ n/m › "branch"); later /chat calls continue it."""
        conv = self.open_owned(
            session_conv(conv, request).owner, conversation_id, browser_language(request)
        )
        turns = turns_json(conv)
        return turns, conv

    def tree_api(self, conversation_id: str, conv, request: gr.Request):
        """Every branch of one of the caller's conversations: {"head", "turns": [each turn with
        its id, parent and "branch": [n, m]]}, oldest first."""
        conv = self.open_owned(
            session_conv(conv, request).owner, conversation_id, browser_language(request)
        )
        return tree_json(conv), conv

    def export_api(self, conversation_id: str, conv, request: gr.Request):
        """One of the caller's conversations as a JSON archive (zip with its files)."""
        conv = session_conv(conv, request)
        return self.show(conv.owner)(
            self._export(conv.owner, conversation_id, "zip", browser_language(request))
        ), conv

    def delete_api(self, conversation_id: str, conv, request: gr.Request):
        """Delete one of the caller's conversations; the remaining list."""
        conv = session_conv(conv, request)
        opened = self.open_owned(conv.owner, conversation_id, browser_language(request))
        self.pipeline.forget(opened)
        return self.listing(conv.owner), (
            Conversation(owner=conv.owner) if conv.id == conversation_id else conv
        )

    def rename_api(self, conversation_id: str, title: str, conv, request: gr.Request):
        """Rename one of the caller's conversations; the list."""
        conv = session_conv(conv, request)
        self.open_owned(
            conv.owner, conversation_id, browser_language(request)
        )  # not found for anyone else's id
        self.pipeline.rename(conv.owner, conversation_id, title or "")
        return self.listing(conv.owner), conv
