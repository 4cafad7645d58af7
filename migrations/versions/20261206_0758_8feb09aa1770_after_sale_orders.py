"""after-sale orders: the earlier order an after-sale order continues, the certificate it concerns,
and the RFC 5280 reason that certificate is revoked with

Revision ID: 8feb09aa1770
Revises: 59c3c2aad319
Create Date: 2026-12-06 07:58:00

"""
from alembic import op
import sqlalchemy as sa

from migrations.sqlite_copy import foreign_keys_unchecked


# revision identifiers, used by Alembic.
revision = '8feb09aa1770'
down_revision = '59c3c2aad319'
branch_labels = None
depends_on = None

_REFERENCES = (('previous_order_id', 'order', 'fk_order_previous_order_id_order'),
               ('certificate_id', 'certificate', 'fk_order_certificate_id_certificate'))


def upgrade():
    # ADD COLUMN with its reference inline: no rebuild of the order table (SQLite would copy it, and
    # every table refers to it); PostgreSQL names the constraint as the naming convention does.
    for column, table, name in _REFERENCES:
        if op.get_bind().dialect.name == 'sqlite':
            op.execute(f'ALTER TABLE "order" ADD COLUMN {column} INTEGER CONSTRAINT {name} REFERENCES "{table}" (id)')
        else:
            op.add_column('order', sa.Column(column, sa.Integer(), nullable=True))
            op.create_foreign_key(name, 'order', table, [column], ['id'])
        op.create_index(f'ix_order_{column}', 'order', [column], unique=False)
    op.add_column('order', sa.Column('revocation_reason', sa.Integer(), nullable=True))


def downgrade():
    op.drop_column('order', 'revocation_reason')
    for column, _table, name in reversed(_REFERENCES):
        op.drop_index(f'ix_order_{column}', table_name='order')
        if op.get_bind().dialect.name != 'sqlite':
            op.drop_constraint(name, 'order', type_='foreignkey')
            op.drop_column('order', column)
    if op.get_bind().dialect.name == 'sqlite':
        # A later migration's copy of the table (batch mode) made the references table constraints,
        # which SQLite's DROP COLUMN refuses: the columns go with a copy too.
        with foreign_keys_unchecked(), op.batch_alter_table('order', schema=None) as batch_op:
            for column, _table, _name in _REFERENCES:
                batch_op.drop_column(column)
