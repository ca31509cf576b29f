"""Home links: joining a session from one's own phone (手机视频接访)

Revision ID: 0021
Revises: 0020
"""
import sqlalchemy as sa
from alembic import op

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'home_links',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('session_id', sa.Integer(), nullable=False),
        sa.Column('participant_id', sa.Integer(), nullable=False),
        sa.Column('petitioner_id', sa.Integer(), nullable=True),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('phone_cipher', sa.String(length=200), nullable=False),
        sa.Column('phone_tail', sa.String(length=4), nullable=False),
        sa.Column('state', sa.Enum('issued', 'verified', 'locked', 'revoked', name='homelinkstate',
                                   native_enum=False, length=16), nullable=False),
        sa.Column('valid_from', sa.DateTime(), nullable=False),
        sa.Column('valid_until', sa.DateTime(), nullable=False),
        sa.Column('code_hash', sa.String(length=64), nullable=False),
        sa.Column('code_expires_at', sa.DateTime(), nullable=True),
        sa.Column('code_sent_at', sa.DateTime(), nullable=True),
        sa.Column('codes_sent', sa.Integer(), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('browser_hash', sa.String(length=64), nullable=False),
        sa.Column('issued_by', sa.Integer(), nullable=True),
        sa.Column('issued_at', sa.DateTime(), nullable=False),
        sa.Column('opened_at', sa.DateTime(), nullable=True),
        sa.Column('verified_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['participant_id'], ['participants.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['petitioner_id'], ['petitioners.id'], ondelete='RESTRICT'),
        sa.ForeignKeyConstraint(['issued_by'], ['people.id'], ondelete='RESTRICT'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('token_hash', name=op.f('uq_home_links_token_hash')),
    )
    op.create_index('ix_home_links_session_id', 'home_links', ['session_id'])
    op.create_index('ix_home_links_participant_id', 'home_links', ['participant_id'])


def downgrade() -> None:
    op.drop_index('ix_home_links_participant_id', table_name='home_links')
    op.drop_index('ix_home_links_session_id', table_name='home_links')
    op.drop_table('home_links')
