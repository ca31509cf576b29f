"""reception records: entries, signatures, confirmations

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 12:26:23.567249
"""
import sqlalchemy as sa
from alembic import op

import vreception.db

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('reception_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('matter_id', sa.Integer(), nullable=False),
    sa.Column('created_at', vreception.db.UTCDateTime(), nullable=False),
    sa.Column('frozen_at', vreception.db.UTCDateTime(), nullable=True),
    sa.Column('leader_confirmed_at', vreception.db.UTCDateTime(), nullable=True),
    sa.Column('leader_confirmed_by', sa.Integer(), nullable=True),
    sa.Column('recorder_confirmed_at', vreception.db.UTCDateTime(), nullable=True),
    sa.Column('recorder_confirmed_by', sa.Integer(), nullable=True),
    sa.Column('document_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_reception_records_document_id_documents'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['leader_confirmed_by'], ['people.id'], name=op.f('fk_reception_records_leader_confirmed_by_people'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['matter_id'], ['matters.id'], name=op.f('fk_reception_records_matter_id_matters'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['recorder_confirmed_by'], ['people.id'], name=op.f('fk_reception_records_recorder_confirmed_by_people'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], name=op.f('fk_reception_records_session_id_sessions'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reception_records')),
    sa.UniqueConstraint('session_id', name=op.f('uq_reception_records_session_id'))
    )
    with op.batch_alter_table('reception_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reception_records_matter_id'), ['matter_id'], unique=False)

    op.create_table('record_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('at', vreception.db.UTCDateTime(), nullable=False),
    sa.Column('offset_s', sa.Float(), nullable=True),
    sa.Column('recording_id', sa.Integer(), nullable=True),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['people.id'], name=op.f('fk_record_entries_author_id_people'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['record_id'], ['reception_records.id'], name=op.f('fk_record_entries_record_id_reception_records'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['recording_id'], ['recordings.id'], name=op.f('fk_record_entries_recording_id_recordings'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_record_entries'))
    )
    with op.batch_alter_table('record_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_record_entries_record_id'), ['record_id'], unique=False)

    op.create_table('record_signatures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('participant_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('at', vreception.db.UTCDateTime(), nullable=False),
    sa.Column('refused', sa.Boolean(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('png', sa.LargeBinary(), nullable=True),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('taken_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['participant_id'], ['participants.id'], name=op.f('fk_record_signatures_participant_id_participants'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['record_id'], ['reception_records.id'], name=op.f('fk_record_signatures_record_id_reception_records'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['taken_by'], ['people.id'], name=op.f('fk_record_signatures_taken_by_people'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_record_signatures')),
    sa.UniqueConstraint('record_id', 'participant_id', name=op.f('uq_record_signatures_record_id_participant_id'))
    )
    with op.batch_alter_table('record_signatures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_record_signatures_record_id'), ['record_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('record_signatures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_record_signatures_record_id'))

    op.drop_table('record_signatures')
    with op.batch_alter_table('record_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_record_entries_record_id'))

    op.drop_table('record_entries')
    with op.batch_alter_table('reception_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reception_records_matter_id'))

    op.drop_table('reception_records')
