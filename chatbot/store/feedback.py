"""The rated replies of a store, as an evaluation set: each 👍 / 👎 with the question it answered.

    rated_turns(store, owner=None, rating=None) -> [dict]   oldest conversation first

Each item: {"question", "files" [{"name", "kind", "sha256", "path"}], "reply", "rating",
"comment", "conversation", "turn", "owner"}. The question is the nearest user turn above the
reply in the message tree (the one it answers, on its own branch); "path" is the file in the
store (scripts/export_feedback.py can copy the files out). Reads only: nothing is changed.
"""

from __future__ import annotations

from sqlalchemy import select

from .db import ConversationRow, TurnRow
from .files import extensions
from .records import RATINGS, row_record, shas_of


def question_of(position: int, rows: dict[int, TurnRow]) -> TurnRow | None:
    """The nearest user turn above a reply (its parent, or further up past other replies)."""
    node = rows[position].parent
    while node is not None and node in rows:
        if rows[node].role == "user":
            return rows[node]
        node = rows[node].parent
    return None


def rated_turns(store, owner: str | None = None, rating: str | None = None) -> list[dict]:
    """Every rated reply (of one owner, or all; of one rating, or both) with its question."""
    wanted = (rating,) if rating else RATINGS
    out = []
    with store.session() as s:
        query = select(TurnRow.conversation_id).where(TurnRow.rating.in_(wanted)).distinct()
        ids = set(s.scalars(query))
        convs = s.scalars(
            select(ConversationRow)
            .where(ConversationRow.id.in_(ids))
            .order_by(ConversationRow.created, ConversationRow.id)
        ).all()
        for conv in convs:
            if owner is not None and conv.owner != owner:
                continue
            rows = {
                r.position: r
                for r in s.scalars(select(TurnRow).where(TurnRow.conversation_id == conv.id))
            }
            for position in sorted(p for p, r in rows.items() if r.rating in wanted):
                out.append(item(s, store, conv, rows, position))
    return out


def item(s, store, conv: ConversationRow, rows: dict[int, TurnRow], position: int) -> dict:
    reply, question = rows[position], question_of(position, rows)
    record = row_record(question) if question is not None else None
    exts = extensions(s, conv.owner, shas_of(record)) if record else {}
    files = [
        {
            "name": a["name"],
            "kind": a["kind"],
            "sha256": a["sha256"],
            "path": str(store.blobs.location(a["sha256"], exts.get(a["sha256"]))),
        }
        for a in (record["attachments"] if record else [])
    ]
    return {
        "question": question.text if question is not None else "",
        "files": files,
        "reply": reply.text,
        "rating": reply.rating,
        "comment": reply.comment or "",
        "conversation": conv.id,
        "turn": position,
        "owner": conv.owner,
    }
