"""indexes for the reports: the dashboard's and the charted reports' statements read an index alone
(the backlog by status and queue, decisions by day, orders decided or created in a range, jobs done,
certificates by expiry); each status index gives way to one that starts with status

Revision ID: e6a9b3c1d52f
Revises: e6b2f0c4a815
Create Date: 2026-12-07 11:00:00.000000

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'e6a9b3c1d52f'
down_revision = 'e6b2f0c4a815'
branch_labels = None
depends_on = None

# (name, table, columns), each replacing the status index of its table where it starts with status.
INDEXES = [
    ('ix_order_status_queue', 'order', ['status', 'queue', 'sla_due_at', 'sla_started_at']),
    ('ix_order_decided_at', 'order', [sa.text('coalesce(approved_at, rejected_at)')]),
    ('ix_order_created_at', 'order', ['created_at', 'channel_id', 'business_type']),
    ('ix_review_decision_decided_at', 'review_decision', ['decided_at', 'decision', 'working_seconds', 'staff_id']),
    ('ix_programming_job_status_finished_at', 'programming_job', ['status', 'finished_at']),
    ('ix_certificate_status_not_after', 'certificate', ['status', 'not_after']),
]
REPLACED = [('ix_order_status', 'order'), ('ix_programming_job_status', 'programming_job'),
            ('ix_certificate_status', 'certificate')]


def upgrade():
    # CREATE and DROP INDEX alter no table: no batch mode (no copy of the tables) on SQLite.
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)
    for name, table in REPLACED:
        op.drop_index(name, table_name=table)


def downgrade():
    for name, table in REPLACED:
        op.create_index(name, table, ['status'], unique=False)
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
