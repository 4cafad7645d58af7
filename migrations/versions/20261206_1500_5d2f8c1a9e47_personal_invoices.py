"""personal invoices: an invoice to a person (a personal certificate's holder) names no taxpayer ID

Revision ID: 5d2f8c1a9e47
Revises: 3c5e2a9d7b10
Create Date: 2026-12-06 15:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

from migrations.sqlite_copy import foreign_keys_unchecked


# revision identifiers, used by Alembic.
revision = '5d2f8c1a9e47'
down_revision = '3c5e2a9d7b10'
branch_labels = None
depends_on = None


def _nullable(nullable):
    # SQLite changes a column by copying the table (red invoices refer to their blue one); PostgreSQL
    # alters it in place.
    with foreign_keys_unchecked(), op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.alter_column('buyer_taxpayer_id', existing_type=sa.String(length=20), nullable=nullable)


def upgrade():
    _nullable(True)


def downgrade():
    op.execute("UPDATE invoice SET buyer_taxpayer_id = '' WHERE buyer_taxpayer_id IS NULL")
    _nullable(False)
