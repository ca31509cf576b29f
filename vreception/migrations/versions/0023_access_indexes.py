"""province lists: a pattern index for finding matters by the beginning of their number

Revision ID: 0023
Revises: 0022
"""
from alembic import op

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The search takes a number's beginning (LIKE 'prefix%'): the unique index serves it only under the C collation,
    # the pattern operator class under any, so a province's million are not read whole for one number.
    op.create_index('ix_matters_number_pattern', 'matters', ['number'], postgresql_ops={'number': 'text_pattern_ops'})


def downgrade() -> None:
    op.drop_index('ix_matters_number_pattern', table_name='matters')
