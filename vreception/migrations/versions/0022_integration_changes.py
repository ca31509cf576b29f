"""Integration feed: the disclosed changes of matters for the provincial system, with a commit-ordered cursor

Revision ID: 0022
Revises: 0021
"""
import sqlalchemy as sa
from alembic import op

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'integration_changes',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('matter_id', sa.Integer(), nullable=False),
        sa.Column('matter_number', sa.String(length=40), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('occurred_at', sa.DateTime(), nullable=False),
        sa.Column('recorded_at', sa.DateTime(), nullable=False),
        sa.Column('node_path', sa.String(length=255), nullable=False),
        sa.Column('backfilled', sa.Boolean(), nullable=False),
        sa.Column('payload', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['matter_id'], ['matters.id'], name=op.f('fk_integration_changes_matter_id_matters'),
                                ondelete='RESTRICT'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_integration_changes')),
    )
    op.create_index(op.f('ix_integration_changes_matter_id'), 'integration_changes', ['matter_id'])
    # The head row is created by the first change (an upsert): a database emptied by TRUNCATE keeps working.
    op.create_table(
        'integration_head',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('last', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_integration_head')),
    )


def downgrade() -> None:
    op.drop_table('integration_head')
    op.drop_index(op.f('ix_integration_changes_matter_id'), table_name='integration_changes')
    op.drop_table('integration_changes')
