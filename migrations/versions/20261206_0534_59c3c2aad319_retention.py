"""retention: when the retention rule removed an order's personal data and documents

Revision ID: 59c3c2aad319
Revises: 655a033ef6f8
Create Date: 2026-12-06 05:34:41

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '59c3c2aad319'
down_revision = '655a033ef6f8'
branch_labels = None
depends_on = None


def upgrade():
    # ADD COLUMN, not batch mode: SQLite would rebuild the order table every table refers to.
    op.add_column('order', sa.Column('purged_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    op.drop_column('order', 'purged_at')
