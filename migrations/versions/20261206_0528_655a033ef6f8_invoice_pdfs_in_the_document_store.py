"""invoice PDFs in the document store: each invoice names its PDF there (pdf_name); the PDF kept in
the row until now (pdf) may be empty, and `flask --app wsgi storage migrate` moves it into the store

Revision ID: 655a033ef6f8
Revises: ed3c494d7da2
Create Date: 2026-12-06 05:28:54.662509

"""
from alembic import op
import sqlalchemy as sa

from migrations.sqlite_copy import foreign_keys_unchecked


# revision identifiers, used by Alembic.
revision = '655a033ef6f8'
down_revision = 'ed3c494d7da2'
branch_labels = None
depends_on = None


def upgrade():
    # On SQLite the nullable column rebuilds the invoice table (not the order table).
    with foreign_keys_unchecked(), op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pdf_name', sa.String(length=64), nullable=True))
        batch_op.alter_column('pdf', existing_type=sa.LargeBinary(), nullable=True)


def downgrade():
    # Only while every PDF is still in its row: after `storage migrate` they lie in the store.
    with foreign_keys_unchecked(), op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.alter_column('pdf', existing_type=sa.LargeBinary(), nullable=False)
        batch_op.drop_column('pdf_name')
