"""province scale: pattern indexes for subtree filters, month bounds of the figures, active-task partial indexes

Revision ID: 0017
Revises: 0016
"""
import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

ACTIVE = sa.text("state IN ('assigned', 'accepted', 'in_progress', 'sent_back')")
OPEN = sa.text("state = 'open'")


def upgrade() -> None:
    # A plain btree serves LIKE 'prefix%' only under the C collation; the pattern operator class under any.
    op.drop_index('ix_matters_handling_path', table_name='matters')
    op.create_index('ix_matters_handling_path', 'matters', ['handling_path'],
                    postgresql_ops={'handling_path': 'text_pattern_ops'})
    op.drop_index('ix_tasks_unit_path', table_name='tasks')
    op.create_index('ix_tasks_unit_path', 'tasks', ['unit_path'], postgresql_ops={'unit_path': 'text_pattern_ops'})
    op.create_index('ix_participants_node_path', 'participants', ['node_path'],
                    postgresql_ops={'node_path': 'text_pattern_ops'})
    for column in ('owner_leader_id', 'registered_at', 'rated_at', 'served_at', 'transferred_from_node_id'):
        op.create_index(f'ix_matters_{column}', 'matters', [column])
    op.create_index('ix_repeat_links_earlier_id', 'repeat_links', ['earlier_id'])
    op.create_index('ix_matters_received_at_id', 'matters', ['received_at', 'id'])
    op.create_index('ix_deadlines_open_due', 'deadlines', ['due_day'], postgresql_where=OPEN, sqlite_where=OPEN)
    op.create_index('ix_tasks_active_due', 'tasks', ['due_at'], postgresql_where=ACTIVE, sqlite_where=ACTIVE)
    op.create_index('ix_tasks_active_unit', 'tasks', ['unit_path', 'due_at'],
                    postgresql_ops={'unit_path': 'text_pattern_ops'}, postgresql_where=ACTIVE, sqlite_where=ACTIVE)


def downgrade() -> None:
    for name, table in (('ix_tasks_active_unit', 'tasks'), ('ix_tasks_active_due', 'tasks'),
                        ('ix_deadlines_open_due', 'deadlines'), ('ix_repeat_links_earlier_id', 'repeat_links'),
                        ('ix_participants_node_path', 'participants'), ('ix_matters_received_at_id', 'matters')):
        op.drop_index(name, table_name=table)
    for column in ('owner_leader_id', 'registered_at', 'rated_at', 'served_at', 'transferred_from_node_id'):
        op.drop_index(f'ix_matters_{column}', table_name='matters')
    op.drop_index('ix_tasks_unit_path', table_name='tasks')
    op.create_index('ix_tasks_unit_path', 'tasks', ['unit_path'])
    op.drop_index('ix_matters_handling_path', table_name='matters')
    op.create_index('ix_matters_handling_path', 'matters', ['handling_path'])
