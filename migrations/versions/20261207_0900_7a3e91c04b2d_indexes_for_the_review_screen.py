"""indexes for the review screen: one applicant's other orders (by organisation, by holder's subject
serial) and the organisations sharing a phone number, found without scanning every order

Revision ID: 7a3e91c04b2d
Revises: 5d2f8c1a9e47
Create Date: 2026-12-07 09:00:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '7a3e91c04b2d'
down_revision = '5d2f8c1a9e47'
branch_labels = None
depends_on = None

INDEXES = [('order', 'organisation_id'), ('order', 'legal_rep_id'), ('order', 'agent_id'),
           ('person', 'subject_serial')]


def upgrade():
    # CREATE INDEX alters no table: no batch mode (no copy of the order table) on SQLite.
    for table, column in INDEXES:
        op.create_index(op.f(f'ix_{table}_{column}'), table, [column], unique=False)


def downgrade():
    for table, column in reversed(INDEXES):
        op.drop_index(op.f(f'ix_{table}_{column}'), table_name=table)
