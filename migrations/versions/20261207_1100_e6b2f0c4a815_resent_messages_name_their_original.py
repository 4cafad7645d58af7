"""a message sent again by hand names the one it copies: resent_from_id on each outbox (SMS, e-mail,
0.01-yuan transfer), for the notification centre to show a copy and its original together

Revision ID: e6b2f0c4a815
Revises: c4d1a7e2f903
Create Date: 2026-12-07 11:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

from migrations.sqlite_copy import foreign_keys_unchecked


# revision identifiers, used by Alembic.
revision = 'e6b2f0c4a815'
down_revision = 'c4d1a7e2f903'
branch_labels = None
depends_on = None

OUTBOXES = ('sms_message', 'email_message', 'bank_transfer')


def upgrade():
    # ADD COLUMN with its reference inline: no copy of the outboxes on SQLite (they are the biggest
    # tables after the audit); PostgreSQL names the constraint as the naming convention does.
    sqlite = op.get_bind().dialect.name == 'sqlite'
    for table in OUTBOXES:
        name = f'fk_{table}_resent_from_id_{table}'
        if sqlite:
            op.execute(f'ALTER TABLE {table} ADD COLUMN resent_from_id INTEGER CONSTRAINT {name} '
                       f'REFERENCES {table} (id)')
        else:
            op.add_column(table, sa.Column('resent_from_id', sa.Integer(), nullable=True))
            op.create_foreign_key(name, table, table, ['resent_from_id'], ['id'])
        op.create_index(f'ix_{table}_resent_from_id', table, ['resent_from_id'], unique=False)


def downgrade():
    sqlite = op.get_bind().dialect.name == 'sqlite'
    for table in reversed(OUTBOXES):
        op.drop_index(f'ix_{table}_resent_from_id', table_name=table)
        if sqlite:
            # SQLite's DROP COLUMN refuses a column with a reference: the table is copied without it.
            with foreign_keys_unchecked(), op.batch_alter_table(table, schema=None) as batch_op:
                batch_op.drop_column('resent_from_id')
        else:
            op.drop_constraint(f'fk_{table}_resent_from_id_{table}', table, type_='foreignkey')
            op.drop_column(table, 'resent_from_id')
