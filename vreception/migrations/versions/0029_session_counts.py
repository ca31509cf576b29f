"""session counts: the video receptions of ended months per leader and node path by outcome, with their stored
months and stale marks

Revision ID: 0029
Revises: 0028
"""
import sqlalchemy as sa
from alembic import op

revision = '0029'
down_revision = '0028'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'session_counts',
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('leader_id', sa.Integer(), nullable=False),
        sa.Column('node_path', sa.String(length=255), nullable=False),
        sa.Column('held', sa.Integer(), nullable=False),
        sa.Column('persons', sa.Integer(), nullable=False),
        sa.Column('no_show', sa.Integer(), nullable=False),
        sa.Column('cancelled', sa.Integer(), nullable=False),
        sa.Column('pending', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('month', 'leader_id', 'node_path', name=op.f('pk_session_counts')),
    )
    op.create_table(
        'session_months',
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('computed_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('month', name=op.f('pk_session_months')),
    )
    op.create_table(
        'stale_session_months',
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('marked_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('month', name=op.f('pk_stale_session_months')),
    )


def downgrade() -> None:
    op.drop_table('stale_session_months')
    op.drop_table('session_months')
    op.drop_table('session_counts')
