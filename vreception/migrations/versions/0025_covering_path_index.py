"""province scale: the matters' path index carries what the subtree's reads ask of each matter; open matters by
state with what their readers' filter asks; active tasks by matter

Revision ID: 0025
Revises: 0024
"""
import sqlalchemy as sa
from alembic import op

revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None

# A county's dashboard, task lists and live month find its matters by path, then read each one's id, handling unit,
# state and outcome: from the heap that was a page read per matter (thousands per request at a million matters);
# carried in the index (PostgreSQL INCLUDE), an index-only scan. SQLite keeps the plain index on the path.
CARRIED = ['id', 'handling_node_id', 'state', 'outcome']
# The dashboard's capped count of each open state filters the matters by who may read them (path, hiding, owner,
# transferring office): carried in a partial index of the open matters, a province counts its 10,000 of a state from
# the index alone. Partial, so that the plans of the closed matters' lists (most of the table) stay as they were.
READERS = ['id', 'handling_path', 'hidden_from_path', 'owner_leader_id', 'transferred_from_node_id']
OPEN = sa.text("state NOT IN ('closed', 'final')")
ACTIVE = sa.text("state IN ('assigned', 'accepted', 'in_progress', 'sent_back')")


def upgrade() -> None:
    op.drop_index('ix_matters_handling_path', table_name='matters')
    op.create_index('ix_matters_handling_path', 'matters', ['handling_path'],
                    postgresql_ops={'handling_path': 'text_pattern_ops'}, postgresql_include=CARRIED)
    op.create_index('ix_matters_open_state', 'matters', ['state'], postgresql_include=READERS, postgresql_where=OPEN,
                    sqlite_where=OPEN)
    # A county's due tasks include those of its matters assigned to units elsewhere: found by matter among the few
    # active tasks, not among the millions of closed ones.
    op.create_index('ix_tasks_active_matter', 'tasks', ['matter_id'], postgresql_where=ACTIVE, sqlite_where=ACTIVE)


def downgrade() -> None:
    op.drop_index('ix_tasks_active_matter', table_name='tasks')
    op.drop_index('ix_matters_open_state', table_name='matters')
    op.drop_index('ix_matters_handling_path', table_name='matters')
    op.create_index('ix_matters_handling_path', 'matters', ['handling_path'],
                    postgresql_ops={'handling_path': 'text_pattern_ops'})
