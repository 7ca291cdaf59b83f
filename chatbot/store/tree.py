"""The message tree of Store: read a conversation's whole tree, and move its visible path.

A mixin, TreeMethods, that Store inherits; it relies on Store's session(), conversation() and
blobs. A turn's position is its node id (branches.py): never reused, so a child's is larger
than its parent's; `parent` names the turn it follows and `sibling` its place among the
parent's children; the conversation's `head` is the last turn of the visible path.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from chatbot.branches import children_of, path_to, subtree
from chatbot.conversation import Turn

from .db import TurnRow, utcnow
from .errors import NotFound
from .files import extensions, release
from .records import row_record, shas_of, turn_from_record

CHAIN = object()  # add_turn's default parent: the visible path's last turn


@dataclass
class StoredTree:
    """Every turn of a conversation (Turn.node, Turn.parent set), by position, and the path."""

    nodes: dict[int, Turn]
    head: int | None

    @property
    def path(self) -> list[Turn]:
        """The visible path, root first."""
        parents = {n: t.parent for n, t in self.nodes.items()}
        return [self.nodes[n] for n in path_to(self.head, parents)]


class TreeMethods:
    """The message-tree methods of Store."""

    def parents(self, s: Session, conversation_id: str) -> dict[int, int | None]:
        """position -> parent position, for every turn of the conversation."""
        return dict(
            s.execute(
                select(TurnRow.position, TurnRow.parent).where(
                    TurnRow.conversation_id == conversation_id
                )
            ).all()
        )

    def tree(self, owner: str, conversation_id: str) -> StoredTree:
        """Every turn of the conversation, rebuilt, and the last turn of its visible path."""
        with self.session() as s:
            conv = self.conversation(s, owner, conversation_id)
            rows = s.scalars(
                select(TurnRow).where(TurnRow.conversation_id == conv.id).order_by(TurnRow.position)
            ).all()
            records = {r.position: (r.parent, row_record(r)) for r in rows}
            shas = set().union(*(shas_of(rec) for _, rec in records.values()))
            exts = extensions(s, owner, shas)
            head = conv.head
        nodes = {}
        for position, (parent, record) in records.items():
            turn = turn_from_record(record, lambda sha: self.blobs.location(sha, exts.get(sha)))
            turn.node, turn.parent = position, parent
            nodes[position] = turn
        return StoredTree(nodes, head)

    def remove(
        self, owner: str, conversation_id: str, positions: set[int], head: int | None
    ) -> None:
        """Delete these turns with every branch that grew from them (Undo in a session that
        knows exactly what it dropped), and show the path ending at head (None: none, or a head
        that is gone); files only those turns used go too."""
        with self.session(write=True) as s:
            conv = self.conversation(s, owner, conversation_id, lock=True)
            parents = self.parents(s, conv.id)
            kids = children_of(parents)
            doomed = set().union(*(subtree(p, kids) for p in positions if p in parents))
            if not doomed:
                return
            rows = s.scalars(
                select(TurnRow).where(
                    TurnRow.conversation_id == conv.id, TurnRow.position.in_(doomed)
                )
            ).all()
            gone = set().union(*(shas_of(row_record(r)) for r in rows))
            for row in rows:
                s.delete(row)
            s.flush()
            conv.head = head if head in parents and head not in doomed else None
            conv.updated = utcnow()
            released = release(s, owner, gone)
        self.sweep(released)

    def set_head(self, owner: str, conversation_id: str, position: int | None) -> None:
        """Show the path ending at the turn at position (None: no turn); NotFound for a
        position the conversation does not have."""
        with self.session(write=True) as s:
            conv = self.conversation(s, owner, conversation_id, lock=True)
            if position is not None and (
                not isinstance(position, int) or s.get(TurnRow, (conv.id, position)) is None
            ):
                raise NotFound("turn")
            conv.head, conv.updated = position, utcnow()
