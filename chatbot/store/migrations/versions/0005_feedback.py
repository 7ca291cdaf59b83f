"""Feedback on replies: turns.rating ('up' 👍, 'down' 👎, NULL) and turns.comment.

Every turn from before has no rating. Downgrading drops both columns (and the ratings).

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("turns") as batch:
        batch.add_column(sa.Column("rating", sa.String(8), nullable=True))
        batch.add_column(sa.Column("comment", sa.Text, nullable=True))
        batch.create_check_constraint("ck_turns_rating", "rating IS NULL OR rating IN ('up', 'down')")


def downgrade() -> None:
    with op.batch_alter_table("turns") as batch:
        batch.drop_constraint("ck_turns_rating", type_="check")
        batch.drop_column("comment")
        batch.drop_column("rating")
