"""SMS delivery receipts: room for every part's SMSC message id, and the parts reported delivered

Revision ID: 0024
Revises: 0023
"""
import sqlalchemy as sa
from alembic import op

revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None

QUEUED = sa.text("state = 'queued'")


# SQLite rebuilds the table for a type change: the partial due index is dropped and made again by hand, so it keeps
# its WHERE (a rebuild from reflection might not).
def _drop_due_index() -> None:
    op.drop_index('ix_sms_messages_due', table_name='sms_messages')


def _create_due_index() -> None:
    op.create_index('ix_sms_messages_due', 'sms_messages', ['next_attempt_at'], postgresql_where=QUEUED,
                    sqlite_where=QUEUED)


def upgrade() -> None:
    _drop_due_index()
    with op.batch_alter_table('sms_messages', schema=None) as batch_op:
        # An SMSC message id is up to 65 characters, and a long message has one per part, comma-joined.
        batch_op.alter_column('gateway_id', existing_type=sa.String(length=100), type_=sa.String(length=1000),
                              existing_nullable=False)
        batch_op.add_column(sa.Column('delivered_parts', sa.String(length=1000), nullable=False, server_default=''))
    _create_due_index()


def downgrade() -> None:
    op.execute("UPDATE sms_messages SET gateway_id = substr(gateway_id, 1, 100)")
    _drop_due_index()
    with op.batch_alter_table('sms_messages', schema=None) as batch_op:
        batch_op.drop_column('delivered_parts')
        batch_op.alter_column('gateway_id', existing_type=sa.String(length=1000), type_=sa.String(length=100),
                              existing_nullable=False)
    _create_due_index()
