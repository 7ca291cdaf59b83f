"""The sidebar lists one owner's conversations newest first: index (owner, updated).

It replaces the index on owner alone, which it covers, so the sidebar query reads the
index in order instead of sorting every conversation of the owner.

Revision ID: 0002
Revises: 0001
"""
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_conversations_owner_updated", "conversations", ["owner", "updated"])
    op.drop_index("ix_conversations_owner", table_name="conversations")


def downgrade() -> None:
    op.create_index("ix_conversations_owner", "conversations", ["owner"])
    op.drop_index("ix_conversations_owner_updated", table_name="conversations")
