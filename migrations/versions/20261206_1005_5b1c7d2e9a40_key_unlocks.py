"""keys locked by wrong user PINs, mailed in and unlocked at the station: received (who, when),
unlocked there by the agent with new PINs held sealed while it is open; one open unlock per key

Revision ID: 5b1c7d2e9a40
Revises: 782c284163ee
Create Date: 2026-12-06 10:05:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5b1c7d2e9a40'
down_revision = '782c284163ee'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('key_unlock',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=20), nullable=False),
    sa.Column('token_id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('station_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('queued', 'running', 'failed', 'done', name='unlockstatus', native_enum=False, length=12), nullable=False),
    sa.Column('received_by_id', sa.Integer(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('user_pin', sa.LargeBinary(), nullable=True),
    sa.Column('so_pin', sa.LargeBinary(), nullable=True),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('taken_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('error', sa.String(length=40), nullable=True),
    sa.Column('message', sa.String(length=255), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['order.id'], name=op.f('fk_key_unlock_order_id_order')),
    sa.ForeignKeyConstraint(['received_by_id'], ['staff.id'], name=op.f('fk_key_unlock_received_by_id_staff')),
    sa.ForeignKeyConstraint(['station_id'], ['station.id'], name=op.f('fk_key_unlock_station_id_station')),
    sa.ForeignKeyConstraint(['token_id'], ['token.id'], name=op.f('fk_key_unlock_token_id_token')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_key_unlock')),
    sa.UniqueConstraint('public_id', name=op.f('uq_key_unlock_public_id'))
    )
    with op.batch_alter_table('key_unlock', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_key_unlock_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_key_unlock_station_id'), ['station_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_key_unlock_status'), ['status'], unique=False)
        batch_op.create_index('uq_key_unlock_token_open', ['token_id'], unique=True, sqlite_where=sa.text("status != 'done'"), postgresql_where=sa.text("status != 'done'"))


def downgrade():
    with op.batch_alter_table('key_unlock', schema=None) as batch_op:
        batch_op.drop_index('uq_key_unlock_token_open', sqlite_where=sa.text("status != 'done'"), postgresql_where=sa.text("status != 'done'"))
        batch_op.drop_index(batch_op.f('ix_key_unlock_status'))
        batch_op.drop_index(batch_op.f('ix_key_unlock_station_id'))
        batch_op.drop_index(batch_op.f('ix_key_unlock_order_id'))

    op.drop_table('key_unlock')
