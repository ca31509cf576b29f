"""petitioners as the law sees them: organisations, no ID for letters, address; a matter's facts, accused, count

Revision ID: 0010
Revises: 0009
"""
import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('petitioners', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=16), nullable=False, server_default='citizen'))
        batch_op.add_column(sa.Column('address_cipher', sa.Text(), nullable=False, server_default=''))
        batch_op.alter_column('id_hash', existing_type=sa.String(length=64), nullable=True)

    with op.batch_alter_table('matters', schema=None) as batch_op:
        batch_op.add_column(sa.Column('facts', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('accused_text', sa.String(length=200), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('accused_node_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('people_count', sa.Integer(), nullable=False, server_default='1'))
        batch_op.add_column(sa.Column('accusation', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('confidential', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('hidden_from_path', sa.String(length=255), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_matters_accused_node_id_nodes'), 'nodes', ['accused_node_id'],
                                    ['id'], ondelete='RESTRICT')

    with op.batch_alter_table('repeat_links', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reason', sa.String(length=24), nullable=False,
                                      server_default='similar_demands'))


def downgrade() -> None:
    with op.batch_alter_table('repeat_links', schema=None) as batch_op:
        batch_op.drop_column('reason')

    with op.batch_alter_table('matters', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_matters_accused_node_id_nodes'), type_='foreignkey')
        batch_op.drop_column('hidden_from_path')
        batch_op.drop_column('confidential')
        batch_op.drop_column('accusation')
        batch_op.drop_column('people_count')
        batch_op.drop_column('accused_node_id')
        batch_op.drop_column('accused_text')
        batch_op.drop_column('facts')

    with op.batch_alter_table('petitioners', schema=None) as batch_op:
        # Letters without an ID number cannot survive a downgrade that requires one.
        batch_op.execute("DELETE FROM petitioners WHERE id_hash IS NULL")
        batch_op.alter_column('id_hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.drop_column('address_cipher')
        batch_op.drop_column('kind')
