"""registration counts: the matters registered in ended months per handling node, by channel and by demand category,
with their stored months and stale marks

Revision ID: 0028
Revises: 0027
"""
import sqlalchemy as sa
from alembic import op

revision = '0028'
down_revision = '0027'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'registration_counts',
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('handling_node_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('name', sa.String(length=32), nullable=False),
        sa.Column('n', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('month', 'handling_node_id', 'kind', 'name', name=op.f('pk_registration_counts')),
    )
    op.create_table(
        'registration_months',
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('computed_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('month', name=op.f('pk_registration_months')),
    )
    op.create_table(
        'stale_registrations',
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('handling_node_id', sa.Integer(), nullable=False),
        sa.Column('marked_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('month', 'handling_node_id', name=op.f('pk_stale_registrations')),
    )


def downgrade() -> None:
    op.drop_table('stale_registrations')
    op.drop_table('registration_months')
    op.drop_table('registration_counts')
