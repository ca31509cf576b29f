"""room_status: each video room's last kiosk heartbeat and last device self-test (one row per room, written over)

Revision ID: 0016
Revises: 0015
"""
import sqlalchemy as sa
from alembic import op

from vreception.db import UTCDateTime

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'room_status',
        sa.Column('room_id', sa.Integer(), nullable=False),
        sa.Column('last_seen_at', UTCDateTime(), nullable=True),
        sa.Column('client', sa.String(length=200), nullable=False),
        sa.Column('self_test_at', UTCDateTime(), nullable=True),
        sa.Column('self_test_ok', sa.Boolean(), nullable=True),
        sa.Column('self_test_failed', sa.String(length=100), nullable=False),
        sa.Column('self_test_detail', sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(['room_id'], ['rooms.id'], name=op.f('fk_room_status_room_id_rooms'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('room_id', name=op.f('pk_room_status')),
    )
    with op.batch_alter_table('room_status', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_room_status_last_seen_at'), ['last_seen_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('room_status', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_room_status_last_seen_at'))
    op.drop_table('room_status')
