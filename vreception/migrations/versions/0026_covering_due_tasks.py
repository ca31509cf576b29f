"""province scale: the active tasks' due-time index carries what a dashboard's due-task count and list ask of each
task; the registration-time, demand and session start-time indexes what the statistics page counts

Revision ID: 0026
Revises: 0025
"""
import sqlalchemy as sa
from alembic import op

revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None

# A province's dashboard counts its overdue and due-soon tasks (up to 10,000 each) along the due-time index of the
# active tasks, and checks each one's unit path (its matter's path only when the unit is elsewhere): from the heap that
# was a page read per task (85 ms for 8,800 at a million matters); carried in the index (PostgreSQL INCLUDE), an
# index-only scan. SQLite keeps the plain partial index.
CARRIED = ['id', 'unit_path', 'matter_id']
# The statistics page counts a range's matters by unit and channel and by demand category, and a year of sessions held
# by month: each a heap page per row before (a month of a province is 40,000 matters mid-month); index-only with these.
REGISTERED = ['id', 'handling_node_id', 'handling_path', 'channel']
SESSION = ['state', 'node_path']
ACTIVE = sa.text("state IN ('assigned', 'accepted', 'in_progress', 'sent_back')")

_CARRYING = (('ix_matters_registered_at', 'matters', 'registered_at', REGISTERED),
             ('ix_demands_matter_id', 'demands', 'matter_id', ['category']),
             ('ix_sessions_starts_at', 'sessions', 'starts_at', SESSION))


def upgrade() -> None:
    op.drop_index('ix_tasks_active_due', table_name='tasks')
    op.create_index('ix_tasks_active_due', 'tasks', ['due_at'], postgresql_include=CARRIED, postgresql_where=ACTIVE,
                    sqlite_where=ACTIVE)
    for name, table, column, carried in _CARRYING:
        op.drop_index(name, table_name=table)
        op.create_index(name, table, [column], postgresql_include=carried)


def downgrade() -> None:
    op.drop_index('ix_tasks_active_due', table_name='tasks')
    op.create_index('ix_tasks_active_due', 'tasks', ['due_at'], postgresql_where=ACTIVE, sqlite_where=ACTIVE)
    for name, table, column, _ in _CARRYING:
        op.drop_index(name, table_name=table)
        op.create_index(name, table, [column])
