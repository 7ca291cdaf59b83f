"""The message tree: turns get a parent and a place among their siblings; the conversation keeps
its visible path by its last turn (conversations.head).

Today's linear turns become a single branch: each turn's parent is the one before it
(position - 1), every sibling place is 0, and the head is the last turn, so an upgraded
conversation shows exactly what it showed before.

Downgrading drops the columns: only the branch each conversation shows is meant to survive it,
and the turns of other branches are deleted first, so the positions left read as one line
(older code walks turns by position).

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("turns") as batch:
        batch.add_column(sa.Column("parent", sa.Integer, nullable=True))
        batch.add_column(sa.Column("sibling", sa.Integer, nullable=False, server_default="0"))
    # in place (never a batch rebuild on SQLite, which would cascade to the turns)
    op.add_column("conversations", sa.Column("head", sa.Integer, nullable=True))
    op.execute("UPDATE turns SET parent = position - 1 WHERE position > 0")
    op.execute(
        "UPDATE conversations SET head = (SELECT MAX(t.position) FROM turns t "
        "WHERE t.conversation_id = conversations.id)"
    )


def downgrade() -> None:
    from chatbot.branches import path_to

    bind = op.get_bind()
    heads = dict(bind.execute(sa.text("SELECT id, head FROM conversations")).all())
    rows = bind.execute(sa.text("SELECT conversation_id, position, parent FROM turns")).all()
    parents: dict[str, dict] = {}
    for conversation_id, position, parent in rows:
        parents.setdefault(conversation_id, {})[position] = parent
    for conversation_id, tree in parents.items():
        keep = set(path_to(heads.get(conversation_id), tree))
        for position in set(tree) - keep:
            bind.execute(
                sa.text("DELETE FROM turns WHERE conversation_id = :c AND position = :p"),
                {"c": conversation_id, "p": position},
            )
    # not a batch on SQLite: rebuilding conversations would drop it, and its turns with it
    # (ON DELETE CASCADE); SQLite drops a plain column in place since 3.35
    op.execute("ALTER TABLE conversations DROP COLUMN head")
    with op.batch_alter_table("turns") as batch:
        batch.drop_column("sibling")
        batch.drop_column("parent")
