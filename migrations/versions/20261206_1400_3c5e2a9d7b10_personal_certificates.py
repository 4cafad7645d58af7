"""personal certificates: an order without an organisation, SLA targets per kind of certificate

Revision ID: 3c5e2a9d7b10
Revises: 288c14dcb98b
Create Date: 2026-12-06 14:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

from migrations.sqlite_copy import foreign_keys_unchecked


# revision identifiers, used by Alembic.
revision = '3c5e2a9d7b10'
down_revision = '288c14dcb98b'
branch_labels = None
depends_on = None

# A personal certificate's order has no organisation, legal representative, corporate account or
# taxpayer ID, and no organisation identity method.
UNIT_ONLY = [
    ('identity_method', sa.String(length=24)),
    ('organisation_id', sa.Integer()),
    ('legal_rep_id', sa.Integer()),
    ('account_name', sa.String(length=255)),
    ('account_number', sa.LargeBinary()),
    ('account_number_digest', sa.String(length=64)),
    ('bank_name', sa.String(length=120)),
    ('bank_province', sa.String(length=6)),
    ('bank_city', sa.String(length=6)),
    ('invoice_taxpayer_id', sa.String(length=20)),
]
# The personal certificates' review targets start as the unit ones (an admin sets them).
PERSONAL_POLICIES = [('new', 3, 5, 5), ('renewal', 3, 5, 5), ('unlock', 1, 2, 5), ('replacement', 5, 5, 5),
                     ('info_change', 3, 5, 5), ('revocation', 1, 2, 5)]


def _nullable(nullable):
    # SQLite changes a column by copying the table (Alembic's batch mode), every other table referring
    # to it; PostgreSQL alters it in place.
    with foreign_keys_unchecked(), op.batch_alter_table('order', schema=None) as batch_op:
        for name, type_ in UNIT_ONLY:
            batch_op.alter_column(name, existing_type=type_, nullable=nullable)


def upgrade():
    _nullable(True)
    op.add_column('person', sa.Column('subject_serial', sa.String(length=40), nullable=True))
    with op.batch_alter_table('sla_policy', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cert_kind', sa.String(length=12), nullable=False, server_default='unit'))
        batch_op.drop_constraint('uq_sla_policy_business_type', type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_sla_policy_business_type'), ['business_type', 'cert_kind'])
    with op.batch_alter_table('sla_policy', schema=None) as batch_op:
        batch_op.alter_column('cert_kind', existing_type=sa.String(length=12), server_default=None)
    op.bulk_insert(
        sa.table('sla_policy', sa.column('business_type'), sa.column('cert_kind'), sa.column('target_days'),
                 sa.column('limit_days'), sa.column('shipping_days')),
        [{'business_type': bt, 'cert_kind': 'personal', 'target_days': target, 'limit_days': limit,
          'shipping_days': shipping} for bt, target, limit, shipping in PERSONAL_POLICIES])


def downgrade():
    op.execute("DELETE FROM sla_policy WHERE cert_kind = 'personal'")
    with op.batch_alter_table('sla_policy', schema=None) as batch_op:
        batch_op.drop_constraint('uq_sla_policy_business_type', type_='unique')
        batch_op.create_unique_constraint('uq_sla_policy_business_type', ['business_type'])
        batch_op.drop_column('cert_kind')
    op.drop_column('person', 'subject_serial')
    _nullable(False)
