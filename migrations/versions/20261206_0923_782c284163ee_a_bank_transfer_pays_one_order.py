"""a bank transfer pays one order: its reference is unique among bank-transfer payments

Revision ID: 782c284163ee
Revises: e80753e73d14
Create Date: 2026-12-06 09:23:26.869317

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '782c284163ee'
down_revision = 'e80753e73d14'
branch_labels = None
depends_on = None

_MATCHED = sa.text("provider = 'bank_transfer'")


def upgrade():
    op.create_index('uq_payment_bank_reference', 'payment', ['trade_no'], unique=True,
                    sqlite_where=_MATCHED, postgresql_where=_MATCHED)


def downgrade():
    op.drop_index('uq_payment_bank_reference', table_name='payment')
