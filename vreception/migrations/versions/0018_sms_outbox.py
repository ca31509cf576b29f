"""SMS outbox: messages to petitioners' phones and the numbers that opted out

Revision ID: 0018
Revises: 0017
"""
import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

QUEUED = sa.text("state = 'queued'")


def upgrade() -> None:
    op.create_table(
        'sms_messages',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('matter_id', sa.Integer(), nullable=True),
        sa.Column('session_id', sa.Integer(), nullable=True),
        sa.Column('petitioner_id', sa.Integer(), nullable=True),
        sa.Column('phone_cipher', sa.String(length=200), nullable=False),
        sa.Column('phone_tail', sa.String(length=4), nullable=False),
        sa.Column('template', sa.String(length=40), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('text_cipher', sa.Text(), nullable=False),
        sa.Column('parts', sa.Integer(), nullable=False),
        sa.Column('state', sa.Enum('queued', 'sending', 'sent', 'delivered', 'failed', 'cancelled',
                                   name='smsstate', native_enum=False, length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(), nullable=False),
        sa.Column('gateway', sa.String(length=16), nullable=False),
        sa.Column('gateway_id', sa.String(length=100), nullable=False),
        sa.Column('error', sa.String(length=500), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('sending_at', sa.DateTime(), nullable=True),
        sa.Column('sent_at', sa.DateTime(), nullable=True),
        sa.Column('delivered_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['matter_id'], ['matters.id'], ondelete='RESTRICT'),
        sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], ondelete='RESTRICT'),
        sa.ForeignKeyConstraint(['petitioner_id'], ['petitioners.id'], ondelete='RESTRICT'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_sms_messages_matter_id', 'sms_messages', ['matter_id'])
    op.create_index('ix_sms_messages_state', 'sms_messages', ['state'])
    op.create_index('ix_sms_messages_due', 'sms_messages', ['next_attempt_at'], postgresql_where=QUEUED,
                    sqlite_where=QUEUED)
    op.create_table(
        'sms_opt_outs',
        sa.Column('phone_hash', sa.String(length=64), nullable=False),
        sa.Column('phone_cipher', sa.String(length=200), nullable=False),
        sa.Column('phone_tail', sa.String(length=4), nullable=False),
        sa.Column('reason', sa.String(length=200), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('created_by', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['created_by'], ['people.id'], ondelete='RESTRICT'),
        sa.PrimaryKeyConstraint('phone_hash'),
    )


def downgrade() -> None:
    op.drop_table('sms_opt_outs')
    op.drop_index('ix_sms_messages_due', table_name='sms_messages')
    op.drop_index('ix_sms_messages_state', table_name='sms_messages')
    op.drop_index('ix_sms_messages_matter_id', table_name='sms_messages')
    op.drop_table('sms_messages')
