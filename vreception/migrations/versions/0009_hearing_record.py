"""hearing record: confirmations and refusals of staff with their accounts

Revision ID: 0009
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

import vreception.db

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('record_confirmations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('at', vreception.db.UTCDateTime(), nullable=False),
    sa.Column('refused', sa.Boolean(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_record_confirmations_person_id_people'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['record_id'], ['reception_records.id'], name=op.f('fk_record_confirmations_record_id_reception_records'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_record_confirmations')),
    sa.UniqueConstraint('record_id', 'person_id', 'role', name=op.f('uq_record_confirmations_record_id_person_id_role'))
    )
    with op.batch_alter_table('record_confirmations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_record_confirmations_record_id'), ['record_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('record_confirmations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_record_confirmations_record_id'))

    op.drop_table('record_confirmations')
