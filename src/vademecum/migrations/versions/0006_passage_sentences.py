"""passage sentences and heading maps, written at ingest instead of worked out for every question

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03

Splitting passages into sentences was a fifth of the time of composing an article, repeated for every
question; ingest now stores the split of the passages an article quotes sentence by sentence (guideline
passages, a label's boxed warning, indications and dosage). Rows stored before this revision have none
(null) and are split when read, as before, until their files are read again.

``heading_runs`` is each document's heading map (runs of consecutive passages under one section path), so
that an article picks a guideline's passages by heading without reading every passage's path; this
revision builds it for the documents already stored.
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
    heading_runs = op.create_table(
        "heading_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Text(), nullable=False),
        sa.Column("section_path", sa.JSON(), nullable=False),
        sa.Column("first_ordinal", sa.Integer(), nullable=False),
        sa.Column("last_ordinal", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_heading_runs_document_id"), "heading_runs", ["document_id"], unique=False)
    _map_stored_documents(heading_runs)


def _map_stored_documents(heading_runs: sa.Table) -> None:
    """Build the heading maps of the documents already stored, a batch of passages at a time."""
    passages = sa.table(
        "passages",
        sa.column("document_id", sa.Text()),
        sa.column("ordinal", sa.Integer()),
        sa.column("section_path", sa.JSON()),
    )
    # Read whole before writing: a cursor still open on the table being written is not portable.
    rows = (
        op.get_bind()
        .execute(
            sa.select(passages.c.document_id, passages.c.ordinal, passages.c.section_path).order_by(
                passages.c.document_id, passages.c.ordinal
            )
        )
        .all()
    )
    runs: list[dict[str, object]] = []
    for document_id, ordinal, path in rows:
        last = runs[-1] if runs else None
        if last is not None and last["document_id"] == document_id and last["section_path"] == path:
            last["last_ordinal"] = ordinal
        else:
            if len(runs) >= 10_000:
                op.bulk_insert(heading_runs, runs[:-1])
                runs = runs[-1:]
            runs.append(
                {"document_id": document_id, "section_path": path, "first_ordinal": ordinal, "last_ordinal": ordinal}
            )
    if runs:
        op.bulk_insert(heading_runs, runs)


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index(op.f("ix_heading_runs_document_id"), table_name="heading_runs")
    op.drop_table("heading_runs")
    with op.batch_alter_table("passages", schema=None) as batch_op:
        batch_op.drop_column("sentences")
