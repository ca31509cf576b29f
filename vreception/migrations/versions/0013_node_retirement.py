"""nodes: retired_at (a wound-up node leaves lists and pickers, its history stays)

Revision ID: 0013
Revises: 0012
"""
import sqlalchemy as sa
from alembic import op

from vreception.db import UTCDateTime

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('nodes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('retired_at', UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('nodes', schema=None) as batch_op:
        batch_op.drop_column('retired_at')
