"""Online requests (网上信访): SMS verification codes and the requests waiting in the coordinators' queue

Revision ID: 0020
Revises: 0019
"""
import sqlalchemy as sa
from alembic import op

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'online_codes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('challenge_hash', sa.String(length=64), nullable=False),
        sa.Column('purpose', sa.String(length=16), nullable=False),
        sa.Column('matter_id', sa.Integer(), nullable=True),
        sa.Column('phone_hash', sa.String(length=64), nullable=False),
        sa.Column('phone_tail', sa.String(length=4), nullable=False),
        sa.Column('code_hash', sa.String(length=64), nullable=False),
        sa.Column('tries', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.Column('used_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['matter_id'], ['matters.id'], ondelete='RESTRICT'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('challenge_hash'),
    )
    op.create_table(
        'online_requests',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.Enum('reception', 'intake', name='onlinekind', native_enum=False, length=16),
                  nullable=False),
        sa.Column('state', sa.Enum('waiting', 'approved', 'refused', name='onlinestate', native_enum=False,
                                   length=16), nullable=False),
        sa.Column('node_id', sa.Integer(), nullable=False),
        sa.Column('node_path', sa.String(length=255), nullable=False),
        sa.Column('matter_id', sa.Integer(), nullable=True),
        sa.Column('received_at', sa.DateTime(), nullable=False),
        sa.Column('preferred_days', sa.String(length=40), nullable=False),
        sa.Column('room_id', sa.Integer(), nullable=True),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('id_cipher', sa.String(length=200), nullable=False),
        sa.Column('id_tail', sa.String(length=4), nullable=False),
        sa.Column('phone_cipher', sa.String(length=200), nullable=False),
        sa.Column('phone_tail', sa.String(length=4), nullable=False),
        sa.Column('address_node_id', sa.Integer(), nullable=True),
        sa.Column('about', sa.Text(), nullable=False),
        sa.Column('demands', sa.Text(), nullable=False),
        sa.Column('files', sa.Text(), nullable=False),
        sa.Column('decided_at', sa.DateTime(), nullable=True),
        sa.Column('decided_by', sa.Integer(), nullable=True),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['node_id'], ['nodes.id'], ondelete='RESTRICT'),
        sa.ForeignKeyConstraint(['matter_id'], ['matters.id'], ondelete='RESTRICT'),
        sa.ForeignKeyConstraint(['room_id'], ['rooms.id'], ondelete='RESTRICT'),
        sa.ForeignKeyConstraint(['address_node_id'], ['nodes.id'], ondelete='RESTRICT'),
        sa.ForeignKeyConstraint(['decided_by'], ['people.id'], ondelete='RESTRICT'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_online_requests_matter_id', 'online_requests', ['matter_id'])
    op.create_index('ix_online_requests_queue', 'online_requests', ['state', 'node_path', 'received_at'],
                    postgresql_ops={'node_path': 'text_pattern_ops'})


def downgrade() -> None:
    op.drop_index('ix_online_requests_queue', table_name='online_requests')
    op.drop_index('ix_online_requests_matter_id', table_name='online_requests')
    op.drop_table('online_requests')
    op.drop_table('online_codes')
