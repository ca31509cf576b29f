"""working-day calendar, matters, documents, tasks, notifications

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

import vreception.db

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email', sa.String(length=200), nullable=False, server_default=''))
    op.create_table('counters',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scope', sa.String(length=64), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_counters')),
    sa.UniqueConstraint('scope', 'year', name=op.f('uq_counters_scope_year'))
    )
    op.create_table('petitioners',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('id_hash', sa.String(length=64), nullable=False),
    sa.Column('id_cipher', sa.String(length=200), nullable=False),
    sa.Column('id_tail', sa.String(length=4), nullable=False),
    sa.Column('phone_cipher', sa.String(length=200), nullable=False),
    sa.Column('phone_tail', sa.String(length=4), nullable=False),
    sa.Column('created_at', vreception.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_petitioners')),
    sa.UniqueConstraint('id_hash', name=op.f('uq_petitioners_id_hash'))
    )
    op.create_table('calendar_years',
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('source', sa.String(length=200), nullable=False),
    sa.Column('loaded_at', vreception.db.UTCDateTime(), nullable=False),
    sa.Column('loaded_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['loaded_by'], ['people.id'], name=op.f('fk_calendar_years_loaded_by_people'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('year', name=op.f('pk_calendar_years'))
    )
    op.create_table('matters',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('query_code_hash', sa.String(length=64), nullable=False),
    sa.Column('origin_node_id', sa.Integer(), nullable=False),
    sa.Column('handling_node_id', sa.Integer(), nullable=False),
    sa.Column('handling_path', sa.String(length=255), nullable=False),
    sa.Column('channel', sa.Enum('video', 'visit', 'letter', 'online', 'phone', name='channel', native_enum=False, length=16), nullable=False),
    sa.Column('state', sa.Enum('registered', 'assigned', 'accepted', 'replied', 'served', 'review_requested', 'review_replied', 'review_served', 'recheck_requested', 'hearing', 'recheck_replied', 'final', 'closed', name='matterstate', native_enum=False, length=24), nullable=False),
    sa.Column('outcome', sa.String(length=32), nullable=True),
    sa.Column('is_group', sa.Boolean(), nullable=False),
    sa.Column('possible_repeat', sa.Boolean(), nullable=False),
    sa.Column('owner_leader_id', sa.Integer(), nullable=True),
    sa.Column('extended', sa.Boolean(), nullable=False),
    sa.Column('hearing_started_at', vreception.db.UTCDateTime(), nullable=True),
    sa.Column('hearing_days', sa.Integer(), nullable=False),
    sa.Column('rating', sa.String(length=24), nullable=True),
    sa.Column('received_at', vreception.db.UTCDateTime(), nullable=False),
    sa.Column('registered_at', vreception.db.UTCDateTime(), nullable=False),
    sa.Column('registered_by', sa.Integer(), nullable=True),
    sa.Column('decided_at', vreception.db.UTCDateTime(), nullable=True),
    sa.Column('accepted_at', vreception.db.UTCDateTime(), nullable=True),
    sa.Column('replied_at', vreception.db.UTCDateTime(), nullable=True),
    sa.Column('served_at', vreception.db.UTCDateTime(), nullable=True),
    sa.Column('rated_at', vreception.db.UTCDateTime(), nullable=True),
    sa.Column('review_requested_at', vreception.db.UTCDateTime(), nullable=True),
    sa.Column('closed_at', vreception.db.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['handling_node_id'], ['nodes.id'], name=op.f('fk_matters_handling_node_id_nodes'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['origin_node_id'], ['nodes.id'], name=op.f('fk_matters_origin_node_id_nodes'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['owner_leader_id'], ['people.id'], name=op.f('fk_matters_owner_leader_id_people'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['registered_by'], ['people.id'], name=op.f('fk_matters_registered_by_people'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_matters')),
    sa.UniqueConstraint('number', name=op.f('uq_matters_number'))
    )
    with op.batch_alter_table('matters', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_matters_handling_node_id'), ['handling_node_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_matters_handling_path'), ['handling_path'], unique=False)
        batch_op.create_index(batch_op.f('ix_matters_state'), ['state'], unique=False)

    op.create_table('notifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('subject_type', sa.String(length=32), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('stage', sa.String(length=32), nullable=False),
    sa.Column('node_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', vreception.db.UTCDateTime(), nullable=False),
    sa.Column('read_at', vreception.db.UTCDateTime(), nullable=True),
    sa.Column('email_to', sa.String(length=200), nullable=False),
    sa.Column('emailed_at', vreception.db.UTCDateTime(), nullable=True),
    sa.Column('email_attempts', sa.Integer(), nullable=False),
    sa.Column('email_error', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['node_id'], ['nodes.id'], name=op.f('fk_notifications_node_id_nodes'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_notifications_person_id_people'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications')),
    sa.UniqueConstraint('subject_type', 'subject_id', 'stage', 'node_id', name=op.f('uq_notifications_subject_type_subject_id_stage_node_id'))
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index('ix_notifications_email', ['emailed_at', 'email_to'], unique=False)
        batch_op.create_index(batch_op.f('ix_notifications_node_id'), ['node_id'], unique=False)

    op.create_table('calendar_days',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('is_workday', sa.Boolean(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['year'], ['calendar_years.year'], name=op.f('fk_calendar_days_year_calendar_years'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('day', name=op.f('pk_calendar_days'))
    )
    with op.batch_alter_table('calendar_days', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_calendar_days_year'), ['year'], unique=False)

    op.create_table('deadlines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('matter_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('start_day', sa.Date(), nullable=False),
    sa.Column('due_day', sa.Date(), nullable=False),
    sa.Column('provisional', sa.Boolean(), nullable=False),
    sa.Column('extra_days', sa.Integer(), nullable=False),
    sa.Column('state', sa.Enum('open', 'met', 'missed', 'cancelled', name='deadlinestate', native_enum=False, length=16), nullable=False),
    sa.Column('done_at', vreception.db.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['matter_id'], ['matters.id'], name=op.f('fk_deadlines_matter_id_matters'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deadlines'))
    )
    with op.batch_alter_table('deadlines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_deadlines_due_day'), ['due_day'], unique=False)
        batch_op.create_index('ix_deadlines_kind_due', ['kind', 'due_day'], unique=False)
        batch_op.create_index(batch_op.f('ix_deadlines_matter_id'), ['matter_id'], unique=False)

    op.create_table('demands',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('matter_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('legal_channel', sa.String(length=32), nullable=True),
    sa.ForeignKeyConstraint(['matter_id'], ['matters.id'], name=op.f('fk_demands_matter_id_matters'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_demands'))
    )
    with op.batch_alter_table('demands', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_demands_matter_id'), ['matter_id'], unique=False)

    op.create_table('documents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('matter_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('number', sa.String(length=64), nullable=False),
    sa.Column('issued_at', vreception.db.UTCDateTime(), nullable=False),
    sa.Column('issued_by', sa.Integer(), nullable=True),
    sa.Column('html', sa.Text(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('served_at', vreception.db.UTCDateTime(), nullable=True),
    sa.Column('served_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['issued_by'], ['people.id'], name=op.f('fk_documents_issued_by_people'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['matter_id'], ['matters.id'], name=op.f('fk_documents_matter_id_matters'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['served_by'], ['people.id'], name=op.f('fk_documents_served_by_people'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_documents')),
    sa.UniqueConstraint('number', name=op.f('uq_documents_number'))
    )
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_documents_matter_id'), ['matter_id'], unique=False)

    op.create_table('matter_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('matter_id', sa.Integer(), nullable=False),
    sa.Column('at', vreception.db.UTCDateTime(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('from_state', sa.String(length=24), nullable=True),
    sa.Column('to_state', sa.String(length=24), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('data', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['people.id'], name=op.f('fk_matter_events_actor_id_people'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['matter_id'], ['matters.id'], name=op.f('fk_matter_events_matter_id_matters'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_matter_events'))
    )
    with op.batch_alter_table('matter_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_matter_events_matter_id'), ['matter_id'], unique=False)

    op.create_table('matter_petitioners',
    sa.Column('matter_id', sa.Integer(), nullable=False),
    sa.Column('petitioner_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('representative', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['matter_id'], ['matters.id'], name=op.f('fk_matter_petitioners_matter_id_matters'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['petitioner_id'], ['petitioners.id'], name=op.f('fk_matter_petitioners_petitioner_id_petitioners'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('matter_id', 'petitioner_id', name=op.f('pk_matter_petitioners'))
    )
    with op.batch_alter_table('matter_petitioners', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_matter_petitioners_petitioner_id'), ['petitioner_id'], unique=False)

    op.create_table('repeat_links',
    sa.Column('matter_id', sa.Integer(), nullable=False),
    sa.Column('earlier_id', sa.Integer(), nullable=False),
    sa.Column('similarity', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['earlier_id'], ['matters.id'], name=op.f('fk_repeat_links_earlier_id_matters'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['matter_id'], ['matters.id'], name=op.f('fk_repeat_links_matter_id_matters'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('matter_id', 'earlier_id', name=op.f('pk_repeat_links'))
    )
    op.create_table('tasks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('matter_id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=True),
    sa.Column('unit_node_id', sa.Integer(), nullable=False),
    sa.Column('unit_path', sa.String(length=255), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('due_at', vreception.db.UTCDateTime(), nullable=False),
    sa.Column('state', sa.Enum('assigned', 'accepted', 'in_progress', 'reported', 'verified', 'sent_back', 'closed', name='taskstate', native_enum=False, length=16), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', vreception.db.UTCDateTime(), nullable=False),
    sa.Column('feedback', sa.Text(), nullable=False),
    sa.Column('reported_at', vreception.db.UTCDateTime(), nullable=True),
    sa.Column('verified_at', vreception.db.UTCDateTime(), nullable=True),
    sa.Column('closed_at', vreception.db.UTCDateTime(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['people.id'], name=op.f('fk_tasks_created_by_people'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['matter_id'], ['matters.id'], name=op.f('fk_tasks_matter_id_matters'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['unit_node_id'], ['nodes.id'], name=op.f('fk_tasks_unit_node_id_nodes'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tasks'))
    )
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tasks_due_at'), ['due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_tasks_matter_id'), ['matter_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_tasks_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_tasks_unit_node_id'), ['unit_node_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_tasks_unit_path'), ['unit_path'], unique=False)

    op.create_table('attachments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('bytes', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('storage_key', sa.String(length=200), nullable=False),
    sa.Column('uploaded_by', sa.Integer(), nullable=True),
    sa.Column('uploaded_at', vreception.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_attachments_task_id_tasks'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['uploaded_by'], ['people.id'], name=op.f('fk_attachments_uploaded_by_people'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attachments'))
    )
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attachments_task_id'), ['task_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.drop_column('email')
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attachments_task_id'))

    op.drop_table('attachments')
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tasks_unit_path'))
        batch_op.drop_index(batch_op.f('ix_tasks_unit_node_id'))
        batch_op.drop_index(batch_op.f('ix_tasks_state'))
        batch_op.drop_index(batch_op.f('ix_tasks_matter_id'))
        batch_op.drop_index(batch_op.f('ix_tasks_due_at'))

    op.drop_table('tasks')
    op.drop_table('repeat_links')
    with op.batch_alter_table('matter_petitioners', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_matter_petitioners_petitioner_id'))

    op.drop_table('matter_petitioners')
    with op.batch_alter_table('matter_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_matter_events_matter_id'))

    op.drop_table('matter_events')
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_documents_matter_id'))

    op.drop_table('documents')
    with op.batch_alter_table('demands', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_demands_matter_id'))

    op.drop_table('demands')
    with op.batch_alter_table('deadlines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deadlines_matter_id'))
        batch_op.drop_index('ix_deadlines_kind_due')
        batch_op.drop_index(batch_op.f('ix_deadlines_due_day'))

    op.drop_table('deadlines')
    with op.batch_alter_table('calendar_days', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_calendar_days_year'))

    op.drop_table('calendar_days')
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notifications_node_id'))
        batch_op.drop_index('ix_notifications_email')

    op.drop_table('notifications')
    with op.batch_alter_table('matters', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_matters_state'))
        batch_op.drop_index(batch_op.f('ix_matters_handling_path'))
        batch_op.drop_index(batch_op.f('ix_matters_handling_node_id'))

    op.drop_table('matters')
    op.drop_table('calendar_years')
    op.drop_table('petitioners')
    op.drop_table('counters')
