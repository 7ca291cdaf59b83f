"""Conversations that last: the pipeline's side of the store (chatbot/store/).

Write points: the user turn when it is accepted, the reply as it starts ("streaming"), its
text every SAVE_PARTIAL_S while it streams (a crash then leaves the partial text, marked
"interrupted" on the next start), and the reply when it ends, is stopped or fails. Nothing is
written per token, so saving does not slow streaming (bench/bench_store.py measures it).
Without a store (tests, or a database that cannot be opened) every method is a no-op and the
app keeps working in memory, saying why in the header.
"""

from __future__ import annotations

import time
import traceback
from pathlib import Path

from . import steps
from .config import SAVE_PARTIAL_S, AppConfig
from .conversation import Conversation, Turn
from .messages import UserError


def open_store(cfg: AppConfig):
    """(store, None) or (None, the reason it could not be opened: shown in the header)."""
    if cfg.data_dir is None and cfg.database_url is None:
        return None, "conversations are kept in memory only (no --data-dir)"
    from .store import Store, StoreError

    try:
        store = Store.open(cfg.data_dir, cfg.database_url, cfg.store_limits)
    except StoreError as exc:
        return None, f"conversations cannot be saved: {exc}"
    expired = store.expire(cfg.retention_days)  # retention: off (0) unless --retention-days
    if expired:
        print(
            f"retention: deleted {expired} conversations idle for over {cfg.retention_days:g} days",
            flush=True,
        )
    return store, None


class History:
    """Saves conversations of owners as they happen; restores them on return."""

    def __init__(self, store=None, problem: str | None = None):
        self.store = store
        self.problem = problem  # why nothing is saved, when nothing is
        self._last_partial: dict[int, float] = {}

    @property
    def enabled(self) -> bool:
        return self.store is not None

    def save(self, conv: Conversation, turn: Turn, status: str | None = None) -> None:
        """Add the turn, or update it if it is stored already. A failed write is shown on the
        turn (a step) and never stops the conversation."""
        if self.store is None or not conv.owner:
            return
        try:
            if not conv.saved:
                conv.id, conv.saved = self.store.create(conv.owner), True
            conv.place(turn)  # its node id in the tree, as the child of the turn before it
            if turn.node in conv.stored:
                self.store.update_turn(conv.owner, conv.id, turn.node, turn, status)
            else:
                parent = turn.parent  # the nearest ancestor the store holds (a failed save)
                while parent is not None and parent not in conv.stored:
                    parent = conv.nodes[parent].parent if parent in conv.nodes else None
                stored = self.store.add_turn(conv.owner, conv.id, turn, status, parent, turn.node)
                if stored != turn.node:  # another session took that id: the turn is renumbered
                    conv.renumber(turn, stored)
                conv.stored.add(stored)
        except Exception as exc:  # StoreError, a full disk, a limit (UserError): say it, keep going
            traceback.print_exc()
            why = exc.text(conv.language) if isinstance(exc, UserError) else str(exc)
            if not any(s.key == "saving" for s in turn.steps):
                turn.steps.append(steps.not_saved(conv.language, why))

    def save_partial(self, conv: Conversation, reply: Turn) -> None:
        """The growing reply's text, at most every SAVE_PARTIAL_S."""
        now = time.monotonic()
        if now - self._last_partial.setdefault(id(reply), now) >= SAVE_PARTIAL_S:
            self._last_partial[id(reply)] = now
            self.save(conv, reply, "streaming")

    def finish(self, conv: Conversation, reply: Turn) -> None:
        self._last_partial.pop(id(reply), None)
        self.save(conv, reply)

    def truncate(self, conv: Conversation) -> None:
        """After undo: the store keeps what the conversation keeps (the turns after the visible
        path's end go, with the branches that grew from them)."""
        dropped = conv.stored - set(conv.nodes)
        if self.store is not None and conv.saved and dropped:
            head = conv.turns[-1].node if conv.turns else None
            self.store.remove(conv.owner, conv.id, dropped, head)  # exactly what it dropped
            conv.stored -= dropped

    def show_path(self, conv: Conversation) -> None:
        """After switching branches: the store shows the same path next time."""
        if self.store is not None and conv.saved and conv.owner:
            head = conv.turns[-1].node if conv.turns else None
            self.store.set_head(conv.owner, conv.id, head if head in conv.stored else None)

    def copy_out(self, attachments: list) -> list:
        """The attachments, those kept in the file store copied out of it first (into this process's
        own folder): after Undo the store lets go of files no turn names any more, and Retry or the
        message put back in the box sends them again."""
        if self.store is None:
            return attachments
        import dataclasses
        import shutil
        import uuid

        from .cleanup import run_dir

        out = []
        for att in attachments:
            src = Path(att.path).resolve()
            if self.in_store(src) and src.exists():
                dest = run_dir() / "undone" / uuid.uuid4().hex / (Path(att.name).name or src.name)
                dest.parent.mkdir(parents=True)
                shutil.copyfile(src, dest)
                att = dataclasses.replace(att, path=str(dest))
            out.append(att)
        return out

    def browser_secret(self) -> str | None:
        """The key that encrypts each browser's owner secret in its localStorage (gr.BrowserState).
        Kept beside the database: with Gradio's default (a new key at every start) a restart would
        make every anonymous browser a stranger to its own conversations."""
        if self.store is None:
            return None
        import os
        import secrets

        path = Path(self.store.data_dir) / "browser-state.key"
        if not path.exists():  # several app processes on one data folder share one key: the
            tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")  # first to link it wins
            tmp.write_text(secrets.token_urlsafe(32))
            tmp.chmod(0o600)
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass
            finally:
                tmp.unlink()
        return path.read_text().strip()

    def in_store(self, path: Path) -> bool:
        """Whether a resolved path lies in the file store (a store must be open)."""
        return Path(self.store.blobs.root).resolve() in path.parents

    def check_files(self, owner: str, paths: list[str]) -> None:
        """A path into the file store is accepted only from its owner: anyone else sending it
        (a URL seen once, a guessed name) gets "not one of your files", as if it did not exist."""
        if self.store is None:
            return
        for p in paths:
            resolved = Path(p).resolve()
            if self.in_store(resolved):
                sha = self.store.blobs.sha_of(resolved)
                if not (owner and sha and self.store.owns(owner, sha)):
                    raise UserError("history.not_your_file", name=resolved.name)

    def open(self, owner: str, conversation_id: str) -> Conversation:
        """A stored conversation, ready for its next turn (photos and documents reload lazily)."""
        tree = self.store.tree(owner, conversation_id)
        return Conversation(
            id=conversation_id,
            owner=owner,
            turns=tree.path,
            saved=True,
            stored=set(tree.nodes),
            nodes=dict(tree.nodes),
            next_node=max(tree.nodes, default=-1) + 1,
            restored=True,
        )

    def delete(self, conv: Conversation) -> None:
        if self.store is not None and conv.saved:
            self.store.delete(conv.owner, conv.id)
