"""Conversations that last: saved turns, files, export and import, per owner.

    from chatbot.store import Store, NotFound, StoreError
    store = Store.open(data_dir)                      # SQLite: <data_dir>/chatbot.db (WAL)
    store = Store.open(data_dir, "postgresql+psycopg://user:pw@host/db")   # files stay in data_dir

Opening creates the folders, migrates the schema (Alembic, migrations/ in this package, run
in code: no alembic.ini), and marks replies a crash left "streaming" as "interrupted"
(partial text kept, Turn.stopped set, Turn.error explains). One Store serves all threads.

Every method takes the owner: an opaque string (a random secret per browser, or a
signed-in user name). Another owner's id raises NotFound, exactly like a missing id.

    create(owner, title="") -> id                     id: 32 hex characters (128 random bits)
    list(owner, query="") -> [ConversationInfo(id, title, created, updated)]   newest first;
                                                      query: case-insensitive, titles and turn text
    info(owner, id) -> ConversationInfo
    rename(owner, id, title)                          "" -> back to the first user message
    delete(owner, id)                                 for real, with files nothing else uses
    expire(days) -> int                               all owners: delete (as delete) the
                                                      conversations not updated for days days;
                                                      returns how many; days <= 0: off
                                                      (0, the default: --retention-days)
    turns(owner, id) -> [Turn]                        the visible path, chatbot.conversation.Turn
                                                      rebuilt (.node, .parent set): attachment
                                                      .path and .files point into the file store,
                                                      Attachment.image is None
    tree(owner, id) -> StoredTree(nodes, head)         every branch: position -> Turn; .path
    set_head(owner, id, position)                     show the path ending at that turn
    remove(owner, id, positions, head)                those turns and their branches (undo)
    add_turn(owner, id, turn, status=None, parent=<the path's last>, position=None) -> position
                                                      a child of parent (None: a first message),
                                                      then the path's last turn; positions are
                                                      never reused; the title defaults to the
                                                      first user message (MAX_TITLE_CHARS)
    update_turn(owner, id, position, turn, status=None)  e.g. a growing reply, then its end
    truncate(owner, id, n_turns)                      keep the first n_turns of the path (undo);
                                                      branches growing from the rest go too
    put(path_or_bytes, owner, name) -> sha256         content-addressed:
                                                      <data_dir>/files/ab/cdef….png (the extension
                                                      of the name it is first put under)
    path(owner, sha256) -> Path                       NotFound unless the owner has that file
    share(owner, id, days=None) -> link id            a read-only snapshot of the visible path
    shares(owner) / unshare(owner, link id)           the owner's links; revoke one
    shared(link id) / shared_file(link id, sha256)    a link holder's only ways in (NotFound for
                                                      unknown, revoked, expired, other files)
    copy_shared(link id, owner) -> id                 "continue as my own copy"
    export_markdown(owner, id) -> str                 the visible path; links files/<sha256>.<ext>
    export_archive(owner, id, dest_zip) -> Path       conversation.json + conversation.md + files/
    import_archive(owner, zip_path) -> id             validated in full first; UserError otherwise
    close()

status is one of STATUSES: "done", "stopped", "failed", "streaming", "interrupted"; None
means what the turn shows (stopped -> "stopped", error -> "failed", else "done"). Turn files
and attachment paths are copied into the store when a turn is added or updated; a path
already in the store is not copied again.

Errors: UserError (chatbot.messages) for limits and bad archives, quoting the limit's
name (MAX_CONVERSATIONS_PER_OWNER, MAX_STORED_MB_PER_OWNER, MAX_ARCHIVE_MB, MAX_TITLE_CHARS:
the defaults, in chatbot.config; a Store's own are store.limits, a config.StoreLimits given
to Store.open); StoreError for a damaged database, an unwritable folder or a failed write
(naming the file and what to do; nothing stored before is changed); NotFound
(a StoreError) for ids. Owners of one data folder should be served by one process: the
blob sweep after deletes and the crash recovery on open assume no other process is writing.
"""

from __future__ import annotations

from ..config import (
    MAX_ARCHIVE_MB,
    MAX_CONVERSATIONS_PER_OWNER,
    MAX_STORED_MB_PER_OWNER,
    MAX_TITLE_CHARS,
    StoreLimits,
)
from .api import DB_NAME, ConversationInfo, Store
from .db import STATUSES
from .errors import NotFound, StoreError

__all__ = [
    "Store",
    "ConversationInfo",
    "NotFound",
    "StoreError",
    "STATUSES",
    "DB_NAME",
    "MAX_CONVERSATIONS_PER_OWNER",
    "MAX_STORED_MB_PER_OWNER",
    "MAX_ARCHIVE_MB",
    "MAX_TITLE_CHARS",
    "StoreLimits",
]
