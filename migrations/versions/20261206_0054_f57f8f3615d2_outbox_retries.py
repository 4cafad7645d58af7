"""outbox retries: attempts and the next attempt's time on SMS, e-mails and transfers; a
transfer's request number (the bank's key, so one whose outcome is unknown is asked about,
never made twice); an SMS's template code, sealed parameters, order and expiry

Rows written before: a sent one stays sent. An e-mail not sent (queued, or failed once and
never retried) is due at once. An SMS not sent has no template code or parameters for the
carrier: a code's is expired, any other failed for good. A transfer not sent may have been
made (the old outbox marked a timeout failed, and left one queued when the process stopped
during the bank's call): its outcome is unknown and it is left to a person, under a request
number the bank never saw (legacy-<id>).

Revision ID: f57f8f3615d2
Revises: 9c318709d5e5
Create Date: 2026-12-06 00:54:43.976368

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f57f8f3615d2'
down_revision = '9c318709d5e5'
branch_labels = None
depends_on = None

CODE_TEMPLATES = "('order_signature', 'order_query')"


def upgrade():
    with op.batch_alter_table('bank_transfer', schema=None) as batch_op:
        batch_op.add_column(sa.Column('request_no', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('attempts', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_bank_transfer_next_attempt_at'), ['next_attempt_at'], unique=False)

    with op.batch_alter_table('email_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attempts', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_email_message_next_attempt_at'), ['next_attempt_at'], unique=False)

    with op.batch_alter_table('sms_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('template_code', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('sealed_params', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('order_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('attempts', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_sms_message_next_attempt_at'), ['next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_sms_message_order_id'), ['order_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_sms_message_order_id_order'), 'order', ['order_id'], ['id'])

    # SET expressions read the row as it was, so each CASE sees the old status.
    tried = "CASE WHEN status = 'queued' THEN 0 ELSE 1 END"
    op.execute(f"UPDATE email_message SET attempts = {tried}, "
               "next_attempt_at = CASE WHEN status = 'sent' THEN NULL ELSE created_at END, "
               "status = CASE WHEN status = 'sent' THEN 'sent' ELSE 'queued' END")
    op.execute(f"UPDATE sms_message SET attempts = {tried}, "
               f"status = CASE WHEN status = 'sent' THEN 'sent' WHEN template IN {CODE_TEMPLATES} THEN 'expired' "
               "ELSE 'failed' END, "
               f"error = CASE WHEN status = 'sent' OR template IN {CODE_TEMPLATES} THEN error "
               "ELSE COALESCE(error, 'queued before SMS template codes: not sent again') END")
    op.execute(f"UPDATE bank_transfer SET attempts = {tried}, "
               "request_no = 'legacy-' || CAST(id AS VARCHAR(20)), "
               "status = CASE WHEN status = 'sent' THEN 'sent' ELSE 'unknown' END, "
               "error = CASE WHEN status = 'sent' THEN error "
               "ELSE COALESCE(error, 'not sent by the old outbox: the bank may have made it') END")

    with op.batch_alter_table('bank_transfer', schema=None) as batch_op:
        batch_op.alter_column('request_no', existing_type=sa.String(length=40), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_bank_transfer_request_no'), ['request_no'])


def downgrade():
    # The old outbox knew queued, sent and failed only.
    for table in ('sms_message', 'email_message', 'bank_transfer'):
        op.execute(f"UPDATE {table} SET status = 'failed' WHERE status NOT IN ('queued', 'sent', 'failed')")

    with op.batch_alter_table('sms_message', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_sms_message_order_id_order'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_sms_message_order_id'))
        batch_op.drop_index(batch_op.f('ix_sms_message_next_attempt_at'))
        batch_op.drop_column('next_attempt_at')
        batch_op.drop_column('attempts')
        batch_op.drop_column('expires_at')
        batch_op.drop_column('order_id')
        batch_op.drop_column('sealed_params')
        batch_op.drop_column('template_code')

    with op.batch_alter_table('email_message', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_email_message_next_attempt_at'))
        batch_op.drop_column('next_attempt_at')
        batch_op.drop_column('attempts')

    with op.batch_alter_table('bank_transfer', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_bank_transfer_request_no'), type_='unique')
        batch_op.drop_index(batch_op.f('ix_bank_transfer_next_attempt_at'))
        batch_op.drop_column('next_attempt_at')
        batch_op.drop_column('attempts')
        batch_op.drop_column('request_no')
