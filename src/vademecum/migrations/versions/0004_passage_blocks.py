"""passage blocks: a list item's list, number, nesting depth and where its own text starts

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27

Added as new columns of ``passages`` (batch mode, so SQLite can too). Rows stored before this revision
get no list (``block_id`` and ``item_number`` null) and ``depth`` and ``lead_end`` 0 until their files are
read again, which the readers' new version makes the next ingest do.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("passages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("block_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("item_number", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("depth", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("lead_end", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("passages", schema=None) as batch_op:
        batch_op.drop_column("lead_end")
        batch_op.drop_column("depth")
        batch_op.drop_column("item_number")
        batch_op.drop_column("block_id")
