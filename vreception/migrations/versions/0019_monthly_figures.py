"""Monthly figures of closed months, materialised per handling node and rated unit, with stale marks

Revision ID: 0019
Revises: 0018
"""
import sqlalchemy as sa
from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'monthly_figures',
        sa.Column('window_days', sa.Integer(), nullable=False),
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('handling_node_id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('figure', sa.String(length=32), nullable=False),
        sa.Column('outcome', sa.String(length=32), nullable=False),
        sa.Column('n', sa.Integer(), nullable=False),
        sa.Column('good', sa.Integer(), nullable=False),
        sa.Column('counted', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('window_days', 'month', 'handling_node_id', 'unit_id', 'figure', 'outcome',
                                name=op.f('pk_monthly_figures')),
    )
    op.create_table(
        'figure_months',
        sa.Column('window_days', sa.Integer(), nullable=False),
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('computed_at', sa.DateTime(), nullable=False),
        sa.Column('complete', sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint('window_days', 'month', name=op.f('pk_figure_months')),
    )
    op.create_table(
        'stale_figures',
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('handling_node_id', sa.Integer(), nullable=False),
        sa.Column('marked_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('month', 'handling_node_id', name=op.f('pk_stale_figures')),
    )


def downgrade() -> None:
    op.drop_table('stale_figures')
    op.drop_table('figure_months')
    op.drop_table('monthly_figures')
