"""the applicant's note on a revocation asked for online, and at most one open revocation order per
certificate

Revision ID: 000b0f8c90b2
Revises: 8feb09aa1770
Create Date: 2026-12-06 09:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '000b0f8c90b2'
down_revision = '8feb09aa1770'
branch_labels = None
depends_on = None

_OPEN_REVOCATION = "business_type = 'revocation' AND status NOT IN ('cancelled', 'completed', 'rejected')"


def upgrade():
    # Plain ADD COLUMN: no rebuild of the order table.
    op.add_column('order', sa.Column('revocation_note', sa.Text(), nullable=True))
    op.create_index('uq_order_open_revocation', 'order', ['certificate_id'], unique=True,
                    sqlite_where=sa.text(_OPEN_REVOCATION), postgresql_where=sa.text(_OPEN_REVOCATION))


def downgrade():
    op.drop_index('uq_order_open_revocation', table_name='order')
    op.drop_column('order', 'revocation_note')
