"""reminders: renewal reminders sent and the applicants who want none; a request for more materials
keeps its link's token (sealed) for its reminders, the last reminder sent and when it lapsed

Revision ID: b41c7e2d9a63
Revises: 7a3e91c04b2d
Create Date: 2026-12-07 10:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'b41c7e2d9a63'
down_revision = '7a3e91c04b2d'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('renewal_reminder',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('certificate_id', sa.Integer(), nullable=False),
    sa.Column('stage', sa.Enum('days_90', 'days_30', 'days_7', 'expired', name='reminderstage', native_enum=False,
                               length=12), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['certificate_id'], ['certificate.id'],
                            name=op.f('fk_renewal_reminder_certificate_id_certificate')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_renewal_reminder')),
    sa.UniqueConstraint('certificate_id', 'stage', name=op.f('uq_renewal_reminder_certificate_id'))
    )
    op.create_index(op.f('ix_renewal_reminder_certificate_id'), 'renewal_reminder', ['certificate_id'], unique=False)
    op.create_table('reminder_opt_out',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('applicant', sa.String(length=60), nullable=False),
    sa.Column('opted_out_by', sa.String(length=120), nullable=False),
    sa.Column('opted_out_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reminder_opt_out')),
    sa.UniqueConstraint('applicant', name=op.f('uq_reminder_opt_out_applicant'))
    )
    # Plain ADD COLUMN (nullable): no batch mode, no copy of the table.
    op.add_column('material_request', sa.Column('token', sa.LargeBinary(), nullable=True))
    op.add_column('material_request', sa.Column('reminded_on_day', sa.Integer(), nullable=True))
    op.add_column('material_request', sa.Column('lapsed_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('material_request') as batch_op:
        batch_op.drop_column('lapsed_at')
        batch_op.drop_column('reminded_on_day')
        batch_op.drop_column('token')
    op.drop_table('reminder_opt_out')
    op.drop_index(op.f('ix_renewal_reminder_certificate_id'), table_name='renewal_reminder')
    op.drop_table('renewal_reminder')
