"""monthly figures: the current month's finished days stored as they end (figure_months.through), so that a read
counts only what has not ended yet

Revision ID: 0027
Revises: 0026
"""
import sqlalchemy as sa
from alembic import op

revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('figure_months') as batch:
        batch.add_column(sa.Column('through', sa.Date(), nullable=True))


def downgrade() -> None:
    # The rows of months stored only in part would read as whole months.
    op.execute("DELETE FROM monthly_figures WHERE EXISTS (SELECT 1 FROM figure_months f WHERE f.through IS NOT NULL "
               "AND f.window_days = monthly_figures.window_days AND f.month = monthly_figures.month)")
    op.execute("DELETE FROM figure_months WHERE through IS NOT NULL")
    with op.batch_alter_table('figure_months') as batch:
        batch.drop_column('through')
