"""proof of service: room for its longest source name (terminal_signature)

Revision ID: 0012
Revises: 0011
"""
import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.alter_column('proof_source', existing_type=sa.String(length=16), type_=sa.String(length=24),
                              existing_nullable=True)


def downgrade() -> None:
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.alter_column('proof_source', existing_type=sa.String(length=24), type_=sa.String(length=16),
                              existing_nullable=True)
