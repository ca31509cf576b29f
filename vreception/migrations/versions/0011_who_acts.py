"""who acts: the holding body, hand-over, per-demand outcomes, the issuing body and service of documents

Revision ID: 0011
Revises: 0010
"""
import sqlalchemy as sa
from alembic import op

import vreception.db

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('matters', schema=None) as batch_op:
        batch_op.add_column(sa.Column('holding_node_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('transferred_from_node_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('transferred_at', vreception.db.UTCDateTime(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_matters_holding_node_id_nodes'), 'nodes', ['holding_node_id'],
                                    ['id'], ondelete='RESTRICT')
        batch_op.create_foreign_key(batch_op.f('fk_matters_transferred_from_node_id_nodes'), 'nodes',
                                    ['transferred_from_node_id'], ['id'], ondelete='RESTRICT')
    with op.batch_alter_table('demands', schema=None) as batch_op:
        batch_op.add_column(sa.Column('outcome', sa.String(length=16), nullable=True))
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('issuer_node_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('served_method', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('proof_source', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('proof_type', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('proof_sha256', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('proof', sa.LargeBinary(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_documents_issuer_node_id_nodes'), 'nodes', ['issuer_node_id'],
                                    ['id'], ondelete='RESTRICT')


def downgrade() -> None:
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_documents_issuer_node_id_nodes'), type_='foreignkey')
        for column in ('proof', 'proof_sha256', 'proof_type', 'proof_source', 'served_method', 'issuer_node_id'):
            batch_op.drop_column(column)
    with op.batch_alter_table('demands', schema=None) as batch_op:
        batch_op.drop_column('outcome')
    with op.batch_alter_table('matters', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_matters_transferred_from_node_id_nodes'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_matters_holding_node_id_nodes'), type_='foreignkey')
        for column in ('transferred_at', 'transferred_from_node_id', 'holding_node_id'):
            batch_op.drop_column(column)
