"""the working time each review decision stores (review_decision.working_seconds), for the reports'
percentiles; `flask review fill-working-time` fills the decisions made before

Revision ID: c4d1a7e2f903
Revises: b41c7e2d9a63
Create Date: 2026-12-07 10:00:00.000000

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'c4d1a7e2f903'
down_revision = 'b41c7e2d9a63'
branch_labels = None
depends_on = None


def upgrade():
    # A plain ADD COLUMN: no batch mode (no copy of the table) on SQLite.
    op.add_column('review_decision', sa.Column('working_seconds', sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table('review_decision', schema=None) as batch_op:
        batch_op.drop_column('working_seconds')
