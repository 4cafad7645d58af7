"""invoice PDFs in the document store: each invoice names its PDF there (pdf_name); the PDF kept in
the row until now (pdf) may be empty, and `flask --app wsgi storage migrate` moves it into the store

Revision ID: 655a033ef6f8
Revises: ed3c494d7da2
Create Date: 2026-12-06 05:28:54.662509

"""
from contextlib import contextmanager

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '655a033ef6f8'
down_revision = 'ed3c494d7da2'
branch_labels = None
depends_on = None


def upgrade():
    # On SQLite the nullable column rebuilds the invoice table (not the order table).
    with _foreign_keys_unchecked_on_sqlite(), op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pdf_name', sa.String(length=64), nullable=True))
        batch_op.alter_column('pdf', existing_type=sa.LargeBinary(), nullable=True)


def downgrade():
    # Only while every PDF is still in its row: after `storage migrate` they lie in the store.
    with _foreign_keys_unchecked_on_sqlite(), op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.alter_column('pdf', existing_type=sa.LargeBinary(), nullable=False)
        batch_op.drop_column('pdf_name')


@contextmanager
def _foreign_keys_unchecked_on_sqlite():
    """SQLite alters invoice by copying it to a new table and dropping the old one, which red
    invoices refer to (original_id): with foreign keys checked the drop fails. As in the
    ca_and_certificates migration: commit what came before, alter unchecked, prove nothing
    dangles, go on in a transaction again."""
    bind = op.get_bind()
    if bind.dialect.name != 'sqlite':
        yield
        return
    bind.exec_driver_sql('COMMIT')
    bind.exec_driver_sql('PRAGMA foreign_keys = OFF')
    bind.exec_driver_sql('BEGIN')
    try:
        yield
        dangling = bind.exec_driver_sql('PRAGMA foreign_key_check').fetchall()
        if dangling:
            raise RuntimeError(f'rows refer to rows that are gone: {dangling[:5]}')
        bind.exec_driver_sql('COMMIT')
    except BaseException:
        bind.exec_driver_sql('ROLLBACK')
        raise
    finally:
        bind.exec_driver_sql('PRAGMA foreign_keys = ON')
        bind.exec_driver_sql('BEGIN')
