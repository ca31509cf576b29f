"""recordings: recordings of sessions and their hashed segments

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 19:31:45.755323
"""
import sqlalchemy as sa
from alembic import op

import vreception.db

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('recordings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.Enum('recording', 'finalised', 'failed', 'purged', name='recordingstate', native_enum=False, length=16), nullable=False),
    sa.Column('storage', sa.String(length=16), nullable=False),
    sa.Column('prefix', sa.String(length=255), nullable=False),
    sa.Column('started_at', vreception.db.UTCDateTime(), nullable=False),
    sa.Column('ended_at', vreception.db.UTCDateTime(), nullable=True),
    sa.Column('duration_s', sa.Float(), nullable=True),
    sa.Column('bytes', sa.BigInteger(), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('container', sa.String(length=16), nullable=True),
    sa.Column('media_key', sa.String(length=255), nullable=True),
    sa.Column('manifest_key', sa.String(length=255), nullable=True),
    sa.Column('manifest', sa.Text(), nullable=True),
    sa.Column('manifest_sha256', sa.String(length=64), nullable=True),
    sa.Column('error', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], name=op.f('fk_recordings_session_id_sessions'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recordings'))
    )
    with op.batch_alter_table('recordings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recordings_session_id'), ['session_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_recordings_state'), ['state'], unique=False)

    op.create_table('recording_segments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('recording_id', sa.Integer(), nullable=False),
    sa.Column('index', sa.Integer(), nullable=False),
    sa.Column('participant_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('container', sa.String(length=16), nullable=False),
    sa.Column('codecs', sa.String(length=64), nullable=False),
    sa.Column('bytes', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('duration_s', sa.Float(), nullable=False),
    sa.Column('started_at', vreception.db.UTCDateTime(), nullable=False),
    sa.Column('ended_at', vreception.db.UTCDateTime(), nullable=False),
    sa.Column('gap_before_s', sa.Float(), nullable=True),
    sa.Column('gap_reason', sa.String(length=32), nullable=True),
    sa.Column('gaps', sa.Text(), nullable=False),
    sa.Column('finalised', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['participant_id'], ['participants.id'], name=op.f('fk_recording_segments_participant_id_participants'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['recording_id'], ['recordings.id'], name=op.f('fk_recording_segments_recording_id_recordings'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recording_segments')),
    sa.UniqueConstraint('recording_id', 'index', name=op.f('uq_recording_segments_recording_id_index'))
    )
    with op.batch_alter_table('recording_segments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recording_segments_participant_id'), ['participant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_recording_segments_recording_id'), ['recording_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('recording_segments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recording_segments_recording_id'))
        batch_op.drop_index(batch_op.f('ix_recording_segments_participant_id'))

    op.drop_table('recording_segments')
    with op.batch_alter_table('recordings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recordings_state'))
        batch_op.drop_index(batch_op.f('ix_recordings_session_id'))

    op.drop_table('recordings')
