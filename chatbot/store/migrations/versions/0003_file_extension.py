"""Blobs keep their file's extension (files/ab/cdef….png): files.ext, per owner.

Gradio and browsers decide from a file's name whether to show it inline, so a restored photo
needs its ".png". Rows from before stay NULL: their blobs keep the name without an extension
that older versions wrote, and are still found there. Nothing on disk is renamed.

Downgrading drops the column; blobs stored since then keep their extension on disk, where
older code does not look for them.

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("files") as batch:
        batch.add_column(sa.Column("ext", sa.String(8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("files") as batch:
        batch.drop_column("ext")
