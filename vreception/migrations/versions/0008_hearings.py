"""hearings: decision, panel, recusals, agenda, roster

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

import vreception.db

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('hearing_roster',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('node_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('profession', sa.String(length=100), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('added_at', vreception.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['node_id'], ['nodes.id'], name=op.f('fk_hearing_roster_node_id_nodes'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_hearing_roster_person_id_people'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hearing_roster')),
    sa.UniqueConstraint('node_id', 'person_id', name=op.f('uq_hearing_roster_node_id_person_id'))
    )
    with op.batch_alter_table('hearing_roster', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hearing_roster_node_id'), ['node_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_hearing_roster_person_id'), ['person_id'], unique=False)

    op.create_table('hearings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('matter_id', sa.Integer(), nullable=False),
    sa.Column('node_id', sa.Integer(), nullable=False),
    sa.Column('stage', sa.Enum('handling', 'recheck', name='hearingstage', native_enum=False, length=16), nullable=False),
    sa.Column('state', sa.Enum('requested', 'refused', 'decided', 'noticed', 'in_session', 'held', 'concluded', 'cancelled', name='hearingstate', native_enum=False, length=16), nullable=False),
    sa.Column('requested_at', vreception.db.UTCDateTime(), nullable=False),
    sa.Column('requested_by_petitioner', sa.Boolean(), nullable=False),
    sa.Column('request_reason', sa.Text(), nullable=False),
    sa.Column('proposed_by', sa.Integer(), nullable=True),
    sa.Column('decision_due', sa.Date(), nullable=False),
    sa.Column('decided_at', vreception.db.UTCDateTime(), nullable=True),
    sa.Column('decided_by', sa.Integer(), nullable=True),
    sa.Column('decision_reason', sa.Text(), nullable=False),
    sa.Column('decision_document_id', sa.Integer(), nullable=True),
    sa.Column('public', sa.Boolean(), nullable=False),
    sa.Column('closed_reason', sa.Enum('state_secret', 'trade_secret', 'privacy', name='closedreason', native_enum=False, length=16), nullable=True),
    sa.Column('chair_id', sa.Integer(), nullable=True),
    sa.Column('recorder_id', sa.Integer(), nullable=True),
    sa.Column('session_id', sa.Integer(), nullable=True),
    sa.Column('notice_waived', sa.Boolean(), nullable=False),
    sa.Column('waiver_note', sa.Text(), nullable=False),
    sa.Column('noticed_at', vreception.db.UTCDateTime(), nullable=True),
    sa.Column('started_at', vreception.db.UTCDateTime(), nullable=True),
    sa.Column('ended_at', vreception.db.UTCDateTime(), nullable=True),
    sa.Column('excluded_days', sa.Integer(), nullable=False),
    sa.Column('agenda_step', sa.Enum('opening', 'petitioner_states', 'handler_answers', 'cross_examination', 'final_statements', 'deliberation', 'conclusion', name='agendastep', native_enum=False, length=24), nullable=True),
    sa.Column('conclusion_due', sa.Date(), nullable=True),
    sa.Column('conclusion_document_id', sa.Integer(), nullable=True),
    sa.Column('published_at', vreception.db.UTCDateTime(), nullable=True),
    sa.Column('gallery_key', sa.String(length=64), nullable=True),
    sa.Column('created_at', vreception.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['chair_id'], ['people.id'], name=op.f('fk_hearings_chair_id_people'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['conclusion_document_id'], ['documents.id'], name=op.f('fk_hearings_conclusion_document_id_documents'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['decided_by'], ['people.id'], name=op.f('fk_hearings_decided_by_people'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['decision_document_id'], ['documents.id'], name=op.f('fk_hearings_decision_document_id_documents'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['matter_id'], ['matters.id'], name=op.f('fk_hearings_matter_id_matters'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['node_id'], ['nodes.id'], name=op.f('fk_hearings_node_id_nodes'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['proposed_by'], ['people.id'], name=op.f('fk_hearings_proposed_by_people'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['recorder_id'], ['people.id'], name=op.f('fk_hearings_recorder_id_people'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], name=op.f('fk_hearings_session_id_sessions'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hearings')),
    sa.UniqueConstraint('gallery_key', name=op.f('uq_hearings_gallery_key')),
    sa.UniqueConstraint('session_id', name=op.f('uq_hearings_session_id'))
    )
    with op.batch_alter_table('hearings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hearings_matter_id'), ['matter_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_hearings_node_id'), ['node_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_hearings_state'), ['state'], unique=False)

    op.create_table('hearing_agenda',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hearing_id', sa.Integer(), nullable=False),
    sa.Column('step', sa.Enum('opening', 'petitioner_states', 'handler_answers', 'cross_examination', 'final_statements', 'deliberation', 'conclusion', name='agendastep', native_enum=False, length=24), nullable=False),
    sa.Column('at', vreception.db.UTCDateTime(), nullable=False),
    sa.Column('offset_s', sa.Float(), nullable=True),
    sa.Column('by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['by'], ['people.id'], name=op.f('fk_hearing_agenda_by_people'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['hearing_id'], ['hearings.id'], name=op.f('fk_hearing_agenda_hearing_id_hearings'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hearing_agenda'))
    )
    with op.batch_alter_table('hearing_agenda', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hearing_agenda_hearing_id'), ['hearing_id'], unique=False)

    op.create_table('hearing_panel',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hearing_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('chosen_by_petitioner', sa.Boolean(), nullable=False),
    sa.Column('opinion', sa.Text(), nullable=False),
    sa.Column('opinion_at', vreception.db.UTCDateTime(), nullable=True),
    sa.Column('withdrawn', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['hearing_id'], ['hearings.id'], name=op.f('fk_hearing_panel_hearing_id_hearings'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_hearing_panel_person_id_people'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hearing_panel')),
    sa.UniqueConstraint('hearing_id', 'person_id', name=op.f('uq_hearing_panel_hearing_id_person_id'))
    )
    with op.batch_alter_table('hearing_panel', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hearing_panel_hearing_id'), ['hearing_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_hearing_panel_person_id'), ['person_id'], unique=False)

    op.create_table('hearing_recusals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hearing_id', sa.Integer(), nullable=False),
    sa.Column('against_id', sa.Integer(), nullable=False),
    sa.Column('requested_by', sa.String(length=100), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('requested_at', vreception.db.UTCDateTime(), nullable=False),
    sa.Column('granted', sa.Boolean(), nullable=True),
    sa.Column('decision_reason', sa.Text(), nullable=False),
    sa.Column('decided_by', sa.Integer(), nullable=True),
    sa.Column('decided_at', vreception.db.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['against_id'], ['people.id'], name=op.f('fk_hearing_recusals_against_id_people'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['decided_by'], ['people.id'], name=op.f('fk_hearing_recusals_decided_by_people'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['hearing_id'], ['hearings.id'], name=op.f('fk_hearing_recusals_hearing_id_hearings'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hearing_recusals'))
    )
    with op.batch_alter_table('hearing_recusals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hearing_recusals_hearing_id'), ['hearing_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('hearing_recusals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hearing_recusals_hearing_id'))

    op.drop_table('hearing_recusals')
    with op.batch_alter_table('hearing_panel', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hearing_panel_person_id'))
        batch_op.drop_index(batch_op.f('ix_hearing_panel_hearing_id'))

    op.drop_table('hearing_panel')
    with op.batch_alter_table('hearing_agenda', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hearing_agenda_hearing_id'))

    op.drop_table('hearing_agenda')
    with op.batch_alter_table('hearings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hearings_state'))
        batch_op.drop_index(batch_op.f('ix_hearings_node_id'))
        batch_op.drop_index(batch_op.f('ix_hearings_matter_id'))

    op.drop_table('hearings')
    with op.batch_alter_table('hearing_roster', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hearing_roster_person_id'))
        batch_op.drop_index(batch_op.f('ix_hearing_roster_node_id'))

    op.drop_table('hearing_roster')
