"""passage sentences: where each sentence of a passage the composer quotes begins and ends

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03

Splitting passages into sentences was a fifth of the time of composing an article, repeated for every
question; ingest now stores the split of the passages an article quotes sentence by sentence (guideline
passages, a label's boxed warning, indications and dosage). Rows stored before this revision have none
(null) and are split when read, as before, until their files are read again.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("passages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sentences", sa.JSON(), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("passages", schema=None) as batch_op:
        batch_op.drop_column("sentences")
