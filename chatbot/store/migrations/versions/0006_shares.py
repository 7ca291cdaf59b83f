"""Share links: read-only snapshots of a conversation's visible path (table shares).

A share keeps the records of the turns shown when it was made, and the names and extensions of
their files; its id is 256 random bits (URL-safe). Deleting the conversation deletes its shares
(ON DELETE CASCADE). Downgrading drops the table, and with it every link.

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "shares",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("owner", sa.String(255), nullable=False),
        sa.Column("conversation_id", sa.String(32),
                  sa.ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("turns", sa.JSON, nullable=False),
        sa.Column("files", sa.JSON, nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_shares_owner", "shares", ["owner"])


def downgrade() -> None:
    op.drop_table("shares")
